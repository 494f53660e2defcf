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
