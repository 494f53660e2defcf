//! Bad input of every kind gets a 4xx problem+json and changes nothing.

use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;

async fn user_count(app: &TestApp) -> u64 {
    tongban_server::services::users::count(app.state.db.conn()).await.expect("count")
}

async fn validation_errors_name_each_field_in_both_languages(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let before = user_count(app).await;
    let bad = json!({ "username": "Bad Name!", "display_name": "", "kind": "student", "email": "not-an-email" });
    let r = app.post("/api/v1/users", Some(&admin.access), &bad).await.expect(400);
    assert_eq!(r.code(), "validation_failed");
    let fields: Vec<&str> =
        r.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    for f in ["username", "display_name", "email"] {
        assert!(fields.contains(&f), "{f} reported in {fields:?}");
    }
    assert!(
        r.body["errors"][0]["message"].as_str().expect("msg").chars().any(|c| c as u32 > 0x2e80),
        "Chinese by default"
    );
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin.access)
        .insert_header(("accept-language", "en"))
        .send_json(&bad)
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers().get("content-language").and_then(|v| v.to_str().ok()), Some("en"));

    // A student without 学号 is a rule of the service layer.
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({ "username": "new_student", "display_name": "新同学", "kind": "student" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "student_no");
    assert_eq!(user_count(app).await, before, "nothing stored");
}
db_test!(validation_errors, validation_errors_name_each_field_in_both_languages);

async fn malformed_wrong_typed_unknown_and_oversized_bodies(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let before = user_count(app).await;
    let r = app
        .post_raw("/api/v1/users", Some(&admin.access), "application/json", b"{\"username\": ".to_vec())
        .await
        .expect(400);
    assert_eq!(r.code(), "malformed_json");
    let r = app
        .post("/api/v1/users", Some(&admin.access), &json!({ "username": 42, "display_name": "x", "kind": "staff" }))
        .await
        .expect(400);
    assert_eq!(r.code(), "validation_failed");
    // Mass assignment: fields a client may not set are refused, not ignored.
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({ "username": "mass", "display_name": "x", "kind": "visitor", "status": "active", "password_hash": "x" }),
        )
        .await
        .expect(400);
    assert_eq!(r.code(), "validation_failed");
    let r = app.post_raw("/api/v1/users", Some(&admin.access), "text/plain", b"hello".to_vec()).await.expect(415);
    assert_eq!(r.code(), "unsupported_media_type");
    let huge = format!("{{\"username\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = app.post_raw("/api/v1/users", Some(&admin.access), "application/json", huge.into_bytes()).await.expect(413);
    assert_eq!(r.code(), "payload_too_large");
    let r = app.post_raw("/api/v1/auth/login", None, "application/json", vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(r.status.as_u16(), 400);
    // Control characters and injection strings: refused or stored as plain text.
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({ "username": "ctl", "display_name": "a\u{0}b", "kind": "visitor" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "display_name");
    assert_eq!(user_count(app).await, before, "nothing stored");
    let inj = "Robert'); DROP TABLE users;-- <script>alert(1)</script>";
    let r = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({ "username": "bobby", "display_name": inj, "kind": "visitor" }),
        )
        .await
        .expect(201);
    assert_eq!(r.body["display_name"], inj, "stored as text");
    assert_eq!(user_count(app).await, before + 1);
}
db_test!(malformed_and_oversized_bodies, malformed_wrong_typed_unknown_and_oversized_bodies);

async fn page_sizes_and_query_values_are_bounded(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let r = app.get("/api/v1/users?page_size=100", Some(&admin.access)).await.expect(200);
    assert_eq!(r.body["page_size"], 100);
    assert_eq!(r.body["total"].as_u64().expect("total") as usize, r.body["items"].as_array().expect("items").len());
    let r = app.get("/api/v1/users?page_size=2&page=2", Some(&admin.access)).await.expect(200);
    assert_eq!(r.body["items"].as_array().expect("items").len(), 2);
    assert_eq!(r.body["page"], 2);
    for q in ["page_size=101", "page_size=0", "page=0", "page=abc", "page_size=-1"] {
        let r = app.get(&format!("/api/v1/users?{q}"), Some(&admin.access)).await;
        assert_eq!(r.status.as_u16(), 400, "{q}: {}", r.body);
        r.code();
    }
    let r = app.get("/api/v1/users?kind=wizard", Some(&admin.access)).await.expect(400);
    assert_eq!(r.code(), "bad_request");
    let r = app.get("/api/v1/users/not-a-uuid", Some(&admin.access)).await.expect(400);
    assert_eq!(r.code(), "bad_request");
    // LIKE wildcards are literal.
    let r = app.get("/api/v1/users?q=%25", Some(&admin.access)).await.expect(200);
    assert_eq!(r.body["total"], 0);
}
db_test!(page_size_limits, page_sizes_and_query_values_are_bounded);

async fn unknown_routes_and_methods_get_problems(app: &TestApp) {
    assert_eq!(app.get("/api/v1/nope", None).await.expect(404).code(), "route_not_found");
    assert_eq!(app.post("/api/v1/nope", None, &json!({})).await.expect(404).code(), "route_not_found");
    let r = app.delete("/api/v1/auth/login", None).await.expect(405);
    assert_eq!(r.code(), "method_not_allowed");
    assert_eq!(r.headers.get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let id = uuid::Uuid::now_v7();
    let r = app.post(&format!("/api/v1/departments/{id}"), None, &json!({})).await.expect(405);
    assert_eq!(r.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET, PUT"));
    // Literal routes win over placeholders, also when the placeholder route exists for the method.
    let r = app.post("/api/v1/holidays/day", None, &json!({})).await.expect(405);
    assert_eq!(r.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    let admin = app.login("it_admin").await;
    let r = app.put("/api/v1/holidays/day", Some(&admin.access), &json!({})).await.expect(405);
    r.code();
    let r = app.get(&format!("/api/v1/departments/{}", uuid::Uuid::now_v7()), None).await.expect(404);
    assert_eq!(r.code(), "not_found");
}
db_test!(unknown_routes_and_methods, unknown_routes_and_methods_get_problems);

async fn extreme_versions_are_conflicts_not_crashes(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let dept = app.department("leaders").await;
    let id = dept["id"].as_str().expect("id");
    let body = json!({ "parent_id": dept["parent_id"], "name": "院领导", "name_en": null, "sort_order": 1, "active": true, "version": i32::MAX });
    assert_eq!(
        app.put(&format!("/api/v1/departments/{id}"), Some(&admin.access), &body).await.expect(409).code(),
        "version_conflict"
    );
    let user = app.user_id(&admin, "teacher1").await;
    let r = app
        .put(&format!("/api/v1/users/{user}/roles"), Some(&admin.access), &json!({ "roles": [], "version": i32::MAX }))
        .await;
    assert_eq!(r.expect(409).code(), "version_conflict");
    let r =
        app.put(&format!("/api/v1/departments/{id}"), Some(&admin.access), &json!({ "version": 2147483648u64 })).await;
    assert_eq!(r.expect(400).code(), "validation_failed");
}
db_test!(extreme_versions, extreme_versions_are_conflicts_not_crashes);
