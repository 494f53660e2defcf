//! Sign-in, refresh rotation and reuse detection, logout, throttling, token checks, sessions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::db_test;
use crate::helpers::{PASSWORD, TestApp};

async fn every_demo_account_signs_in_and_sees_itself(app: &TestApp) {
    for username in tongban_server::demo::usernames() {
        let t = app.login(username).await;
        let me = app.get("/api/v1/me", Some(&t.access)).await.expect(200);
        assert_eq!(me.body["user"]["username"], username);
        assert!(me.body["user"].get("password_hash").is_none(), "no secret leaks into views");
        let roles: Vec<&str> =
            me.body["roles"].as_array().expect("roles").iter().filter_map(|r| r["code"].as_str()).collect();
        assert!(roles.contains(&"applicant"), "{username} can apply: {roles:?}");
    }
    // Positions and scopes come through /me.
    let vp = app.login("vp_student").await;
    let me = app.get("/api/v1/me", Some(&vp.access)).await.expect(200);
    assert!(me.body["positions"].as_array().expect("positions").iter().any(|p| p["kind"] == "supervising_leader"));
    assert!(
        me.body["permissions"]
            .as_array()
            .expect("perms")
            .iter()
            .any(|p| p["permission"] == "stats.read" && p["scope"] == "supervised")
    );
}
db_test!(every_demo_account_signs_in, every_demo_account_signs_in_and_sees_itself);

async fn students_sign_in_with_their_student_number(app: &TestApp) {
    app.login_with("2024010101", PASSWORD).await;
    let r = app.try_login("student1", "wrong-Password1").await.expect(401);
    assert_eq!(r.code(), "invalid_credentials");
    let r = app.try_login("nobody", PASSWORD).await.expect(401);
    assert_eq!(r.code(), "invalid_credentials", "unknown users look the same as wrong passwords");
}
db_test!(student_number_sign_in_and_wrong_passwords, students_sign_in_with_their_student_number);

async fn refresh_rotates_and_reuse_revokes_the_family(app: &TestApp) {
    let first = app.login("student1").await;
    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": first.refresh })).await.expect(200);
    let second = r.body["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(second, first.refresh, "refresh tokens rotate");
    let access = r.body["access_token"].as_str().expect("access").to_owned();
    app.get("/api/v1/me", Some(&access)).await.expect(200);

    // The old token comes back: reuse is detected and the whole session ends.
    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": first.refresh })).await.expect(401);
    assert_eq!(r.code(), "refresh_token_reused");
    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": second })).await.expect(401);
    assert_eq!(r.code(), "refresh_token_invalid", "the rotated successor was revoked with its family");

    // Another session of the same user is untouched.
    let other = app.login("student1").await;
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": other.refresh })).await.expect(200);

    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": "not-a-token" })).await.expect(401);
    assert_eq!(r.code(), "refresh_token_invalid");
}
db_test!(refresh_rotation_and_reuse_detection, refresh_rotates_and_reuse_revokes_the_family);

async fn concurrent_refreshes_of_one_token_let_exactly_one_through(app: &TestApp) {
    let t = app.login("student2").await;
    let body = json!({ "refresh_token": t.refresh });
    let futures = (0..8).map(|_| app.post("/api/v1/auth/refresh", None, &body));
    let results = futures_util::future::join_all(futures).await;
    let ok = results.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(ok, 1, "exactly one refresh wins: {:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(
        results.iter().all(|r| r.status.as_u16() == 200 || r.status.as_u16() == 401),
        "{:?}",
        results.iter().map(|r| (r.status, r.body.to_string())).collect::<Vec<_>>()
    );
}
db_test!(concurrent_refresh_has_one_winner, concurrent_refreshes_of_one_token_let_exactly_one_through);

async fn logout_ends_the_session_and_is_idempotent(app: &TestApp) {
    let t = app.login("teacher1").await;
    app.post("/api/v1/auth/logout", None, &json!({ "refresh_token": t.refresh })).await.expect(204);
    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": t.refresh })).await.expect(401);
    assert_eq!(r.code(), "refresh_token_invalid");
    app.post("/api/v1/auth/logout", None, &json!({ "refresh_token": t.refresh })).await.expect(204);
    app.post("/api/v1/auth/logout", None, &json!({ "refresh_token": "unknown" })).await.expect(204);
}
db_test!(logout, logout_ends_the_session_and_is_idempotent);

async fn failed_sign_ins_are_throttled_per_account(app: &TestApp) {
    for _ in 0..5 {
        app.try_login("student1", "Wrong@Pass1").await.expect(401);
    }
    // Even the right password is refused while the account is locked.
    let r = app.try_login("student1", PASSWORD).await.expect(429);
    assert_eq!(r.code(), "too_many_login_attempts");
    let wait: u64 =
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!(wait > 0 && wait <= 15 * 60, "retry after {wait}s");
    // Other accounts are not affected by this account's lock.
    app.login("student2").await;
}
db_test!(throttling_per_account, failed_sign_ins_are_throttled_per_account);

async fn failed_sign_ins_are_throttled_per_address(app: &TestApp) {
    for name in ["a1", "a2", "a3"] {
        app.try_login(name, "Wrong@Pass1").await.expect(401);
    }
    let r = app.try_login("student2", PASSWORD).await.expect(429);
    assert_eq!(r.code(), "too_many_login_attempts");
    assert!(r.headers.contains_key("retry-after"));
}
db_test!(
    throttling_per_address,
    |s: &mut tongban_server::config::Settings| s.login_throttle.max_failures_per_ip = 3,
    failed_sign_ins_are_throttled_per_address
);

async fn bad_tokens_get_401(app: &TestApp) {
    let r = app.get("/api/v1/me", None).await.expect(401);
    assert_eq!(r.code(), "unauthenticated");
    let r = app.get("/api/v1/me", Some("garbage")).await.expect(401);
    assert_eq!(r.code(), "token_invalid");

    let t = app.login("student1").await;
    // Tampered payload: claim to be someone else with the same signature.
    let parts: Vec<&str> = t.access.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("claims");
    claims["exp"] = json!(claims["exp"].as_i64().expect("exp") + 100_000);
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    assert_eq!(app.get("/api/v1/me", Some(&forged)).await.expect(401).code(), "token_invalid");
    // Tampered signature.
    let mut sig = parts[2].to_owned();
    let last = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(last);
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], sig);
    assert_eq!(app.get("/api/v1/me", Some(&bad_sig)).await.expect(401).code(), "token_invalid");
    // alg: none.
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    assert_eq!(app.get("/api/v1/me", Some(&none)).await.expect(401).code(), "token_invalid");
    // Expired, signed with the server's own key.
    let me = app.get("/api/v1/me", Some(&t.access)).await.expect(200);
    let id: uuid::Uuid = me.body["user"]["id"].as_str().expect("id").parse().expect("uuid");
    let expired = app.state.keys.issue(id, 0, -3600, Default::default()).expect("issue");
    assert_eq!(app.get("/api/v1/me", Some(&expired)).await.expect(401).code(), "token_expired");
    // English on request.
    let r = app.get_lang("/api/v1/me", None, "en-US,en;q=0.9").await.expect(401);
    assert_eq!(r.body["title"], "Authentication required");
    let r = app.get("/api/v1/me", None).await.expect(401);
    assert_eq!(r.body["title"], "请先登录");
}
db_test!(missing_tampered_expired_and_alg_none_tokens, bad_tokens_get_401);

async fn changing_the_password_ends_every_session(app: &TestApp) {
    let t = app.login("student2").await;
    let r = app
        .put(
            "/api/v1/me/password",
            Some(&t.access),
            &json!({ "current_password": "nope", "new_password": "New@Pass2026" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "current_password");
    let r = app
        .put("/api/v1/me/password", Some(&t.access), &json!({ "current_password": PASSWORD, "new_password": "short" }))
        .await
        .expect(400);
    assert_eq!(r.code(), "weak_password");
    app.put(
        "/api/v1/me/password",
        Some(&t.access),
        &json!({ "current_password": PASSWORD, "new_password": "New@Pass2026" }),
    )
    .await
    .expect(204);
    assert_eq!(app.get("/api/v1/me", Some(&t.access)).await.expect(401).code(), "token_invalid");
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": t.refresh })).await.expect(401);
    app.try_login("student2", PASSWORD).await.expect(401);
    app.login_with("student2", "New@Pass2026").await;
}
db_test!(password_change_revokes_sessions, changing_the_password_ends_every_session);

async fn disabling_an_account_revokes_its_sessions(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let student = app.login("student1").await;
    let id = app.user_id(&admin, "student1").await;
    let u = app.get(&format!("/api/v1/users/{id}"), Some(&admin.access)).await.expect(200).body;
    let mut update = json!({
        "display_name": u["display_name"], "kind": u["kind"], "student_no": u["student_no"], "staff_no": u["staff_no"],
        "department_id": u["department_id"], "email": u["email"], "phone": u["phone"], "status": "disabled",
        "version": u["version"],
    });
    app.put(&format!("/api/v1/users/{id}"), Some(&admin.access), &update).await.expect(200);
    assert_eq!(app.get("/api/v1/me", Some(&student.access)).await.expect(401).code(), "token_invalid");
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": student.refresh })).await.expect(401);
    assert_eq!(app.try_login("student1", PASSWORD).await.expect(403).code(), "account_disabled");
    // Enabled again, the account signs in.
    update["status"] = json!("active");
    update["version"] = json!(u["version"].as_i64().expect("v") + 1);
    app.put(&format!("/api/v1/users/{id}"), Some(&admin.access), &update).await.expect(200);
    app.login("student1").await;
}
db_test!(disabling_revokes_sessions, disabling_an_account_revokes_its_sessions);

async fn throttling_counts_the_account_whatever_name_was_typed(app: &TestApp) {
    for name in ["student1", "2024010101", "student1"] {
        app.try_login(name, "Wrong@Pass1").await.expect(401);
    }
    let r = app.try_login("2024010101", PASSWORD).await.expect(429);
    assert_eq!(r.code(), "too_many_login_attempts");
    let r = app.try_login("student1", PASSWORD).await.expect(429);
    assert_eq!(r.code(), "too_many_login_attempts");
}
db_test!(
    throttling_by_account_not_by_typed_name,
    |s: &mut tongban_server::config::Settings| s.login_throttle.max_failures_per_account = 3,
    throttling_counts_the_account_whatever_name_was_typed
);
