//! Boot the real server on a random port against a fresh database, and talk to it over HTTP.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use actix_web::http::StatusCode;
use awc::http::header::HeaderMap;
use futures_util::FutureExt;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tongban_server::config::Settings;
use tongban_server::startup::Application;
use tongban_server::state::AppState;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A response, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The problem `code`, asserting the body is problem+json.
    pub fn code(&self) -> &str {
        let ct = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with("application/problem+json"), "expected problem+json, got {ct}: {}", self.body);
        self.body["code"].as_str().unwrap_or("")
    }

    /// Assert the status and return self.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self
    }
}

/// Tokens of a signed-in user.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// A running server with its own database.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: awc::Client,
}

pub const PASSWORD: &str = "Tongban@2026";

impl TestApp {
    /// A second server instance on the same settings and database, running until the returned
    /// handle stops it: a client of it, whose `state` is the second instance's own.
    pub async fn second_instance(&self) -> (TestApp, actix_web::dev::ServerHandle) {
        let mut settings = (*self.state.settings).clone();
        settings.listen = "127.0.0.1:0".into();
        let second = tongban_server::startup::Application::build(settings).await.expect("second instance");
        let other = TestApp {
            base: format!("http://127.0.0.1:{}", second.port()),
            state: second.state.clone(),
            client: self.client.clone(),
        };
        let server = second.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (other, handle)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn read(
        mut res: awc::ClientResponse<
            impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
        >,
    ) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("read body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        assert!(headers.contains_key("x-request-id"), "every response carries X-Request-Id");
        Resp { status, headers, body }
    }

    fn req(&self, method: awc::http::Method, path: &str, token: Option<&str>) -> awc::ClientRequest {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    /// GET a binary body (a PDF, a ZIP): status, headers and the bytes.
    pub async fn get_bytes(&self, path: &str, token: Option<&str>) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
        let mut res = self.req(awc::http::Method::GET, path, token).send().await.expect("send");
        let bytes = res.body().limit(256 * 1024 * 1024).await.expect("read body");
        (res.status().as_u16(), res.headers().clone(), bytes.to_vec())
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        Self::read(self.req(awc::http::Method::GET, path, token).send().await.expect("send")).await
    }

    pub async fn get_lang(&self, path: &str, token: Option<&str>, lang: &str) -> Resp {
        let r = self.req(awc::http::Method::GET, path, token).insert_header(("accept-language", lang));
        Self::read(r.send().await.expect("send")).await
    }

    pub async fn send_json(&self, method: awc::http::Method, path: &str, token: Option<&str>, body: &Value) -> Resp {
        Self::read(self.req(method, path, token).send_json(body).await.expect("send")).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_json(awc::http::Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_json(awc::http::Method::PUT, path, token, body).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        Self::read(self.req(awc::http::Method::DELETE, path, token).send().await.expect("send")).await
    }

    /// Send raw bytes with a content type.
    pub async fn post_raw_method(
        &self,
        method: awc::http::Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let req = self.req(method, path, token).insert_header(("content-type", content_type));
        Self::read(req.send_body(body).await.expect("send")).await
    }

    pub async fn post_raw(&self, path: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Resp {
        self.post_raw_method(awc::http::Method::POST, path, token, content_type, body).await
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Resp {
        self.post("/api/v1/auth/login", None, &json!({ "username": username, "password": password })).await
    }

    /// Sign in a demo account, asserting success.
    pub async fn login(&self, username: &str) -> Tokens {
        self.login_with(username, PASSWORD).await
    }

    pub async fn login_with(&self, username: &str, password: &str) -> Tokens {
        let r = self.try_login(username, password).await.expect(200);
        assert_eq!(r.body["token_type"], "Bearer");
        Tokens {
            access: r.body["access_token"].as_str().expect("access_token").to_owned(),
            refresh: r.body["refresh_token"].as_str().expect("refresh_token").to_owned(),
        }
    }

    /// The id of a demo user, looked up by an administrator.
    pub async fn user_id(&self, admin: &Tokens, username: &str) -> String {
        let r = self.get(&format!("/api/v1/users?q={username}&page_size=100"), Some(&admin.access)).await.expect(200);
        let items = r.body["items"].as_array().expect("items");
        items.iter().find(|u| u["username"] == username).unwrap_or_else(|| panic!("user {username} not found"))["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// A department by code (public list).
    pub async fn department(&self, code: &str) -> Value {
        let r = self.get(&format!("/api/v1/departments?q={code}"), None).await.expect(200);
        r.body
            .as_array()
            .expect("array")
            .iter()
            .find(|d| d["code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("department {code}"))
    }
}

pub(crate) fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL must point at a PostgreSQL server for the PostgreSQL half of the tests \
         (make test sets it to postgres://postgres@127.0.0.1:5432/postgres)",
    )
}

pub(crate) fn database_url_for(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Start a server on `backend` with the demo college, run `body`, then stop it and drop the database.
pub async fn run<F>(backend: Backend, tweak: impl FnOnce(&mut Settings), body: F)
where
    F: AsyncFnOnce(&TestApp),
{
    let id = uuid::Uuid::now_v7().simple().to_string();
    let data_dir: PathBuf = std::env::temp_dir().join(format!("tongban-test-{id}"));
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        demo: true,
        frontend_dir: data_dir.join("no-spa"),
        db_max_connections: 5,
        // Tests send bursts from one address; the rate limits have tests of their own.
        rate_limit: tongban_server::config::RateLimitSettings {
            per_user_per_minute: 0,
            per_ip_per_minute: 0,
            burst: 0,
        },
        ..Settings::default()
    };
    let mut pg: Option<(String, String)> = None;
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            let admin = admin_url();
            let name = format!("tongban_test_{id}");
            let conn = Database::connect(&admin).await.expect("connect to TEST_DATABASE_URL");
            conn.execute_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("CREATE DATABASE \"{name}\""),
            ))
            .await
            .expect("create test database");
            conn.close().await.expect("close");
            settings.database_url = Some(database_url_for(&admin, &name).into());
            pg = Some((admin, name));
        }
    }
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let port = app.port();
    let state = app.state.clone();
    let server = app.into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let test = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        state,
        client: awc::Client::builder().timeout(std::time::Duration::from_secs(60)).finish(),
    };

    let outcome = AssertUnwindSafe(body(&test)).catch_unwind().await;

    test.state.live.close();
    handle.stop(true).await;
    let TestApp { state, .. } = test;
    let _ = state.db.close().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Some((admin, name)) = pg {
        let conn = Database::connect(&admin).await.expect("connect to TEST_DATABASE_URL");
        conn.execute_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        ))
        .await
        .expect("drop test database");
        conn.close().await.expect("close");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// One test on both databases: `db_test!(name, async fn body)` or with a settings tweak.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:ident) => {
        $crate::db_test!($name, |_s: &mut tongban_server::config::Settings| {}, $body);
    };
    ($name:ident, $tweak:expr, $body:ident) => {
        mod $name {
            #[actix_web::test]
            async fn on_sqlite() {
                $crate::helpers::run($crate::helpers::Backend::Sqlite, $tweak, super::$body).await
            }
            #[actix_web::test]
            async fn on_postgres() {
                $crate::helpers::run($crate::helpers::Backend::Postgres, $tweak, super::$body).await
            }
        }
    };
}

#[test]
fn database_urls_are_derived_from_the_admin_url() {
    assert_eq!(
        database_url_for("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(database_url_for("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    assert_eq!(database_url_for("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
}

/// The text of a PDF, by poppler's `pdftotext` (installed by `.ci/run`).
pub fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 text")
}

/// What the QR codes on the first page of a PDF say: the page rendered by `pdftoppm`, decoded by
/// `zbarimg` (zbar-tools).
pub fn pdf_qr_codes(path: &std::path::Path) -> Vec<String> {
    let prefix = path.with_extension("page");
    let out = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile"])
        .arg(path)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    let png = prefix.with_extension("page.png");
    let out = std::process::Command::new("zbarimg")
        .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools) must be installed");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
}

/// Text with all white space removed, for matching across PDF line breaks.
pub fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Apply for the demo 在读证明 as `student` with `form`, have the counsellor and 学生工作处 approve
/// it (opinion "<username> 同意"), and wait (bounded) until it completes: the affair as the student
/// then sees it.
pub async fn complete_enrolment(app: &TestApp, student: &Tokens, form: Value) -> Value {
    let body = serde_json::json!({ "process_key": "enrolment_certificate", "form": form });
    let a = app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201).body;
    let id = a["id"].as_str().expect("id").to_owned();
    for who in ["counsellor1", "xgc_admin"] {
        let t = app.login(who).await;
        let a = app.get(&format!("/api/v1/affairs/{id}"), Some(&t.access)).await.expect(200).body;
        let task = a["tasks"].as_array().expect("tasks").iter().find(|t| t["status"] == "pending").expect("pending");
        let action = serde_json::json!({ "action": "approve", "comment": format!("{who} 同意") });
        let path = format!("/api/v1/tasks/{}/actions", task["id"].as_str().expect("task id"));
        app.post(&path, Some(&t.access), &action).await.expect(200);
    }
    for _ in 0..150 {
        let a = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
        if a["status"] == "completed" {
            return a;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the affair {id} did not complete");
}

/// A new empty PostgreSQL database on TEST_DATABASE_URL: (its URL, a guard that drops it).
pub async fn fresh_postgres() -> (String, PgDatabase) {
    let admin = admin_url();
    let name = format!("tongban_test_{}", uuid::Uuid::now_v7().simple());
    let conn = Database::connect(&admin).await.expect("connect to TEST_DATABASE_URL");
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create test database");
    conn.close().await.expect("close");
    (database_url_for(&admin, &name), PgDatabase { admin, name })
}

/// A database made by [`fresh_postgres`]; [`PgDatabase::drop_now`] removes it.
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    /// Drop the database (connections are ended).
    pub async fn drop_now(self) {
        let conn = Database::connect(&self.admin).await.expect("connect to TEST_DATABASE_URL");
        conn.execute_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        ))
        .await
        .expect("drop test database");
        conn.close().await.expect("close");
    }
}
