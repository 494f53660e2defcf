//! Campus sign-in end to end against real peers: node's oidc-provider (authorization code with
//! PKCE S256) and django-cas-server (CAS 3.0 `/p3/serviceValidate` with attributes). The test acts as
//! the browser: from Tongban's login redirect, through the provider's sign-in page, back to
//! Tongban's callback, and to the web app's code exchange.

use std::time::Duration;

use serde_json::json;
use tongban_server::config::{CasSettings, OidcSettings, Settings};

use crate::helpers::{Backend, TestApp, Tokens};
use crate::sso_peers::{CasServer, OidcProvider, cas_sign_in, free_port, oidc_sign_in, try_oidc_sign_in};

fn browser() -> awc::Client {
    awc::Client::builder().disable_redirects().timeout(Duration::from_secs(20)).finish()
}

/// GET `url` without following redirects; the `Location`.
async fn location(url: &str) -> String {
    let r = browser().get(url).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 302, "{url}");
    r.headers().get("location").expect("location").to_str().expect("ascii").to_owned()
}

fn query(url: &str, key: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).expect("url");
    u.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

async fn exchange(app: &TestApp, landing: &str) -> Tokens {
    let code = query(landing, "code").unwrap_or_else(|| panic!("no code in {landing}"));
    let r = app.post("/api/v1/auth/sso/exchange", None, &json!({ "code": code })).await.expect(200);
    let again = app.post("/api/v1/auth/sso/exchange", None, &json!({ "code": code })).await.expect(401);
    assert_eq!(again.code(), "sso_code_invalid", "a code works once");
    Tokens {
        access: r.body["access_token"].as_str().expect("access").into(),
        refresh: r.body["refresh_token"].as_str().expect("refresh").into(),
    }
}

async fn signed_in_as(app: &TestApp, t: &Tokens, username: &str, method: &str) {
    let me = app.get("/api/v1/me", Some(&t.access)).await.expect(200).body;
    assert_eq!(me["user"]["username"], username, "{me}");
    let sessions = app.get("/api/v1/me/sessions", Some(&t.access)).await.expect(200).body;
    let cur = sessions.as_array().expect("list").iter().find(|s| s["current"] == true).expect("current").clone();
    assert_eq!(cur["method"], method);
    assert_eq!(cur["amr"], json!([method]));
}

async fn oidc(backend: Backend) {
    let (app_port, idp_port) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{app_port}");
    let redirect = format!("{public}/api/v1/auth/sso/oidc/callback");
    let accounts = json!({
        "lin": { "name": "林同学", "preferred_username": "2024010101" },
        "ghost": { "name": "查无此人", "preferred_username": "1999999999" },
    });
    let idp = OidcProvider::start(idp_port, "tongban", "test-client-secret", &redirect, accounts).await;
    let issuer = idp.issuer.clone();
    let tweak = move |s: &mut Settings| {
        s.listen = format!("127.0.0.1:{app_port}");
        s.public_url = public;
        s.sso.oidc = Some(OidcSettings {
            issuer,
            client_id: "tongban".into(),
            client_secret: "test-client-secret".to_owned().into(),
            name: "统一身份认证".into(),
            scopes: vec!["openid".into(), "profile".into()],
            link_claim: "preferred_username".into(),
            redirect_uri: None,
        });
    };
    crate::helpers::run(backend, tweak, async |app: &TestApp| {
        let options = app.get("/api/v1/auth/sso/providers", None).await.expect(200).body;
        assert_eq!(options["providers"][0]["id"], "oidc", "{options}");
        assert_eq!(options["password_login"], "everyone");

        let authorize = location(&app.url("/api/v1/auth/sso/oidc/login?return_to=/affairs")).await;
        assert_eq!(query(&authorize, "code_challenge_method").as_deref(), Some("S256"));
        assert!(query(&authorize, "code_challenge").is_some() && query(&authorize, "nonce").is_some());
        let callback = oidc_sign_in(&authorize, "lin").await;
        assert!(callback.starts_with(&app.url("/api/v1/auth/sso/oidc/callback")), "{callback}");
        let landing = location(&callback).await;
        assert!(landing.starts_with(&app.url("/login/sso?")), "{landing}");
        assert_eq!(query(&landing, "return_to").as_deref(), Some("/affairs"));
        let tokens = exchange(app, &landing).await;
        signed_in_as(app, &tokens, "student1", "oidc").await;

        // The same callback again: the round trip is spent.
        let replay = location(&callback).await;
        assert_eq!(query(&replay, "sso_error").as_deref(), Some("state_invalid"), "{replay}");
        // A forged callback with a made-up state.
        let forged = location(&app.url("/api/v1/auth/sso/oidc/callback?code=abc&state=forged")).await;
        assert_eq!(query(&forged, "sso_error").as_deref(), Some("state_invalid"));

        // An identity the college has no account for.
        let authorize = location(&app.url("/api/v1/auth/sso/oidc/login")).await;
        let callback = oidc_sign_in(&authorize, "ghost").await;
        let landing = location(&callback).await;
        assert_eq!(query(&landing, "sso_error").as_deref(), Some("account_not_found"), "{landing}");
        // Someone who cannot sign in at the provider never comes back with a code.
        let authorize = location(&app.url("/api/v1/auth/sso/oidc/login")).await;
        assert!(try_oidc_sign_in(&authorize, "nobody").await.is_err());
        // A return path elsewhere is not followed.
        let authorize = location(&app.url("/api/v1/auth/sso/oidc/login?return_to=https://evil.example/")).await;
        let landing = location(&oidc_sign_in(&authorize, "lin").await).await;
        assert_eq!(query(&landing, "return_to").as_deref(), Some("/"));
    })
    .await;
}

async fn cas(backend: Backend) {
    let server = CasServer::start("lin", "cas-pass-2026", json!({ "studentNo": "2024010101", "name": "林同学" })).await;
    let base = server.base_url.clone();
    let app_port = free_port();
    let public = format!("http://127.0.0.1:{app_port}");
    let tweak = move |s: &mut Settings| {
        s.listen = format!("127.0.0.1:{app_port}");
        s.public_url = public;
        s.sso.cas = Some(CasSettings {
            base_url: base,
            name: "统一身份认证（CAS）".into(),
            link_attribute: Some("studentNo".into()),
        });
    };
    crate::helpers::run(backend, tweak, async |app: &TestApp| {
        let login = location(&app.url("/api/v1/auth/sso/cas/login?return_to=/certificates")).await;
        assert!(login.starts_with(&format!("{}/login?service=", server.base_url)), "{login}");
        assert!(cas_sign_in(&login, "lin", "wrong").await.is_err(), "a wrong password gets no ticket");
        let back = cas_sign_in(&login, "lin", "cas-pass-2026").await.expect("signed in at CAS");
        assert!(query(&back, "ticket").is_some_and(|t| t.starts_with("ST-")), "{back}");
        let landing = location(&back).await;
        assert_eq!(query(&landing, "return_to").as_deref(), Some("/certificates"), "{landing}");
        let tokens = exchange(app, &landing).await;
        signed_in_as(app, &tokens, "student1", "cas").await;
        // The ticket and the round trip are spent.
        let replay = location(&back).await;
        assert_eq!(query(&replay, "sso_error").as_deref(), Some("state_invalid"));
        // A ticket CAS never issued, on a fresh round trip.
        let login = location(&app.url("/api/v1/auth/sso/cas/login")).await;
        let service = query(&login, "service").expect("service");
        let forged = location(&format!("{service}&ticket=ST-forged")).await;
        assert_eq!(query(&forged, "sso_error").as_deref(), Some("token_invalid"), "{forged}");
    })
    .await;
}

mod oidc_sign_in_flow {
    #[actix_web::test]
    async fn on_sqlite() {
        super::oidc(crate::helpers::Backend::Sqlite).await;
    }
    #[actix_web::test]
    async fn on_postgres() {
        super::oidc(crate::helpers::Backend::Postgres).await;
    }
}

mod cas_sign_in_flow {
    #[actix_web::test]
    async fn on_sqlite() {
        super::cas(crate::helpers::Backend::Sqlite).await;
    }
    #[actix_web::test]
    async fn on_postgres() {
        super::cas(crate::helpers::Backend::Postgres).await;
    }
}
