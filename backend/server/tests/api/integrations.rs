//! Integrators: API clients with client-credentials tokens bounded by their account's roles and
//! the token's scope; webhooks for affair and certificate events, signed, retried, logged; a
//! process's webhook service task.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::webhook_delivery;

use crate::db_test;
use crate::helpers::{TestApp, Tokens, complete_enrolment};
use crate::notify::{start_receiver, wait_until};

async fn form_token(app: &TestApp, basic: Option<(&str, &str)>, form: &str) -> crate::helpers::Resp {
    let mut req = app
        .client
        .post(app.url("/api/v1/oauth/token"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    if let Some((id, secret)) = basic {
        req = req.insert_header(("authorization", format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))));
    }
    let mut res = req.send_body(form.to_owned()).await.expect("send");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.body().await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    crate::helpers::Resp { status, headers, body }
}

async fn give_role(app: &TestApp, admin: &Tokens, user_id: &str, role_code: &str, scope: &str, dept: Option<&str>) {
    let roles = app.get("/api/v1/roles", Some(&admin.access)).await.expect(200).body;
    let role = roles.as_array().expect("roles").iter().find(|r| r["code"] == role_code).expect("role").clone();
    let current = app.get(&format!("/api/v1/users/{user_id}/roles"), Some(&admin.access)).await.expect(200).body;
    let body = json!({ "roles": [{ "role_id": role["id"], "scope": scope, "department_id": dept }], "version": current["version"] });
    app.put(&format!("/api/v1/users/{user_id}/roles"), Some(&admin.access), &body).await.expect(200);
}

async fn api_clients_get_tokens_bounded_by_their_roles_and_scope(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let jwc = app.department("jwc").await["id"].as_str().expect("id").to_owned();
    let created = app
        .post(
            "/api/v1/api-clients",
            Some(&admin.access),
            &json!({ "name": "教务系统", "description": "成绩同步", "department_id": jwc }),
        )
        .await
        .expect(201)
        .body;
    let (client_id, secret) = (
        created["client_id"].as_str().expect("id").to_owned(),
        created["client_secret"].as_str().expect("s").to_owned(),
    );
    assert!(client_id.starts_with("tb_") && secret.len() >= 43);
    assert_eq!(created["permissions"], json!([]));
    let listed = app.get("/api/v1/api-clients", Some(&admin.access)).await.expect(200).body;
    assert!(
        listed[0].get("client_secret").is_none() && listed[0].get("secret_hash").is_none(),
        "the secret is shown once"
    );
    let student = app.login("student1").await;
    app.get("/api/v1/api-clients", Some(&student.access)).await.expect(403);

    // The IT office may give the account the 第三方系统 role (it holds api.integrate for that);
    // here it holds 教务处's department-administrator role instead.
    let account = created["user_id"].as_str().expect("user").to_owned();
    give_role(app, &admin, &account, "integrator", "all", None).await;
    let t = form_token(app, Some((&client_id, &secret)), "grant_type=client_credentials").await.expect(200);
    assert_eq!(t.body["scope"], "api.integrate");
    give_role(app, &admin, &account, "dept_admin", "department", Some(&jwc)).await;
    let t = form_token(app, Some((&client_id, &secret)), "grant_type=client_credentials").await.expect(200);
    assert_eq!(t.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let all = t.body["access_token"].as_str().expect("token").to_owned();
    assert!(t.body["scope"].as_str().expect("scope").split(' ').any(|s| s == "stats.read"));
    app.get("/api/v1/stats/overview", Some(&all)).await.expect(200);
    app.get("/api/v1/questions", Some(&all)).await.expect(200);

    // A scoped token carries only what it asked for; nothing beyond the roles can be asked for.
    let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=stats.read");
    let narrow = form_token(app, None, &form).await.expect(200).body["access_token"].as_str().expect("t").to_owned();
    app.get("/api/v1/stats/overview", Some(&narrow)).await.expect(200);
    app.get("/api/v1/questions", Some(&narrow)).await.expect(403);
    let r = form_token(app, Some((&client_id, &secret)), "grant_type=client_credentials&scope=user.manage")
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "invalid_scope");

    // Wrong credentials, grants and bodies.
    assert_eq!(
        form_token(app, Some((&client_id, "nope")), "grant_type=client_credentials").await.expect(401).code(),
        "invalid_credentials"
    );
    form_token(app, Some(("tb_unknown", &secret)), "grant_type=client_credentials").await.expect(401);
    form_token(app, Some((&client_id, &secret)), "grant_type=password").await.expect(400);
    form_token(app, None, "grant_type=client_credentials").await.expect(401);
    app.post("/api/v1/oauth/token", None, &json!({ "grant_type": "client_credentials" })).await.expect(415);

    // Its account is not a person: not in the directory, no password, managed with the client.
    let people =
        app.get("/api/v1/people?q=%E6%95%99%E5%8A%A1%E7%B3%BB%E7%BB%9F", Some(&student.access)).await.expect(200).body;
    assert_eq!(people, json!([]));
    let acct = app.get(&format!("/api/v1/users/{account}"), Some(&admin.access)).await.expect(200).body;
    let pw = json!({ "password": "Abcdef12!x", "version": acct["version"] });
    app.post(&format!("/api/v1/users/{account}/password"), Some(&admin.access), &pw).await.expect(422);
    let bad = json!({ "username": "sys1", "display_name": "x", "kind": "system", "staff_no": "S1" });
    app.post("/api/v1/users", Some(&admin.access), &bad).await.expect(400);

    // A new secret ends the old one and its tokens; so does disabling.
    let id = created["id"].as_str().expect("id").to_owned();
    let rotated = app
        .post(
            &format!("/api/v1/api-clients/{id}/secret"),
            Some(&admin.access),
            &json!({ "version": created["version"] }),
        )
        .await
        .expect(200)
        .body;
    let fresh = rotated["client_secret"].as_str().expect("s").to_owned();
    form_token(app, Some((&client_id, &secret)), "grant_type=client_credentials").await.expect(401);
    app.get("/api/v1/stats/overview", Some(&all)).await.expect(401);
    let token = form_token(app, Some((&client_id, &fresh)), "grant_type=client_credentials").await.expect(200).body["access_token"]
        .as_str()
        .expect("t")
        .to_owned();
    let off = json!({ "name": "教务系统", "description": "停用", "status": "disabled", "version": rotated["version"] });
    app.put(&format!("/api/v1/api-clients/{id}"), Some(&admin.access), &off).await.expect(200);
    app.get("/api/v1/stats/overview", Some(&token)).await.expect(401);
    form_token(app, Some((&client_id, &fresh)), "grant_type=client_credentials").await.expect(401);
}
db_test!(api_clients, api_clients_get_tokens_bounded_by_their_roles_and_scope);

const HOOK_SECRET: &str = "webhook-secret-0123456789";

fn received(got: &crate::notify::Received) -> Vec<(String, Value, bool)> {
    got.lock()
        .expect("lock")
        .iter()
        .map(|(h, body)| {
            let ts: i64 =
                h.get("x-tongban-timestamp").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
            let sig = h.get("x-tongban-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let good =
                sig == tongban_server::services::delivery::signature(HOOK_SECRET.as_bytes(), ts, body.as_bytes());
            let event = h.get("x-tongban-event").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            (event, serde_json::from_str(body).unwrap_or(Value::Null), good)
        })
        .collect()
}

async fn webhooks_deliver_signed_events_retry_and_keep_a_log(app: &TestApp) {
    let (port, got, server) = start_receiver(true);
    let admin = app.login("it_admin").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let events = json!(["affair.submitted", "affair.completed", "certificate.issued"]);
    for bad in [
        json!({ "name": "x", "url": "ftp://example.edu.cn/", "events": events }),
        json!({ "name": "x", "url": "http://user:pw@127.0.0.1/", "events": events }),
        json!({ "name": "x", "url": url, "events": [] }),
        json!({ "name": "x", "url": url, "events": ["affair.exploded"] }),
        json!({ "name": "x y", "url": url, "events": events }),
        json!({ "name": "x", "url": url, "events": events, "secret": "short" }),
    ] {
        app.post("/api/v1/webhooks", Some(&admin.access), &bad).await.expect(400);
    }
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&admin.access),
            &json!({ "name": "xgc-sync", "url": url, "events": events, "secret": HOOK_SECRET }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(hook["secret"], HOOK_SECRET);
    app.post("/api/v1/webhooks", Some(&admin.access), &json!({ "name": "xgc-sync", "url": url, "events": events }))
        .await
        .expect(409);
    let jwc = app.department("jwc").await["id"].clone();
    let other = app
        .post(
            "/api/v1/webhooks",
            Some(&admin.access),
            &json!({ "name": "jwc-only", "url": url, "events": events, "department_id": jwc }),
        )
        .await
        .expect(201)
        .body;
    let listed = app.get("/api/v1/webhooks", Some(&admin.access)).await.expect(200).body;
    assert!(listed.as_array().expect("hooks").iter().all(|h| h.get("secret").is_none()));

    let student = app.login("student1").await;
    let form = json!({ "purpose": "other", "purpose_detail": "办理银行开户", "copies": 1, "language": "zh" });
    let affair = complete_enrolment(app, &student, form).await;
    // Each first attempt gets a 503; the deliveries wait to be retried.
    wait_until("three first attempts", || received(&got).len() >= 3).await;
    let hid = hook["id"].as_str().expect("id").to_owned();
    let log = app.get(&format!("/api/v1/webhooks/{hid}/deliveries"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(log["total"], 3);
    let first = &log["items"][0];
    assert_eq!((first["status"].as_str(), first["last_status"].as_i64()), (Some("pending"), Some(503)));
    // Due now: the worker tries again and they are delivered.
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(chrono::Utc::now()))
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .exec(app.state.db.conn())
        .await
        .expect("due");
    wait_until("three deliveries", || received(&got).len() >= 6).await;
    let all = received(&got);
    assert!(all.iter().all(|(_, _, good)| *good), "every request is signed with the hook's secret");
    let kinds: std::collections::BTreeSet<&str> = all.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["affair.completed", "affair.submitted", "certificate.issued"]);
    let done = all.iter().find(|(e, _, _)| e == "affair.completed").expect("completed").1.clone();
    assert_eq!(done["data"]["affair"]["number"], affair["number"]);
    assert!(done["data"]["affair"].get("form").is_none(), "no form data leaves the system");
    let cert = all.iter().find(|(e, _, _)| e == "certificate.issued").expect("issued").1.clone();
    assert!(cert["data"]["certificate"]["number"].as_str().is_some());
    for _ in 0..100 {
        let log = app
            .get(&format!("/api/v1/webhooks/{hid}/deliveries?status=delivered"), Some(&admin.access))
            .await
            .expect(200)
            .body;
        if log["total"] == 3 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = app
        .get(&format!("/api/v1/webhooks/{hid}/deliveries?status=delivered"), Some(&admin.access))
        .await
        .expect(200)
        .body;
    assert_eq!(log["total"], 3);
    assert_eq!(log["items"][0]["attempts"], 2);
    // The hook for 教务处's processes heard nothing of 学生工作处's 在读证明.
    let oid = other["id"].as_str().expect("id");
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{oid}/deliveries"), Some(&admin.access)).await.expect(200).body["total"],
        0
    );

    // A ping, and redelivering one already delivered is refused.
    let ping =
        app.post(&format!("/api/v1/webhooks/{hid}/ping"), Some(&admin.access), &json!({})).await.expect(202).body;
    assert_eq!(ping["event"], "ping");
    let delivered = log["items"][0]["id"].as_str().expect("id");
    app.post(&format!("/api/v1/webhook-deliveries/{delivered}/redeliver"), Some(&admin.access), &json!({}))
        .await
        .expect(409);
    let xgc = app.login("xgc_admin").await;
    app.get(&format!("/api/v1/webhooks/{hid}/deliveries"), Some(&xgc.access)).await.expect(403);
    server.stop(true).await;
}
db_test!(webhooks, webhooks_deliver_signed_events_retry_and_keep_a_log);

async fn a_webhook_service_task_calls_the_named_hook(app: &TestApp) {
    let (port, got, server) = start_receiver(false);
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body["user"]["id"].clone();
    app.post(
        "/api/v1/webhooks",
        Some(&admin.access),
        &json!({ "name": "dorm-system", "url": format!("http://127.0.0.1:{port}/"), "events": ["ping"], "secret": HOOK_SECRET }),
    )
    .await
    .expect(201);
    let definition = json!({
        "key": "dorm", "name": "宿舍调换", "admins": [me],
        "nodes": [
            { "id": "start", "name": "提交", "kind": { "type": "start" } },
            { "id": "sync", "name": "同步宿舍系统", "kind": { "type": "service_task", "call": { "type": "webhook", "hook": "dorm-system" } } },
            { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } }
        ],
        "flows": [ { "id": "f1", "from": "start", "to": "sync" }, { "id": "f2", "from": "sync", "to": "end" } ]
    });
    let dept = app.department("hqbwc").await["id"].clone();
    let p = app
        .post("/api/v1/processes", Some(&admin.access), &json!({ "key": "dorm", "name": "宿舍调换", "department_id": dept, "definition": definition, "form": { "fields": [] } }))
        .await
        .expect(201)
        .body;
    let pid = p["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/processes/{pid}/versions"),
        Some(&admin.access),
        &json!({ "status": "online", "version": p["version"] }),
    )
    .await
    .expect(201);
    let student = app.login("student1").await;
    let a = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "dorm", "form": {} }))
        .await
        .expect(201)
        .body;
    wait_until("the service call", || !received(&got).is_empty()).await;
    let (event, body, good) = received(&got)[0].clone();
    assert_eq!(event, "service_task");
    assert!(good);
    assert_eq!(body["data"]["affair"]["id"], a["id"]);
    let id = a["id"].as_str().expect("id");
    for _ in 0..100 {
        if app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body["status"]
            == "completed"
        {
            server.stop(true).await;
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the affair did not complete after the hook answered");
}
db_test!(webhook_service_task, a_webhook_service_task_calls_the_named_hook);
