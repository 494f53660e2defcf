//! Sessions listed and revoked by their user and by administrators; the TOTP second factor for
//! administrators; the local password login reserved for administrators.

use serde_json::json;
use tongban_server::config::{AdminTotp, PasswordLogin, Settings};

use crate::db_test;
use crate::helpers::{PASSWORD, TestApp, Tokens};

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

/// The code of the authenticator app `steps` 30-second steps from now.
fn code(secret_b32: &str, steps: i64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned()).to_bytes().expect("base32");
    let t = unix_now().saturating_add_signed(steps * 30);
    tongban_server::auth::totp::code_at(&secret, t).expect("code")
}

async fn sessions_of(app: &TestApp, t: &Tokens) -> Vec<serde_json::Value> {
    app.get("/api/v1/me/sessions", Some(&t.access)).await.expect(200).body.as_array().expect("list").clone()
}

fn current_id(list: &[serde_json::Value]) -> String {
    list.iter().find(|s| s["current"] == true).expect("the current session is listed")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn sessions_are_listed_and_revoked_at_once(app: &TestApp) {
    let phone = app.login("student1").await;
    let laptop = app.login("student1").await;
    let list = sessions_of(app, &phone).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|s| s["method"] == "password" && s["amr"] == json!(["pwd"])), "{list:?}");
    let phone_id = current_id(&list);
    let laptop_id = current_id(&sessions_of(app, &laptop).await);
    assert_ne!(phone_id, laptop_id);

    // Someone else cannot end it, nor see the list.
    let other = app.login("student2").await;
    app.delete(&format!("/api/v1/me/sessions/{laptop_id}"), Some(&other.access)).await.expect(404);
    let student1_id = app.user_id(&app.login("it_admin").await, "student1").await;
    app.get(&format!("/api/v1/users/{student1_id}/sessions"), Some(&other.access)).await.expect(404);
    app.delete(&format!("/api/v1/users/{student1_id}/sessions/{laptop_id}"), Some(&other.access)).await.expect(404);

    // Signing the laptop out from the phone ends its access token at once, and its refresh token.
    app.delete(&format!("/api/v1/me/sessions/{laptop_id}"), Some(&phone.access)).await.expect(204);
    assert_eq!(app.get("/api/v1/me", Some(&laptop.access)).await.expect(401).code(), "token_invalid");
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": laptop.refresh })).await.expect(401);
    app.get("/api/v1/me", Some(&phone.access)).await.expect(200);
    app.delete(&format!("/api/v1/me/sessions/{laptop_id}"), Some(&phone.access)).await.expect(404);

    // A refresh keeps the session (same id) and its methods.
    let r = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": phone.refresh })).await.expect(200);
    let phone = Tokens {
        access: r.body["access_token"].as_str().expect("a").into(),
        refresh: r.body["refresh_token"].as_str().expect("r").into(),
    };
    let list = sessions_of(app, &phone).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(current_id(&list), phone_id);

    // The IT office sees and ends the student's sessions.
    let admin = app.login("it_admin").await;
    let seen = app.get(&format!("/api/v1/users/{student1_id}/sessions"), Some(&admin.access)).await.expect(200);
    let ids: Vec<_> = seen.body.as_array().expect("list").iter().map(|s| s["id"].clone()).collect();
    assert_eq!(ids, [json!(phone_id)]);
    assert_eq!(seen.body[0]["current"], false, "not the administrator's own session");
    // Reading someone's devices and addresses is audited; reading one's own is not.
    let auditor = app.login("auditor").await;
    let trail = app
        .get(&format!("/api/v1/audit-logs?object_type=user&object_id={student1_id}"), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    let reads =
        trail["items"].as_array().expect("items").iter().filter(|e| e["action"] == "user.sessions_read").count();
    assert_eq!(reads, 1, "{trail}");
    app.delete(&format!("/api/v1/users/{student1_id}/sessions/{phone_id}"), Some(&admin.access)).await.expect(204);
    app.get("/api/v1/me", Some(&phone.access)).await.expect(401);

    // Signing out ends the session too.
    let again = app.login("student1").await;
    app.post("/api/v1/auth/logout", None, &json!({ "refresh_token": again.refresh })).await.expect(204);
    app.get("/api/v1/me", Some(&again.access)).await.expect(401);
    let fresh = app.login("student1").await;
    assert_eq!(sessions_of(app, &fresh).await.len(), 1);
}
db_test!(sessions_list_and_revoke, sessions_are_listed_and_revoked_at_once);

async fn enrol(app: &TestApp, t: &Tokens) -> String {
    let wrong = app.post("/api/v1/me/totp/setup", Some(&t.access), &json!({ "password": "nope" })).await.expect(400);
    assert_eq!(wrong.code(), "validation_failed", "{}", wrong.body);
    let setup = app.post("/api/v1/me/totp/setup", Some(&t.access), &json!({ "password": PASSWORD })).await.expect(200);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    assert!(setup.body["otpauth_uri"].as_str().expect("uri").contains(&format!("secret={secret}")));
    // Not asked for until confirmed.
    assert_eq!(app.get("/api/v1/me/totp", Some(&t.access)).await.expect(200).body["enabled"], false);
    let bad = app.post("/api/v1/me/totp/enable", Some(&t.access), &json!({ "code": "000000" })).await;
    if code(&secret, 0) != "000000" && code(&secret, -1) != "000000" && code(&secret, 1) != "000000" {
        assert_eq!(bad.expect(401).code(), "mfa_invalid");
    }
    app.post("/api/v1/me/totp/enable", Some(&t.access), &json!({ "code": code(&secret, 0) })).await.expect(204);
    secret
}

async fn login_code(app: &TestApp, c: &str) -> crate::helpers::Resp {
    app.post("/api/v1/auth/login", None, &json!({ "username": "it_admin", "password": PASSWORD, "totp_code": c })).await
}

async fn totp_second_factor(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let secret = enrol(app, &admin).await;
    let status = app.get("/api/v1/me/totp", Some(&admin.access)).await.expect(200).body;
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["session_verified"], false, "this session signed in before enrolment");

    // Sign-in now asks for the code; a wrong one fails, the right one works once.
    let missing = app.try_login("it_admin", PASSWORD).await.expect(401);
    assert_eq!(missing.code(), "mfa_required");
    let next = code(&secret, 1);
    let wrong = if next == "123456" { "654321" } else { "123456" };
    if code(&secret, 0) != wrong && code(&secret, -1) != wrong {
        assert_eq!(login_code(app, wrong).await.expect(401).code(), "mfa_invalid");
    }
    let ok = login_code(app, &next).await.expect(200);
    assert_eq!(login_code(app, &next).await.expect(401).code(), "mfa_invalid", "a code is good once");
    // A wrong password with a right code is still a wrong password.
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "username": "it_admin", "password": "wrong", "totp_code": code(&secret, 1) }),
        )
        .await
        .expect(401);
    assert_eq!(r.code(), "invalid_credentials");
    let token = ok.body["access_token"].as_str().expect("token").to_owned();
    let status = app.get("/api/v1/me/totp", Some(&token)).await.expect(200).body;
    assert_eq!(status["session_verified"], true, "{status}");
    let list = app.get("/api/v1/me/sessions", Some(&token)).await.expect(200).body;
    let cur = list.as_array().expect("list").iter().find(|s| s["current"] == true).expect("current").clone();
    assert_eq!(cur["amr"], json!(["pwd", "otp"]));
    app.post("/api/v1/me/totp/setup", Some(&token), &json!({ "password": PASSWORD })).await.expect(409);

    // A student enrols and disables their own with a fresh code.
    let student = app.login("student1").await;
    let s_secret = enrol(app, &student).await;
    app.try_login("student1", PASSWORD).await.expect(401);
    app.post("/api/v1/me/totp/disable", Some(&student.access), &json!({ "code": code(&s_secret, 1) }))
        .await
        .expect(204);
    app.try_login("student1", PASSWORD).await.expect(200);
    app.post("/api/v1/me/totp/disable", Some(&student.access), &json!({ "code": code(&s_secret, 1) }))
        .await
        .expect(404);

    // A lost phone: a user administrator removes the factor; the user's sessions end.
    let student2 = app.login("student2").await;
    enrol(app, &student2).await;
    let s2 = app.user_id(&admin, "student2").await;
    app.delete(&format!("/api/v1/users/{s2}/totp"), Some(&app.login("student1").await.access)).await.expect(404);
    app.delete(&format!("/api/v1/users/{s2}/totp"), Some(&admin.access)).await.expect(204);
    app.get("/api/v1/me", Some(&student2.access)).await.expect(401);
    app.try_login("student2", PASSWORD).await.expect(200);
}
db_test!(totp, totp_second_factor);

fn require_admin_totp(s: &mut Settings) {
    s.sso.admin_totp = AdminTotp::Required;
}

async fn admin_permissions_need_the_second_factor(app: &TestApp) {
    let admin = app.login("it_admin").await;
    // Signed in with the password alone: the administrator's permissions are held back…
    let held = |me: &serde_json::Value| -> Vec<String> {
        me["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .map(|p| p["permission"].as_str().expect("p").to_owned())
            .collect()
    };
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    for p in ["role.manage", "settings.manage", "user.manage"] {
        assert!(!held(&me).iter().any(|h| h == p), "{p} held back: {:?}", held(&me));
    }
    assert!(held(&me).iter().any(|h| h == "task.handle"), "the rest is kept: {:?}", held(&me));
    let role = json!({ "code": "x_role", "name": "X", "permissions": ["affair.read"] });
    assert_eq!(app.post("/api/v1/roles", Some(&admin.access), &role).await.expect(403).code(), "forbidden");
    let status = app.get("/api/v1/me/totp", Some(&admin.access)).await.expect(200).body;
    assert_eq!(status["required"], true, "{status}");
    // …others keep theirs…
    let student = app.login("student1").await;
    app.get("/api/v1/me", Some(&student.access)).await.expect(200);
    assert_eq!(app.get("/api/v1/me/totp", Some(&student.access)).await.expect(200).body["required"], false);
    // …and after enrolling and signing in with a code, they are back.
    let secret = enrol(app, &admin).await;
    let ok = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "username": "it_admin", "password": PASSWORD, "totp_code": code(&secret, 1) }),
        )
        .await
        .expect(200);
    let token = ok.body["access_token"].as_str().expect("token");
    let me = app.get("/api/v1/me", Some(token)).await.expect(200).body;
    for p in ["role.manage", "settings.manage", "user.manage"] {
        assert!(held(&me).iter().any(|h| h == p), "{p} back: {:?}", held(&me));
    }
}
db_test!(admin_totp_required, super::require_admin_totp, admin_permissions_need_the_second_factor);

fn admins_only(s: &mut Settings) {
    s.sso.password_login = PasswordLogin::Admins;
}

async fn password_login_is_kept_for_admins(app: &TestApp) {
    let r = app.try_login("student1", PASSWORD).await.expect(403);
    assert_eq!(r.code(), "password_login_disabled");
    // A wrong password still reads as a wrong password.
    assert_eq!(app.try_login("student1", "wrong").await.expect(401).code(), "invalid_credentials");
    app.try_login("it_admin", PASSWORD).await.expect(200);
    let options = app.get("/api/v1/auth/sso/providers", None).await.expect(200).body;
    assert_eq!(options, json!({ "providers": [], "password_login": "admins" }));
    // No provider configured: the sign-in routes are not there.
    app.get("/api/v1/auth/sso/oidc/login", None).await.expect(404);
    app.get("/api/v1/auth/sso/cas/callback?ticket=ST-1&state=x", None).await.expect(404);
    let bad = app.post("/api/v1/auth/sso/exchange", None, &json!({ "code": "made-up" })).await.expect(401);
    assert_eq!(bad.code(), "sso_code_invalid");
}
db_test!(password_login_admins, super::admins_only, password_login_is_kept_for_admins);

/// Expired sign-in round trips, codes and refresh tokens and long-ended sessions are pruned; the
/// live ones are kept and keep working.
async fn what_is_over_is_pruned(app: &TestApp) {
    use chrono::TimeDelta;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
    use tongban_server::entity::{refresh_token, session, sso_code, sso_state};
    use tongban_server::services::housekeeping::{self, SESSION_RETENTION};

    let db = app.state.db.conn();
    let now = tongban_server::time::now();
    let ttl = TimeDelta::days(app.state.settings.refresh_token_ttl_days);
    let live = app.login("student1").await;
    let idle = app.login("student1").await;
    let signed_out = app.login("student2").await;
    let recently_out = app.login("student2").await;
    let live_id = current_id(&sessions_of(app, &live).await);
    let idle_id = current_id(&sessions_of(app, &idle).await);
    let out_id = current_id(&sessions_of(app, &signed_out).await);
    let recent_id = current_id(&sessions_of(app, &recently_out).await);
    for (t, id) in [(&signed_out, &out_id), (&recently_out, &recent_id)] {
        app.delete(&format!("/api/v1/me/sessions/{id}"), Some(&t.access)).await.expect(204);
    }
    let uuid = |s: &str| s.parse::<uuid::Uuid>().expect("uuid");
    // The idle session was last used past the refresh lifetime and the retention; the signed-out
    // one ended just over the retention ago, the other one just under it.
    let set_session = |id: uuid::Uuid, col: session::Column, at: chrono::DateTime<chrono::Utc>| async move {
        session::Entity::update_many()
            .col_expr(col, Expr::value(at))
            .filter(session::Column::Id.eq(id))
            .exec(db)
            .await
            .expect("age the session");
    };
    set_session(uuid(&idle_id), session::Column::LastUsedAt, now - ttl - SESSION_RETENTION - TimeDelta::hours(1)).await;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::ExpiresAt, Expr::value(now - SESSION_RETENTION))
        .filter(refresh_token::Column::FamilyId.eq(uuid(&idle_id)))
        .exec(db)
        .await
        .expect("expire its tokens");
    set_session(uuid(&out_id), session::Column::RevokedAt, now - SESSION_RETENTION - TimeDelta::hours(1)).await;
    set_session(uuid(&recent_id), session::Column::RevokedAt, now - SESSION_RETENTION + TimeDelta::hours(1)).await;

    let student = uuid(&app.user_id(&app.login("it_admin").await, "student1").await);
    for (id, expires) in [("gone", now - TimeDelta::seconds(1)), ("pending", now + TimeDelta::minutes(5))] {
        sso_state::ActiveModel {
            id: Set(format!("state-{id}")),
            provider: Set("oidc".into()),
            nonce: Set("n".into()),
            code_verifier: Set("v".into()),
            return_to: Set("/".into()),
            created_at: Set(expires - TimeDelta::minutes(10)),
            expires_at: Set(expires),
            used_at: Set(None),
        }
        .insert(db)
        .await
        .expect("state");
        sso_code::ActiveModel {
            id: Set(format!("code-{id}")),
            user_id: Set(student),
            method: Set("oidc".into()),
            created_at: Set(expires - TimeDelta::minutes(1)),
            expires_at: Set(expires),
            used_at: Set(None),
        }
        .insert(db)
        .await
        .expect("code");
    }
    let tokens_before = refresh_token::Entity::find().count(db).await.expect("count");

    let p = housekeeping::prune(&app.state, now).await.expect("prune");
    assert_eq!((p.sso_states, p.sso_codes, p.sessions), (1, 1, 2), "{p:?}");
    let tokens_after = refresh_token::Entity::find().count(db).await.expect("count");
    assert_eq!(tokens_before - tokens_after, p.refresh_tokens, "{p:?}");
    assert!(p.refresh_tokens >= 2, "the idle and the signed-out sessions' tokens: {p:?}");
    let states: Vec<String> =
        sso_state::Entity::find().all(db).await.expect("states").into_iter().map(|s| s.id).collect();
    assert_eq!(states, ["state-pending"]);
    let codes: Vec<String> = sso_code::Entity::find().all(db).await.expect("codes").into_iter().map(|s| s.id).collect();
    assert_eq!(codes, ["code-pending"]);
    let mut left: Vec<String> =
        session::Entity::find().all(db).await.expect("sessions").into_iter().map(|s| s.id.to_string()).collect();
    left.sort();
    for gone in [&idle_id, &out_id] {
        assert!(!left.contains(gone), "{gone} pruned: {left:?}");
    }
    for kept in [&live_id, &recent_id] {
        assert!(left.contains(kept), "{kept} kept: {left:?}");
    }

    // The live session goes on: its access token works and its refresh token rotates.
    app.get("/api/v1/me", Some(&live.access)).await.expect(200);
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": live.refresh })).await.expect(200);
    app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": idle.refresh })).await.expect(401);
    // Nothing more is over.
    assert_eq!(housekeeping::prune(&app.state, now).await.expect("again"), housekeeping::Pruned::default());
}
db_test!(pruning, what_is_over_is_pruned);
