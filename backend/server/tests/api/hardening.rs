//! Hardening: rate limits per user and per address (behind a trusted proxy too), security
//! headers and a content security policy on every response.

use crate::db_test;
use crate::helpers::TestApp;

async fn get_from(app: &TestApp, path: &str, forwarded: Option<&str>, token: Option<&str>) -> (u16, Option<String>) {
    let mut r = app.client.get(app.url(path));
    if let Some(f) = forwarded {
        r = r.insert_header(("x-forwarded-for", f));
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let res = r.send().await.expect("send");
    (res.status().as_u16(), res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned))
}

async fn limited(app: &TestApp, path: &str, forwarded: Option<&str>, token: Option<&str>) -> usize {
    let mut refused = 0;
    for _ in 0..12 {
        let (status, retry) = get_from(app, path, forwarded, token).await;
        if status == 429 {
            assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)), "429 says when to retry");
            refused += 1;
        }
    }
    refused
}

async fn rate_limits_apply_per_user_and_per_address(app: &TestApp) {
    // Five at once, then one a second: twelve quick requests from one address exceed it.
    assert!(limited(app, "/api/v1/hall", None, None).await >= 5);
    let r = app.get("/api/v1/categories", None).await;
    assert_eq!(r.expect(429).code(), "too_many_requests");
    // A signed-in user has a bucket of their own, not the address's.
    let student = app.login_with_limits().await;
    assert!(limited(app, "/api/v1/me", None, Some(&student)).await >= 5);
    // The peer is not a trusted proxy here: a forwarded address changes nothing.
    assert!(limited(app, "/api/v1/hall", Some("10.1.2.3"), None).await >= 11);
    // Health and metrics are never limited.
    for _ in 0..12 {
        assert_eq!(get_from(app, "/healthz", None, None).await.0, 200);
    }
}

impl TestApp {
    /// Sign in student1 bypassing the address limit (a fresh bucket for the sign-in itself is not
    /// what this test measures): the token from the state's keys.
    async fn login_with_limits(&self) -> String {
        let db = self.state.db.conn();
        let u = <tongban_server::entity::user::Entity as sea_orm::EntityTrait>::find()
            .all(db)
            .await
            .expect("users")
            .into_iter()
            .find(|u| u.username == "student1")
            .expect("student1");
        self.state.keys.issue(u.id, u.auth_epoch, 600, Default::default()).expect("token")
    }
}

db_test!(
    rate_limits,
    |s: &mut tongban_server::config::Settings| {
        s.rate_limit.per_ip_per_minute = 60;
        s.rate_limit.per_user_per_minute = 60;
        s.rate_limit.burst = 5;
    },
    rate_limits_apply_per_user_and_per_address
);

async fn behind_a_trusted_proxy_each_client_address_has_its_own_limit(app: &TestApp) {
    assert!(limited(app, "/api/v1/hall", Some("10.1.2.3"), None).await >= 5);
    assert_eq!(get_from(app, "/api/v1/hall", Some("10.1.2.4"), None).await.0, 200, "another client is not limited");
    assert_eq!(get_from(app, "/api/v1/hall", Some("203.0.113.9, 10.1.2.5"), None).await.0, 200);
}
db_test!(
    rate_limits_behind_a_proxy,
    |s: &mut tongban_server::config::Settings| {
        s.rate_limit.per_ip_per_minute = 60;
        s.rate_limit.burst = 5;
        s.trusted_proxies = vec!["127.0.0.1".into()];
    },
    behind_a_trusted_proxy_each_client_address_has_its_own_limit
);

async fn every_response_carries_security_headers_and_a_csp(app: &TestApp) {
    for path in ["/api/v1/hall", "/api/v1/nope", "/verify/NOPE", "/healthz"] {
        let r = app.get(path, None).await;
        let h = |k: &str| r.headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert!(h("content-security-policy").contains("frame-ancestors 'none'"), "{path}");
        assert!(!h("permissions-policy").is_empty(), "{path}");
    }
    let page = app.get("/verify/NOPE", None).await;
    let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval") && !csp.contains("https:"), "{csp}");
    let api = app.get("/api/v1/hall", None).await;
    assert!(
        api.headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("default-src 'none'"))
    );
    // No HSTS over plain HTTP.
    assert!(api.headers.get("strict-transport-security").is_none());
}
db_test!(security_headers, every_response_carries_security_headers_and_a_csp);
