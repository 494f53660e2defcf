//! Real single sign-on peers for the SSO tests, and a scripted browser to sign in at them.
//!
//! - [`OidcProvider`]: node's `oidc-provider` (tests/peers/oidc/server.mjs) with one confidential
//!   client (client_secret_basic, authorization code, PKCE required, S256 only, RS256 id_tokens)
//!   and the accounts a test gives it. Its login page takes a login name only; an unknown login is
//!   refused. [`oidc_sign_in`] plays the browser from the authorization URL to the redirect back
//!   to the client.
//! - [`CasServer`]: django-cas-server (tests/peers/cas/run.py), one user with a password and
//!   attributes, every `http://127.0.0.1:<port>/…` service allowed with all attributes released.
//!   [`cas_sign_in`] plays the browser from `/login?service=…` to the redirect back to the service.
//!
//! Both peers come from scripts/test-peers.sh: node on PATH with tests/peers/oidc/node_modules,
//! and django-cas-server in the venv named by TONGBAN_TEST_PYTHON. The self-tests at the bottom
//! prove the harness against the peers alone.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Url;

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A peer process, killed (and its scratch files removed) on drop.
struct Peer {
    name: &'static str,
    child: Child,
    log: PathBuf,
    scratch: Option<PathBuf>,
}

impl Peer {
    fn spawn(name: &'static str, mut command: Command, scratch: Option<PathBuf>) -> Peer {
        let log = std::env::temp_dir().join(format!("tongban-{name}-peer-{}-{}.log", std::process::id(), free_port()));
        let out = std::fs::File::create(&log).expect("create the peer's log file");
        let err = out.try_clone().expect("clone the peer's log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start the {name} peer: {e}"));
        Peer { name, child, log, scratch }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until `url` answers with `status`; panics with the peer's output if it exits or
    /// takes too long.
    async fn wait_for(&mut self, url: &str, status: u16, within: Duration) {
        let client = awc::Client::builder().disable_redirects().timeout(Duration::from_secs(5)).finish();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("the {} peer exited ({exit}) before answering {url}:\n{}", self.name, self.log());
            }
            if let Ok(r) = client.get(url).send().await
                && r.status().as_u16() == status
            {
                return;
            }
            assert!(Instant::now() < deadline, "the {} peer did not answer {url} in time:\n{}", self.name, self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// node's oidc-provider on 127.0.0.1:`port`, issuer `http://127.0.0.1:{port}`. Endpoints (also in
/// its discovery document): `/auth`, `/token`, `/me` (userinfo), `/jwks`, `/session/end`.
pub(crate) struct OidcProvider {
    pub issuer: String,
    _peer: Peer,
}

impl OidcProvider {
    /// Start the provider with one client and `accounts` (an object: login → claims, e.g.
    /// `{"20230001": {"name": "张三", "preferred_username": "20230001"}}`; every claim an account
    /// has is released under the `profile` scope, in the id_token and from userinfo). Returns
    /// once the discovery document answers.
    pub(crate) async fn start(
        port: u16,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        accounts: serde_json::Value,
    ) -> OidcProvider {
        let dir = repo_root().join("tests/peers/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{} has no node_modules/oidc-provider: run scripts/test-peers.sh",
            dir.display()
        );
        let issuer = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg(dir.join("server.mjs"))
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("ISSUER", &issuer)
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", client_secret)
            .env("REDIRECT_URI", redirect_uri)
            .env("ACCOUNTS", accounts.to_string());
        let mut peer = Peer::spawn("oidc", command, None);
        peer.wait_for(&format!("{issuer}/.well-known/openid-configuration"), 200, Duration::from_secs(90)).await;
        OidcProvider { issuer, _peer: peer }
    }
}

/// django-cas-server on a free port of 127.0.0.1, with one user. Serves `/login`, `/logout`,
/// `/validate`, `/serviceValidate`, `/p3/serviceValidate` and the rest of CAS 3.0 at the root.
pub(crate) struct CasServer {
    pub base_url: String,
    _peer: Peer,
}

impl CasServer {
    /// Start the server for `user` with `password` and `attributes` (an object: name → string or
    /// list of strings). Returns once `/login` answers.
    pub(crate) async fn start(user: &str, password: &str, attributes: serde_json::Value) -> CasServer {
        let python = std::env::var("TONGBAN_TEST_PYTHON").expect(
            "TONGBAN_TEST_PYTHON must name a Python with django-cas-server (make test sets it after scripts/test-peers.sh)",
        );
        let port = free_port();
        let data = std::env::temp_dir().join(format!("tongban-cas-peer-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&data).expect("create the CAS data dir");
        let mut command = Command::new(python);
        command
            .arg(repo_root().join("tests/peers/cas/run.py"))
            .env("PORT", port.to_string())
            .env("CAS_USER", user)
            .env("CAS_PASSWORD", password)
            .env("CAS_ATTRIBUTES", attributes.to_string())
            .env("CAS_DATA_DIR", &data)
            .env("PYTHONUNBUFFERED", "1");
        let mut peer = Peer::spawn("cas", command, Some(data));
        let base_url = format!("http://127.0.0.1:{port}");
        peer.wait_for(&format!("{base_url}/login"), 200, Duration::from_secs(60)).await;
        CasServer { base_url, _peer: peer }
    }
}

// ---------------------------------------------------------------------------------------------
// A scripted browser: no redirects followed by itself, cookies kept by hand.

struct Page {
    url: Url,
    status: u16,
    /// The `Location` header, resolved against `url`.
    location: Option<Url>,
    body: String,
}

#[derive(Default)]
struct Browser {
    /// (origin, name, value), in the order first set.
    cookies: Vec<(String, String, String)>,
}

impl Browser {
    async fn get(&mut self, url: &Url) -> Page {
        self.send(url, None).await
    }

    async fn post_form(&mut self, url: &Url, fields: &[(String, String)]) -> Page {
        self.send(url, Some(fields)).await
    }

    async fn send(&mut self, url: &Url, form: Option<&[(String, String)]>) -> Page {
        let client = awc::Client::builder().disable_redirects().timeout(Duration::from_secs(20)).finish();
        let origin = url.origin().ascii_serialization();
        let cookie = self
            .cookies
            .iter()
            .filter(|(o, _, _)| *o == origin)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = match form {
            None => client.get(url.as_str()),
            Some(_) => client.post(url.as_str()),
        };
        if !cookie.is_empty() {
            request = request.insert_header(("Cookie", cookie));
        }
        let sent = match form {
            None => request.send().await,
            Some(fields) => request.send_form(&fields).await,
        };
        let mut response =
            sent.unwrap_or_else(|e| panic!("{} {url}: {e}", if form.is_some() { "POST" } else { "GET" }));
        for set in response.headers().get_all("set-cookie") {
            self.set_cookie(&origin, set.to_str().expect("Set-Cookie is ASCII"));
        }
        let location = response
            .headers()
            .get("location")
            .map(|l| url.join(l.to_str().expect("Location is ASCII")).expect("Location is a URL"));
        let body = response.body().limit(4 * 1024 * 1024).await.expect("response body");
        Page {
            url: url.clone(),
            status: response.status().as_u16(),
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn set_cookie(&mut self, origin: &str, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { return };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let expired = value.is_empty()
            || parts.map(|a| a.trim().to_ascii_lowercase()).any(|a| {
                a == "max-age=0" || a.starts_with("max-age=-") || (a.starts_with("expires=") && a.contains("1970"))
            });
        self.cookies.retain(|(o, n, _)| !(o == origin && *n == name));
        if !expired {
            self.cookies.push((origin.to_owned(), name, value));
        }
    }
}

/// One `<form>` of a page: where it posts and its successful controls (hidden, text, password,
/// checked boxes), in document order.
struct Form {
    action: Url,
    fields: Vec<(String, String)>,
}

impl Form {
    fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }
}

/// The forms of `page`, with actions resolved against its URL (no action: the page itself).
fn forms(page: &Page) -> Vec<Form> {
    let html = &page.body;
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<form").map(|i| i + from) {
        let end = lower[start..].find("</form").map_or(html.len(), |i| i + start);
        let tags = tags(&html[start..end]);
        let mut fields = Vec::new();
        let mut action = page.url.clone();
        for (tag, attrs) in &tags {
            let get = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
            match tag.as_str() {
                "form" => {
                    if let Some(a) = get("action").filter(|a| !a.is_empty()) {
                        action = page.url.join(&a).expect("form action is a URL");
                    }
                }
                "input" => {
                    let Some(name) = get("name") else { continue };
                    let kind = get("type").unwrap_or_else(|| "text".into()).to_ascii_lowercase();
                    let value = get("value");
                    match kind.as_str() {
                        "checkbox" | "radio" if get("checked").is_some() => {
                            fields.push((name, value.unwrap_or_else(|| "on".into())))
                        }
                        "checkbox" | "radio" | "submit" | "button" | "image" | "reset" | "file" => {}
                        _ => fields.push((name, value.unwrap_or_default())),
                    }
                }
                _ => {}
            }
        }
        out.push(Form { action, fields });
        from = end.max(start + 5);
    }
    out
}

/// The start tags in `html` (`form` and `input` only), with their attributes, names lowercased,
/// values unescaped.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(lt) = html[i..].find('<').map(|j| j + i) {
        let name_end = html[lt + 1..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map_or(html.len(), |j| j + lt + 1);
        let name = html[lt + 1..name_end].to_ascii_lowercase();
        i = name_end;
        if name != "form" && name != "input" {
            continue;
        }
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                break;
            }
            let key_end = html[i..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/')
                .map_or(html.len(), |j| j + i);
            let key = html[i..key_end].to_ascii_lowercase();
            i = key_end;
            let mut value = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                    let quote = bytes[i] as char;
                    let close = html[i + 1..].find(quote).map_or(html.len(), |j| j + i + 1);
                    value = unescape(&html[i + 1..close]);
                    i = (close + 1).min(html.len());
                } else {
                    let v_end =
                        html[i..].find(|c: char| c.is_ascii_whitespace() || c == '>').map_or(html.len(), |j| j + i);
                    value = unescape(&html[i..v_end]);
                    i = v_end;
                }
            }
            if key.is_empty() {
                i += 1;
            } else {
                attrs.push((key, value));
            }
        }
        out.push((name, attrs));
    }
    out
}

/// HTML character references: the named few a template escapes, and numeric ones.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|&j| j <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of a page, for error messages: tags, scripts and styles dropped, space
/// collapsed, cut at 600 characters.
fn page_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        text.push(' ');
        let lower = rest[lt..].to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            lower.find("</script>").map(|j| j + 9)
        } else if lower.starts_with("<style") {
            lower.find("</style>").map(|j| j + 8)
        } else {
            lower.find('>').map(|j| j + 1)
        };
        rest = &rest[lt + skip_to.unwrap_or(lower.len())..];
    }
    text.push_str(rest);
    let text = unescape(&text).split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(600).collect()
}

/// Whether `url` is `target` apart from the query and fragment.
fn same_endpoint(url: &Url, target: &Url) -> bool {
    url.origin() == target.origin() && url.path() == target.path()
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------------------------
// Signing in.

/// Sign in as `login` at the OIDC provider, as a browser would from `authorize_url` (the
/// provider's `/auth?…` URL the client redirected to): follows the provider's redirects, submits
/// the login form and then the consent form, with the provider's cookies. Returns the final
/// `Location`, which points at the `redirect_uri` of the authorization request and carries
/// `code`, `state` and `iss`; it is not requested. Panics if the provider shows an error page,
/// refuses the login or redirects back with an `error`.
pub(crate) async fn oidc_sign_in(authorize_url: &str, login: &str) -> String {
    try_oidc_sign_in(authorize_url, login).await.unwrap_or_else(|e| panic!("OIDC sign-in as {login}: {e}"))
}

/// [`oidc_sign_in`] that reports a refusal instead of panicking: `Err` says why (an error page
/// with its text, the login form refusing an unknown login, or a redirect to the client carrying
/// `error=…`; that redirect's URL is in the message).
pub(crate) async fn try_oidc_sign_in(authorize_url: &str, login: &str) -> Result<String, String> {
    let mut url = Url::parse(authorize_url).map_err(|e| format!("authorization URL {authorize_url}: {e}"))?;
    let redirect_uri = query_param(&url, "redirect_uri")
        .ok_or_else(|| format!("authorization URL {authorize_url} has no redirect_uri"))?;
    let redirect_uri = Url::parse(&redirect_uri).map_err(|e| format!("redirect_uri {redirect_uri}: {e}"))?;
    let mut browser = Browser::default();
    let mut form: Option<Vec<(String, String)>> = None;
    let mut login_submitted = false;
    for _ in 0..20 {
        let page = match form.take() {
            None => browser.get(&url).await,
            Some(fields) => browser.post_form(&url, &fields).await,
        };
        if let Some(location) = page.location.clone().filter(|_| (300..400).contains(&page.status)) {
            if same_endpoint(&location, &redirect_uri) {
                if query_param(&location, "error").is_some() || query_param(&location, "code").is_none() {
                    return Err(format!("the provider redirected back to the client without a code: {location}"));
                }
                return Ok(location.to_string());
            }
            url = location;
            continue;
        }
        if page.status != 200 {
            return Err(format!("the provider answered {} at {}: {}", page.status, page.url, page_text(&page.body)));
        }
        let Some(mut next) = forms(&page).into_iter().next() else {
            return Err(format!("no form at {}: {}", page.url, page_text(&page.body)));
        };
        if next.has("login") {
            if login_submitted {
                return Err(format!("the provider showed the login form again: {}", page_text(&page.body)));
            }
            login_submitted = true;
            next.set("login", login);
        }
        url = next.action;
        form = Some(next.fields);
    }
    Err(format!("no redirect back to {redirect_uri} after 20 steps from {authorize_url}"))
}

/// Sign in as `user` with `password` at the CAS server, as a browser would from `login_url`
/// (`{base}/login?service=…`): submits the login form with its hidden fields (csrfmiddlewaretoken,
/// lt, service, …) and cookies. Returns the `Location` pointing at the service with
/// `ticket=ST-…`, not requested. `Err` when no ticket comes (a wrong password, a service the
/// server does not allow), with the page's text.
///
/// django-cas-server rewrites the service URL it redirects to (query parameters sorted and
/// re-encoded, `ticket` added); validation needs the service exactly as given to `/login`.
pub(crate) async fn cas_sign_in(login_url: &str, user: &str, password: &str) -> Result<String, String> {
    let url = Url::parse(login_url).map_err(|e| format!("login URL {login_url}: {e}"))?;
    let service = query_param(&url, "service").ok_or_else(|| format!("login URL {login_url} has no service"))?;
    let service = Url::parse(&service).map_err(|e| format!("service {service}: {e}"))?;
    let mut browser = Browser::default();
    let page = browser.get(&url).await;
    if page.status != 200 {
        return Err(format!("the CAS server answered {} at {}: {}", page.status, page.url, page_text(&page.body)));
    }
    let Some(mut form) = forms(&page).into_iter().find(|f| f.has("username")) else {
        return Err(format!("no login form at {}: {}", page.url, page_text(&page.body)));
    };
    form.set("username", user);
    form.set("password", password);
    let page = browser.post_form(&form.action, &form.fields).await;
    match page.location {
        Some(location)
            if (300..400).contains(&page.status)
                && same_endpoint(&location, &service)
                && query_param(&location, "ticket").is_some_and(|t| t.starts_with("ST-")) =>
        {
            Ok(location.to_string())
        }
        Some(location) => Err(format!("the CAS server redirected to {location} without a service ticket")),
        None => Err(format!("no service ticket: the CAS server answered {}: {}", page.status, page_text(&page.body))),
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the harness against the peers alone.

mod self_tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};
    use sha2::Digest;

    use super::*;

    const CLIENT_ID: &str = "tongban";
    const CLIENT_SECRET: &str = "tongban-test-secret";

    fn accounts() -> Value {
        json!({
            "20230001": {"name": "张三", "preferred_username": "20230001", "department": "计算机学院"},
            "T1001": {"name": "李老师", "preferred_username": "T1001"},
        })
    }

    async fn discovery(issuer: &str) -> Value {
        let mut r = awc::Client::default()
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery");
        assert_eq!(r.status().as_u16(), 200);
        r.json::<Value>().limit(1 << 20).await.expect("discovery JSON")
    }

    fn endpoint(doc: &Value, name: &str) -> String {
        doc[name].as_str().unwrap_or_else(|| panic!("discovery has no {name}: {doc}")).to_owned()
    }

    fn pkce_pair() -> (String, String) {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).expect("random verifier");
        let verifier = URL_SAFE_NO_PAD.encode(raw);
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        (verifier, challenge)
    }

    fn authorize_url(doc: &Value, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
        let mut params = vec![
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("redirect_uri", redirect_uri),
        ];
        params.extend_from_slice(extra);
        Url::parse_with_params(&endpoint(doc, "authorization_endpoint"), &params)
            .expect("authorization URL")
            .to_string()
    }

    async fn redeem(doc: &Value, code: &str, redirect_uri: &str, verifier: &str) -> (u16, Value) {
        let mut r = awc::Client::default()
            .post(endpoint(doc, "token_endpoint"))
            .basic_auth(CLIENT_ID, CLIENT_SECRET)
            .send_form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .await
            .expect("token request");
        (r.status().as_u16(), r.json::<Value>().await.expect("token response JSON"))
    }

    fn jwt_part(jwt: &str, index: usize) -> Value {
        let part = jwt.split('.').nth(index).expect("a JWT has three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    }

    #[actix_web::test]
    async fn oidc_code_flow_with_pkce_yields_the_accounts_claims() {
        let redirect_uri = format!("http://127.0.0.1:{}/api/v1/auth/sso/oidc/callback", free_port());
        let op = OidcProvider::start(free_port(), CLIENT_ID, CLIENT_SECRET, &redirect_uri, accounts()).await;
        let doc = discovery(&op.issuer).await;
        assert_eq!(doc["issuer"], op.issuer.as_str());
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));

        let (verifier, challenge) = pkce_pair();
        let url = authorize_url(
            &doc,
            &redirect_uri,
            &[("state", "st-1"), ("nonce", "n-1"), ("code_challenge", &challenge), ("code_challenge_method", "S256")],
        );
        let back = Url::parse(&oidc_sign_in(&url, "20230001").await).expect("redirect URL");
        assert!(back.as_str().starts_with(&redirect_uri), "{back}");
        assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
        assert_eq!(query_param(&back, "iss").as_deref(), Some(op.issuer.as_str()));
        let code = query_param(&back, "code").expect("code");

        let (status, tokens) = redeem(&doc, &code, &redirect_uri, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let id_token = tokens["id_token"].as_str().expect("id_token");
        assert_eq!(jwt_part(id_token, 0)["alg"], "RS256");
        let claims = jwt_part(id_token, 1);
        assert_eq!(claims["iss"], op.issuer.as_str());
        assert_eq!(claims["aud"], CLIENT_ID);
        assert_eq!(claims["sub"], "20230001");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["name"], "张三");
        assert_eq!(claims["preferred_username"], "20230001");
        assert_eq!(claims["department"], "计算机学院");

        let access = tokens["access_token"].as_str().expect("access_token");
        let mut r = awc::Client::default()
            .get(endpoint(&doc, "userinfo_endpoint"))
            .bearer_auth(access)
            .send()
            .await
            .expect("userinfo");
        assert_eq!(r.status().as_u16(), 200);
        let info: Value = r.json().await.expect("userinfo JSON");
        assert_eq!(info["sub"], "20230001");
        assert_eq!(info["name"], "张三");

        // A code is good once.
        let (status, again) = redeem(&doc, &code, &redirect_uri, &verifier).await;
        assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");

        // Another account, a fresh browser.
        let (verifier, challenge) = pkce_pair();
        let url = authorize_url(
            &doc,
            &redirect_uri,
            &[("state", "st-2"), ("code_challenge", &challenge), ("code_challenge_method", "S256")],
        );
        let back = Url::parse(&oidc_sign_in(&url, "T1001").await).expect("redirect URL");
        let (status, tokens) = redeem(&doc, &query_param(&back, "code").expect("code"), &redirect_uri, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let claims = jwt_part(tokens["id_token"].as_str().expect("id_token"), 1);
        assert_eq!((claims["sub"].as_str(), claims["name"].as_str()), (Some("T1001"), Some("李老师")));
    }

    #[actix_web::test]
    async fn oidc_refuses_requests_without_s256_pkce_wrong_verifiers_and_unknown_logins() {
        let redirect_uri = format!("http://127.0.0.1:{}/callback", free_port());
        let op = OidcProvider::start(free_port(), CLIENT_ID, CLIENT_SECRET, &redirect_uri, accounts()).await;
        let doc = discovery(&op.issuer).await;
        let (verifier, challenge) = pkce_pair();

        let missing = authorize_url(&doc, &redirect_uri, &[("state", "s")]);
        let e = try_oidc_sign_in(&missing, "20230001").await.expect_err("no code_challenge");
        assert!(e.contains("error=invalid_request") && e.contains("requires+PKCE"), "{e}");

        let plain = authorize_url(
            &doc,
            &redirect_uri,
            &[("state", "s"), ("code_challenge", &verifier), ("code_challenge_method", "plain")],
        );
        let e = try_oidc_sign_in(&plain, "20230001").await.expect_err("plain PKCE");
        assert!(e.contains("error=invalid_request"), "{e}");

        let s256 = authorize_url(
            &doc,
            &redirect_uri,
            &[("state", "s"), ("code_challenge", &challenge), ("code_challenge_method", "S256")],
        );
        let e = try_oidc_sign_in(&s256, "nobody").await.expect_err("unknown login");
        assert!(e.contains("401") && e.contains("Unknown login"), "{e}");

        let back = Url::parse(&oidc_sign_in(&s256, "20230001").await).expect("redirect URL");
        let code = query_param(&back, "code").expect("code");
        let (wrong, _) = pkce_pair();
        let (status, body) = redeem(&doc, &code, &redirect_uri, &wrong).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

        // A client secret that is not the client's is refused too.
        let mut r = awc::Client::default()
            .post(endpoint(&doc, "token_endpoint"))
            .basic_auth(CLIENT_ID, "not-the-secret")
            .send_form(&[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", redirect_uri.as_str())])
            .await
            .expect("token request");
        assert_eq!(r.status().as_u16(), 401);
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_client");
    }

    async fn service_validate(cas: &CasServer, service: &str, ticket: &str) -> String {
        let url = Url::parse_with_params(
            &format!("{}/p3/serviceValidate", cas.base_url),
            &[("service", service), ("ticket", ticket)],
        )
        .expect("validate URL");
        let mut r = awc::Client::default().get(url.as_str()).send().await.expect("serviceValidate");
        assert_eq!(r.status().as_u16(), 200);
        String::from_utf8(r.body().await.expect("body").to_vec()).expect("UTF-8")
    }

    #[actix_web::test]
    async fn cas_tickets_validate_once_with_the_users_attributes() {
        let cas = CasServer::start(
            "20230001",
            "correct horse",
            json!({"name": "张三", "email": "zhangsan@example.edu", "groups": ["students", "cs2023"]}),
        )
        .await;
        let service = format!("http://127.0.0.1:{}/api/v1/auth/sso/cas/callback?next=%2Fhall", free_port());
        let login =
            Url::parse_with_params(&format!("{}/login", cas.base_url), &[("service", &service)]).expect("login URL");

        let back = Url::parse(&cas_sign_in(login.as_str(), "20230001", "correct horse").await.expect("sign in"))
            .expect("redirect URL");
        assert!(back.as_str().starts_with(service.split('?').next().expect("path")), "{back}");
        assert_eq!(query_param(&back, "next").as_deref(), Some("/hall"));
        let ticket = query_param(&back, "ticket").expect("ticket");
        assert!(ticket.starts_with("ST-"), "{ticket}");

        let xml = service_validate(&cas, &service, &ticket).await;
        assert!(xml.contains("<cas:authenticationSuccess>"), "{xml}");
        assert!(xml.contains("<cas:user>20230001</cas:user>"), "{xml}");
        assert!(xml.contains("<cas:attributes>"), "{xml}");
        assert!(xml.contains("<cas:name>张三</cas:name>"), "{xml}");
        assert!(xml.contains("<cas:email>zhangsan@example.edu</cas:email>"), "{xml}");
        assert!(
            xml.contains("<cas:groups>students</cas:groups>") && xml.contains("<cas:groups>cs2023</cas:groups>"),
            "{xml}"
        );

        let again = service_validate(&cas, &service, &ticket).await;
        assert!(again.contains("<cas:authenticationFailure code=\"INVALID_TICKET\""), "{again}");

        // The service must be the one given to /login, byte for byte; a mismatch burns the ticket.
        let back = Url::parse(&cas_sign_in(login.as_str(), "20230001", "correct horse").await.expect("sign in"))
            .expect("redirect URL");
        let ticket = query_param(&back, "ticket").expect("ticket");
        let other = service_validate(&cas, &format!("{service}&x=1"), &ticket).await;
        assert!(other.contains("code=\"INVALID_SERVICE\""), "{other}");
        let after = service_validate(&cas, &service, &ticket).await;
        assert!(after.contains("code=\"INVALID_TICKET\""), "{after}");
    }

    #[actix_web::test]
    async fn cas_gives_no_ticket_for_a_wrong_password_or_a_foreign_service() {
        let cas = CasServer::start("20230001", "correct horse", json!({"name": "张三"})).await;
        let service = format!("http://127.0.0.1:{}/callback", free_port());
        let login =
            Url::parse_with_params(&format!("{}/login", cas.base_url), &[("service", &service)]).expect("login URL");
        let e = cas_sign_in(login.as_str(), "20230001", "battery staple").await.expect_err("wrong password");
        assert!(e.contains("no service ticket"), "{e}");
        let e = cas_sign_in(login.as_str(), "someone", "correct horse").await.expect_err("wrong user");
        assert!(e.contains("no service ticket"), "{e}");

        let foreign =
            Url::parse_with_params(&format!("{}/login", cas.base_url), &[("service", "http://example.com/cb")])
                .expect("login URL");
        let e = cas_sign_in(foreign.as_str(), "20230001", "correct horse").await.expect_err("foreign service");
        assert!(e.contains("not allowed"), "{e}");
    }
}
