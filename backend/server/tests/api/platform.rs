//! Health, readiness, metrics, the OpenAPI document, the docs UI and the SPA fallback.

use crate::db_test;
use crate::helpers::TestApp;

async fn health_readiness_and_metrics_answer(app: &TestApp) {
    assert_eq!(app.get("/healthz", None).await.expect(200).body["status"], "ok");
    assert_eq!(app.get("/readyz", None).await.expect(200).body["status"], "ok");
    let m = app.get("/metrics", None).await.expect(200);
    let text = m.body.as_str().expect("text");
    assert!(text.contains("tongban_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/readyz\""), "{text}");
}
db_test!(health_and_metrics, health_readiness_and_metrics_answer);

async fn the_served_spec_is_the_checked_in_spec(app: &TestApp) {
    let served = app.get("/api/openapi.json", None).await.expect(200).body;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json exists")).expect("valid JSON");
    assert!(served == file, "openapi/openapi.json is stale: run `make openapi` and commit the result");
    assert_eq!(served["openapi"], "3.1.0");
    // Enumerations document the codes the API really sends (not the Rust variant names).
    let schemas = &served["components"]["schemas"];
    assert!(schemas["DepartmentKind"]["enum"].as_array().expect("enum").contains(&serde_json::json!("college")));
    assert!(schemas["Permission"]["enum"].as_array().expect("enum").contains(&serde_json::json!("org.read")));
    assert!(schemas["Scope"]["enum"].as_array().expect("enum").contains(&serde_json::json!("supervised")));
    // Every operation documents its errors as problem+json and protected ones name the scheme.
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path} documents responses");
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} documents 401");
            }
        }
    }
}
db_test!(openapi_is_current, the_served_spec_is_the_checked_in_spec);

async fn docs_and_spa_are_served_locally(app: &TestApp) {
    let docs = app.get("/api/docs/", None).await.expect(200);
    let html = docs.body.as_str().expect("html");
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    let init = app.get("/api/docs/swagger-initializer.js", None).await.expect(200);
    assert!(init.body.as_str().expect("js").contains("/api/openapi.json"));
    assert!(!html.contains("cdn") && !html.contains("unpkg"), "no request leaves the machine");
    let css = app.get("/api/docs/swagger-ui.css", None).await.expect(200);
    assert!(css.body.as_str().is_some_and(|s| s.len() > 1000));
    let page = app.get("/hall/some/page", None).await.expect(200);
    assert!(page.body.as_str().expect("html").contains("/api/docs/"));
    let r = app.get("/api/nothing", None).await.expect(404);
    assert_eq!(r.code(), "route_not_found");
}
db_test!(docs_and_spa, docs_and_spa_are_served_locally);

async fn tokens_outlive_a_restart_on_the_same_data_dir(app: &TestApp) {
    let t = app.login("student1").await;
    let mut settings = (*app.state.settings).clone();
    settings.listen = "127.0.0.1:0".into();
    let second = tongban_server::startup::Application::build(settings).await.expect("second instance");
    let port = second.port();
    let server = second.into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let res =
        app.client.get(format!("http://127.0.0.1:{port}/api/v1/me")).bearer_auth(&t.access).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 200, "the generated signing key is kept in the data dir");
    handle.stop(true).await;
}
db_test!(signing_key_persists, tokens_outlive_a_restart_on_the_same_data_dir);

async fn the_command_line_migrates_seeds_and_creates_admins(app: &TestApp) {
    let s = &app.state.settings;
    // The command runs on a blocking thread, so the server under test keeps serving (and finishes
    // whatever write it is in) meanwhile.
    let run = async |args: &[&str], password: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"));
        cmd.args(args)
            .env("TONGBAN_DATABASE_URL", s.database_url())
            .env("TONGBAN_DATA_DIR", &s.data_dir)
            .env_remove("TONGBAN_DEMO")
            .env("RUST_LOG", "warn");
        if let Some(p) = password {
            cmd.env("TONGBAN_ADMIN_PASSWORD", p);
        }
        actix_web::rt::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run tongban")
    };
    let out = run(&["migrate"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The demo college exists already: seeding again changes nothing.
    let before = tongban_server::services::users::count(app.state.db.conn()).await.expect("count");
    let out = run(&["seed", "--demo"], None).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tongban_server::services::users::count(app.state.db.conn()).await.expect("count"), before);

    let out = run(&["create-admin", "--username", "root_admin"], Some("weak")).await;
    assert!(!out.status.success(), "weak passwords are refused");
    let out = run(&["create-admin", "--username", "root_admin"], Some("Strong@Admin2026")).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !run(&["create-admin", "--username", "root_admin"], Some("Strong@Admin2026")).await.status.success(),
        "names are unique"
    );
    let t = app.login_with("root_admin", "Strong@Admin2026").await;
    let me = app.get("/api/v1/me", Some(&t.access)).await.expect(200);
    assert!(me.body["roles"].as_array().expect("roles").iter().any(|r| r["code"] == "it_admin" && r["scope"] == "all"));

    let out = run(&["openapi"], None).await;
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(spec["openapi"], "3.1.0");
}
db_test!(command_line, the_command_line_migrates_seeds_and_creates_admins);

/// Instances started together on one empty PostgreSQL take turns: migrations and the demo college
/// happen once, and every instance comes up (PostgreSQL only: the embedded SQLite mode is for one
/// instance).
#[actix_web::test]
async fn instances_starting_together_on_postgresql_prepare_once() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let (url, db) = crate::helpers::fresh_postgres().await;
    let dirs: Vec<_> =
        (0..3).map(|i| std::env::temp_dir().join(format!("tongban-prepare-{}-{i}", uuid::Uuid::now_v7()))).collect();
    let starts = dirs.iter().map(|dir| {
        let settings = tongban_server::config::Settings {
            database_url: Some(url.clone().into()),
            data_dir: dir.clone(),
            demo: true,
            db_max_connections: 2,
            ..tongban_server::config::Settings::default()
        };
        async move { tongban_server::startup::prepare(&settings).await }
    });
    let prepared = futures_util::future::join_all(starts).await;
    let mut conns = Vec::new();
    for p in prepared {
        conns.push(p.expect("every instance prepares"));
    }
    let users = tongban_server::entity::user::Entity::find().count(conns[0].conn()).await.expect("users");
    let demo_users = tongban_server::entity::user::Entity::find()
        .filter(tongban_server::entity::user::Column::Username.eq("student1"))
        .count(conns[0].conn())
        .await
        .expect("student1");
    assert_eq!(demo_users, 1, "the demo college was made once");
    assert!(users > 20, "{users}");
    for c in conns {
        let _ = c.close().await;
    }
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    db.drop_now().await;
}
