//! Campus single sign-on: OpenID Connect (authorization code with PKCE S256) and CAS 3.0
//! (`/p3/serviceValidate` with attributes).
//!
//! The browser leaves for the campus identity provider from `GET /auth/sso/{provider}/login` and
//! comes back to `…/callback`. The callback checks the round trip (a single-use state with a
//! ten-minute life; for OpenID the nonce and the PKCE verifier; for CAS the service ticket
//! validated by the server itself), finds the account by the 学号 or 工号 the provider vouches for,
//! and sends the browser to the web app with a single-use code that is good for one minute; the
//! app exchanges it for tokens (`POST /auth/sso/exchange`). Tokens never travel in a URL. Failures
//! send the browser to the web app's sign-in page with a stable `sso_error` code and are audited.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditCtx, Entry};
use crate::auth::service::start_session;
use crate::auth::tokens::random_bytes;
use crate::config::{CasSettings, OidcSettings};
use crate::dto::auth::{SsoProvider, TokenResponse};
use crate::entity::{sso_code, sso_state, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::time::now;

/// How long a round trip to the provider may take.
const STATE_TTL_MINUTES: i64 = 10;
/// How long the web app has to exchange its code.
const CODE_TTL_SECONDS: i64 = 60;

/// Why a campus sign-in failed, as the web app's sign-in page shows it (`?sso_error=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoError {
    /// The round trip is unknown, used or too old (a replayed or forged callback).
    StateInvalid,
    /// The provider reported an error or refused the sign-in.
    ProviderError,
    /// The provider could not be reached or answered nonsense.
    ProviderUnreachable,
    /// The identity's token or ticket did not check out.
    TokenInvalid,
    /// No account carries the 学号/工号 the provider vouched for.
    AccountNotFound,
    /// The account is disabled.
    AccountDisabled,
}

impl SsoError {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            SsoError::StateInvalid => "state_invalid",
            SsoError::ProviderError => "provider_error",
            SsoError::ProviderUnreachable => "provider_unreachable",
            SsoError::TokenInvalid => "token_invalid",
            SsoError::AccountNotFound => "account_not_found",
            SsoError::AccountDisabled => "account_disabled",
        }
    }
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// The providers configured, for the sign-in page.
pub fn providers(st: &AppState) -> Vec<SsoProvider> {
    let mut out = Vec::new();
    if let Some(o) = &st.settings.sso.oidc {
        out.push(SsoProvider {
            id: "oidc".into(),
            name: o.name.clone(),
            login_url: "/api/v1/auth/sso/oidc/login".into(),
        });
    }
    if let Some(c) = &st.settings.sso.cas {
        out.push(SsoProvider {
            id: "cas".into(),
            name: c.name.clone(),
            login_url: "/api/v1/auth/sso/cas/login".into(),
        });
    }
    out
}

fn b64_random<const N: usize>() -> AppResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<N>().map_err(AppError::Internal)?))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Where the web app goes after signing in: a path of this site only (no scheme, no host, no
/// `//` or `\` tricks), `/` otherwise.
pub fn safe_return_to(r: Option<&str>) -> String {
    match r.map(str::trim) {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 512 =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn public(st: &AppState, path: &str) -> String {
    format!("{}{path}", st.settings.public_url.trim_end_matches('/'))
}

fn misconfigured() -> AppError {
    AppError::detail(
        ErrorCode::ServiceUnavailable,
        "统一身份认证服务配置有误",
        "The campus sign-in service is misconfigured",
    )
}

fn oidc_settings(st: &AppState) -> AppResult<&OidcSettings> {
    st.settings.sso.oidc.as_ref().ok_or_else(AppError::not_found)
}

fn cas_settings(st: &AppState) -> AppResult<&CasSettings> {
    st.settings.sso.cas.as_ref().ok_or_else(AppError::not_found)
}

fn oidc_redirect_uri(st: &AppState, o: &OidcSettings) -> String {
    o.redirect_uri.clone().unwrap_or_else(|| public(st, "/api/v1/auth/sso/oidc/callback"))
}

fn cas_service(st: &AppState, state: &str) -> String {
    let mut u = url::Url::parse(&public(st, "/api/v1/auth/sso/cas/callback"))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/api/v1/auth/sso/cas/callback").expect("a valid URL"));
    u.query_pairs_mut().append_pair("state", state);
    u.to_string()
}

/// What the OpenID provider's discovery document says.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, SsoError> {
    let r = http().get(url).send().await.map_err(|_| SsoError::ProviderUnreachable)?;
    if !r.status().is_success() {
        return Err(SsoError::ProviderUnreachable);
    }
    let body = r.bytes().await.map_err(|_| SsoError::ProviderUnreachable)?;
    serde_json::from_slice(&body).map_err(|_| SsoError::ProviderUnreachable)
}

/// How long a discovery document or key set is used before it is fetched again.
const PROVIDER_CACHE_TTL: StdDuration = StdDuration::from_secs(3600);
/// The least time between two fetches of a key set for a `kid` it lacks (the provider rotated its
/// keys); a forged token with made-up `kid`s cannot make us hammer the provider.
const JWKS_REFETCH_AFTER: StdDuration = StdDuration::from_secs(60);

/// Documents fetched from identity providers, by URL, with when they were fetched.
struct FetchCache<V> {
    map: Mutex<HashMap<String, (Instant, Arc<V>)>>,
}

impl<V> FetchCache<V> {
    fn new() -> Self {
        FetchCache { map: Mutex::new(HashMap::new()) }
    }

    /// The copy of `key` and its age at `now`, if there is one.
    fn get(&self, key: &str, now: Instant) -> Option<(Arc<V>, StdDuration)> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map(|(at, v)| (v.clone(), now.saturating_duration_since(*at)))
    }

    fn put(&self, key: &str, v: V, now: Instant) -> Arc<V> {
        let v = Arc::new(v);
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(key.to_owned(), (now, v.clone()));
        v
    }
}

fn discovery_cache() -> &'static FetchCache<Discovery> {
    static C: OnceLock<FetchCache<Discovery>> = OnceLock::new();
    C.get_or_init(FetchCache::new)
}

fn jwks_cache() -> &'static FetchCache<JwkSet> {
    static C: OnceLock<FetchCache<JwkSet>> = OnceLock::new();
    C.get_or_init(FetchCache::new)
}

/// The provider's discovery document, fetched at most once an hour.
async fn discover(o: &OidcSettings) -> Result<Arc<Discovery>, SsoError> {
    let url = format!("{}/.well-known/openid-configuration", o.issuer.trim_end_matches('/'));
    if let Some((d, age)) = discovery_cache().get(&url, Instant::now())
        && age < PROVIDER_CACHE_TTL
    {
        return Ok(d);
    }
    let d: Discovery = get_json(&url).await?;
    // OpenID Connect Discovery §4.3: the issuer in the document is the one configured.
    if d.issuer.trim_end_matches('/') != o.issuer.trim_end_matches('/') {
        return Err(SsoError::ProviderUnreachable);
    }
    Ok(discovery_cache().put(&url, d, Instant::now()))
}

/// What to do with a cached key set for a token's `kid`.
#[derive(Debug, PartialEq, Eq)]
enum KeyLookup {
    /// Use the cached set.
    Cached,
    /// Fetch the set again (none cached, too old, or lacking the key and old enough to refetch).
    Refetch,
}

fn key_lookup(cached: Option<(&JwkSet, StdDuration)>, kid: Option<&str>) -> KeyLookup {
    match cached {
        None => KeyLookup::Refetch,
        Some((_, age)) if age >= PROVIDER_CACHE_TTL => KeyLookup::Refetch,
        Some((set, age)) if pick_key(set, kid).is_none() && age >= JWKS_REFETCH_AFTER => KeyLookup::Refetch,
        Some(_) => KeyLookup::Cached,
    }
}

fn pick_key<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

/// The provider's key set, from the cache unless it is old or lacks the token's key.
async fn key_set(jwks_uri: &str, kid: Option<&str>) -> Result<Arc<JwkSet>, SsoError> {
    let cached = jwks_cache().get(jwks_uri, Instant::now());
    match key_lookup(cached.as_ref().map(|(s, age)| (&**s, *age)), kid) {
        KeyLookup::Cached => Ok(cached.map(|(s, _)| s).ok_or(SsoError::ProviderUnreachable)?),
        KeyLookup::Refetch => {
            let set: JwkSet = get_json(jwks_uri).await?;
            Ok(jwks_cache().put(jwks_uri, set, Instant::now()))
        }
    }
}

/// Start a campus sign-in: the URL to send the browser to.
pub async fn begin(st: &AppState, provider: &str, return_to: Option<&str>) -> AppResult<String> {
    let state = b64_random::<32>()?;
    let (nonce, verifier) = (b64_random::<32>()?, b64_random::<32>()?);
    let target = match provider {
        "oidc" => {
            let o = oidc_settings(st)?;
            let d = discover(o).await.map_err(|_| {
                AppError::detail(
                    ErrorCode::ServiceUnavailable,
                    "统一身份认证服务暂时无法访问",
                    "The campus sign-in service cannot be reached",
                )
            })?;
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            let mut u = url::Url::parse(&d.authorization_endpoint).map_err(|_| misconfigured())?;
            u.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", &o.client_id)
                .append_pair("redirect_uri", &oidc_redirect_uri(st, o))
                .append_pair("scope", &o.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            u.to_string()
        }
        "cas" => {
            let c = cas_settings(st)?;
            let mut u =
                url::Url::parse(&format!("{}/login", c.base_url.trim_end_matches('/'))).map_err(|_| misconfigured())?;
            u.query_pairs_mut().append_pair("service", &cas_service(st, &state));
            u.to_string()
        }
        _ => return Err(AppError::not_found()),
    };
    let t = now();
    let txn = st.db.write().await?;
    // Round trips never finished are dropped by housekeeping once expired.
    sso_state::ActiveModel {
        id: Set(sha256_hex(&state)),
        provider: Set(provider.to_owned()),
        nonce: Set(nonce),
        code_verifier: Set(verifier),
        return_to: Set(safe_return_to(return_to)),
        created_at: Set(t),
        expires_at: Set(t + Duration::minutes(STATE_TTL_MINUTES)),
        used_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(target)
}

/// Take the round trip of `state` for `provider`, once.
async fn take_state(st: &AppState, provider: &str, state: Option<&str>) -> AppResult<Option<sso_state::Model>> {
    let Some(state) = state.filter(|s| !s.is_empty() && s.len() <= 256) else { return Ok(None) };
    let id = sha256_hex(state);
    let t = now();
    let txn = st.db.write().await?;
    let Some(row) = sso_state::Entity::find_by_id(id.clone()).one(&*txn).await? else { return Ok(None) };
    if row.provider != provider || row.used_at.is_some() || row.expires_at <= t {
        return Ok(None);
    }
    let claimed = sso_state::Entity::update_many()
        .col_expr(sso_state::Column::UsedAt, Expr::value(t))
        .filter(sso_state::Column::Id.eq(id))
        .filter(sso_state::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok((claimed.rows_affected == 1).then_some(row))
}

/// The query of the callback from the OpenID provider.
#[derive(Debug, Default, Deserialize)]
pub struct OidcCallback {
    /// Authorization code.
    pub code: Option<String>,
    /// Our state.
    pub state: Option<String>,
    /// Error reported by the provider.
    pub error: Option<String>,
}

/// The browser came back from the OpenID provider: where to send it next.
pub async fn oidc_callback(st: &AppState, ctx: &AuditCtx, q: &OidcCallback) -> AppResult<String> {
    let Some(row) = take_state(st, "oidc", q.state.as_deref()).await? else {
        return failed(st, ctx, "oidc", SsoError::StateInvalid, None).await;
    };
    if q.error.is_some() {
        return failed(st, ctx, "oidc", SsoError::ProviderError, None).await;
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return failed(st, ctx, "oidc", SsoError::ProviderError, None).await;
    };
    let o = oidc_settings(st)?;
    let subject = match oidc_identity(st, o, code, &row).await {
        Ok(s) => s,
        Err(e) => return failed(st, ctx, "oidc", e, None).await,
    };
    finish(st, ctx, "oidc", &subject, &row.return_to).await
}

#[derive(Debug, Deserialize)]
struct TokenEndpointResponse {
    id_token: Option<String>,
}

/// Redeem the code (with the PKCE verifier and the client secret), check the ID token, and read
/// the 学号/工号 claim.
async fn oidc_identity(
    st: &AppState,
    o: &OidcSettings,
    code: &str,
    row: &sso_state::Model,
) -> Result<String, SsoError> {
    let d = discover(o).await?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &oidc_redirect_uri(st, o))
        .append_pair("code_verifier", &row.code_verifier)
        .finish();
    // RFC 6749 §2.3.1: id and secret form-encoded before Basic.
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        enc(&o.client_id),
        enc(o.client_secret.expose_secret())
    ));
    let r = http()
        .post(&d.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("authorization", format!("Basic {basic}"))
        .body(body)
        .send()
        .await
        .map_err(|_| SsoError::ProviderUnreachable)?;
    let status = r.status();
    let bytes = r.bytes().await.map_err(|_| SsoError::ProviderUnreachable)?;
    if !status.is_success() {
        return Err(SsoError::ProviderError);
    }
    let tr: TokenEndpointResponse = serde_json::from_slice(&bytes).map_err(|_| SsoError::ProviderError)?;
    let id_token = tr.id_token.ok_or(SsoError::TokenInvalid)?;

    let header = jsonwebtoken::decode_header(&id_token).map_err(|_| SsoError::TokenInvalid)?;
    // Asymmetric signatures only: never HS* (a key the client knows) nor `none`.
    let alg = header.alg;
    if !matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Err(SsoError::TokenInvalid);
    }
    let jwks = key_set(&d.jwks_uri, header.kid.as_deref()).await?;
    let jwk = pick_key(&jwks, header.kid.as_deref()).ok_or(SsoError::TokenInvalid)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| SsoError::TokenInvalid)?;
    let mut v = Validation::new(alg);
    v.set_issuer(&[d.issuer.as_str()]);
    v.set_audience(&[o.client_id.as_str()]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v.leeway = 60;
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(&id_token, &key, &v).map_err(|_| SsoError::TokenInvalid)?.claims;
    if claims.get("nonce").and_then(|n| n.as_str()) != Some(row.nonce.as_str()) {
        return Err(SsoError::TokenInvalid);
    }
    match claims.get(&o.link_claim) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(SsoError::AccountNotFound),
    }
}

/// The query of the callback from the CAS server.
#[derive(Debug, Default, Deserialize)]
pub struct CasCallback {
    /// Service ticket.
    pub ticket: Option<String>,
    /// Our state (part of the service URL).
    pub state: Option<String>,
}

/// The browser came back from the CAS server: where to send it next.
pub async fn cas_callback(st: &AppState, ctx: &AuditCtx, q: &CasCallback) -> AppResult<String> {
    let Some(row) = take_state(st, "cas", q.state.as_deref()).await? else {
        return failed(st, ctx, "cas", SsoError::StateInvalid, None).await;
    };
    let Some(ticket) = q.ticket.as_deref().filter(|t| !t.is_empty() && t.len() <= 1024) else {
        return failed(st, ctx, "cas", SsoError::ProviderError, None).await;
    };
    let c = cas_settings(st)?;
    let service = cas_service(st, q.state.as_deref().unwrap_or_default());
    let subject = match cas_identity(c, ticket, &service).await {
        Ok(s) => s,
        Err(e) => return failed(st, ctx, "cas", e, None).await,
    };
    finish(st, ctx, "cas", &subject, &row.return_to).await
}

async fn cas_identity(c: &CasSettings, ticket: &str, service: &str) -> Result<String, SsoError> {
    let mut u = url::Url::parse(&format!("{}/p3/serviceValidate", c.base_url.trim_end_matches('/')))
        .map_err(|_| SsoError::ProviderUnreachable)?;
    u.query_pairs_mut().append_pair("service", service).append_pair("ticket", ticket);
    let r = http().get(u.as_str()).send().await.map_err(|_| SsoError::ProviderUnreachable)?;
    if !r.status().is_success() {
        return Err(SsoError::ProviderUnreachable);
    }
    let body = r.bytes().await.map_err(|_| SsoError::ProviderUnreachable)?;
    let v = parse_service_response(&body).map_err(|_| SsoError::ProviderUnreachable)?;
    let Some(user) = v.user else { return Err(SsoError::TokenInvalid) };
    match &c.link_attribute {
        None => Ok(user),
        Some(attr) => v
            .attributes
            .into_iter()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
            .ok_or(SsoError::AccountNotFound),
    }
}

/// A CAS 3.0 service response, as far as sign-in needs it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServiceValidation {
    /// `cas:user` on success.
    pub user: Option<String>,
    /// `cas:attributes` children (local name, text), in order; multi-valued attributes repeat.
    pub attributes: Vec<(String, String)>,
    /// `cas:authenticationFailure`'s `code` on failure.
    pub failure: Option<String>,
}

/// Why a service response could not be read.
#[derive(Debug)]
pub struct NotAServiceResponse(pub String);

/// Read a `cas:serviceResponse` document (DOCTYPEs refused).
pub fn parse_service_response(xml: &[u8]) -> Result<ServiceValidation, NotAServiceResponse> {
    use quick_xml::events::Event;
    let bad = |e: &dyn std::fmt::Display| NotAServiceResponse(e.to_string());
    let text = std::str::from_utf8(xml).map_err(|e| bad(&e))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = ServiceValidation::default();
    // Open elements (local names) and the text gathered in each.
    let mut path: Vec<(String, String)> = Vec::new();
    let mut seen_response = false;
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                if path.is_empty() && name == "serviceResponse" {
                    seen_response = true;
                }
                if name == "authenticationFailure" {
                    let code = e.attributes().flatten().find(|a| a.key.local_name().as_ref() == "code").and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned())
                    });
                    out.failure = Some(code.unwrap_or_else(|| "UNKNOWN".into()));
                }
                path.push((name, String::new()));
            }
            Event::Empty(e) if e.local_name().as_ref() == "authenticationFailure" => {
                out.failure = Some("UNKNOWN".into());
            }
            Event::Text(t) => {
                if let Some((_, buf)) = path.last_mut() {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some((_, buf)) = path.last_mut() {
                    buf.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| bad(&e))? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| NotAServiceResponse(format!("unknown entity &{};", &*r)))?
                        .to_owned(),
                };
                if let Some((_, buf)) = path.last_mut() {
                    buf.push_str(&resolved);
                }
            }
            Event::End(_) => {
                let names: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
                let value = path.last().map(|(_, t)| t.trim().to_owned()).unwrap_or_default();
                match names.as_slice() {
                    ["serviceResponse", "authenticationSuccess", "user"] => out.user = Some(value),
                    ["serviceResponse", "authenticationSuccess", "attributes", attr] => {
                        out.attributes.push(((*attr).to_owned(), value));
                    }
                    _ => {}
                }
                path.pop();
            }
            Event::DocType(_) => return Err(NotAServiceResponse("DOCTYPE declarations are not accepted".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_response || !path.is_empty() {
        return Err(NotAServiceResponse("not a cas:serviceResponse document".into()));
    }
    if out.failure.is_some() {
        out.user = None;
        out.attributes.clear();
    }
    Ok(out)
}

/// The account the provider vouched for: by 学号, then by 工号.
async fn linked_account(st: &AppState, subject: &str) -> AppResult<Option<user::Model>> {
    let db = st.db.conn();
    if let Some(u) = user::Entity::find().filter(user::Column::StudentNo.eq(subject)).one(db).await? {
        return Ok(Some(u));
    }
    Ok(user::Entity::find().filter(user::Column::StaffNo.eq(subject)).one(db).await?)
}

async fn finish(st: &AppState, ctx: &AuditCtx, provider: &str, subject: &str, return_to: &str) -> AppResult<String> {
    let Some(u) = linked_account(st, subject).await? else {
        return failed(st, ctx, provider, SsoError::AccountNotFound, Some(subject)).await;
    };
    if u.status != "active" {
        return failed(st, ctx, provider, SsoError::AccountDisabled, Some(subject)).await;
    }
    let code = b64_random::<32>()?;
    let t = now();
    let txn = st.db.write().await?;
    sso_code::ActiveModel {
        id: Set(sha256_hex(&code)),
        user_id: Set(u.id),
        method: Set(provider.to_owned()),
        created_at: Set(t),
        expires_at: Set(t + Duration::seconds(CODE_TTL_SECONDS)),
        used_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    audit::record(
        &*txn,
        &ctx.as_user(u.id, &u.username),
        Entry::new("auth.sso_callback", "user", u.id).after(&serde_json::json!({ "provider": provider })),
    )
    .await?;
    txn.commit().await?;
    let mut to = url::Url::parse(&public(st, "/login/sso")).map_err(|e| AppError::Internal(e.into()))?;
    to.query_pairs_mut().append_pair("code", &code).append_pair("return_to", return_to);
    Ok(to.to_string())
}

async fn failed(
    st: &AppState,
    ctx: &AuditCtx,
    provider: &str,
    why: SsoError,
    subject: Option<&str>,
) -> AppResult<String> {
    let txn = st.db.write().await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("auth.sso_callback", "sso", provider)
            .after(&serde_json::json!({ "error": why.as_str(), "subject": subject }))
            .failed(),
    )
    .await?;
    txn.commit().await?;
    let mut to = url::Url::parse(&public(st, "/login")).map_err(|e| AppError::Internal(e.into()))?;
    to.query_pairs_mut().append_pair("sso_error", why.as_str());
    Ok(to.to_string())
}

/// The web app exchanges its single-use code for tokens.
pub async fn exchange(st: &AppState, ctx: &AuditCtx, code: &str, user_agent: Option<&str>) -> AppResult<TokenResponse> {
    let id = sha256_hex(code);
    let t = now();
    let txn = st.db.write().await?;
    let row = sso_code::Entity::find_by_id(id.clone())
        .one(&*txn)
        .await?
        .filter(|r| r.used_at.is_none() && r.expires_at > t)
        .ok_or_else(|| AppError::code(ErrorCode::SsoCodeInvalid))?;
    let claimed = sso_code::Entity::update_many()
        .col_expr(sso_code::Column::UsedAt, Expr::value(t))
        .filter(sso_code::Column::Id.eq(id))
        .filter(sso_code::Column::UsedAt.is_null())
        .exec(&*txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::code(ErrorCode::SsoCodeInvalid));
    }
    let u = user::Entity::find_by_id(row.user_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::SsoCodeInvalid))?;
    if u.status != "active" {
        return Err(AppError::code(ErrorCode::AccountDisabled));
    }
    let ip = ctx.ip.clone().unwrap_or_default();
    let tokens = start_session(&*txn, st, &u, &row.method, vec![row.method.clone()], &ip, user_agent).await?;
    audit::record(
        &*txn,
        &ctx.as_user(u.id, &u.username),
        Entry::new("auth.login", "user", u.id).after(&serde_json::json!({ "method": row.method })),
    )
    .await?;
    txn.commit().await?;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_set_of(kids: &[&str]) -> JwkSet {
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| {
                serde_json::json!({
                    "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "keys": keys })).expect("a key set")
    }

    #[test]
    fn provider_keys_are_cached_and_refetched_for_rotation() {
        let set = key_set_of(&["k1"]);
        let young = StdDuration::from_secs(5);
        let settled = JWKS_REFETCH_AFTER + StdDuration::from_secs(1);
        assert_eq!(key_lookup(None, Some("k1")), KeyLookup::Refetch, "nothing cached yet");
        assert_eq!(key_lookup(Some((&set, young)), Some("k1")), KeyLookup::Cached);
        assert_eq!(key_lookup(Some((&set, settled)), Some("k1")), KeyLookup::Cached, "known key, set fresh");
        assert_eq!(key_lookup(Some((&set, PROVIDER_CACHE_TTL)), Some("k1")), KeyLookup::Refetch, "set too old");
        // A key the set lacks: fetched again, but not more than once a minute.
        assert_eq!(key_lookup(Some((&set, settled)), Some("k2")), KeyLookup::Refetch);
        assert_eq!(key_lookup(Some((&set, young)), Some("k2")), KeyLookup::Cached);
        // Without a kid only a set of one key will do.
        assert!(pick_key(&set, None).is_some());
        assert!(pick_key(&key_set_of(&["a", "b"]), None).is_none());
        assert_eq!(key_lookup(Some((&key_set_of(&["a", "b"]), settled)), None), KeyLookup::Refetch);
    }

    #[test]
    fn fetched_documents_age() {
        let c = FetchCache::<u32>::new();
        let t0 = Instant::now();
        assert!(c.get("u", t0).is_none());
        c.put("u", 7, t0);
        let (v, age) = c.get("u", t0 + StdDuration::from_secs(90)).expect("cached");
        assert_eq!((*v, age), (7, StdDuration::from_secs(90)));
        assert!(c.get("other", t0).is_none(), "by URL");
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_to(Some("/affairs/1?tab=a")), "/affairs/1?tab=a");
        for bad in ["https://evil.example", "//evil.example", "/\\evil.example", "evil", "", "/a\nb"] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }

    #[test]
    fn cas_success_with_attributes() {
        let xml = br#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
          <cas:authenticationSuccess>
            <cas:user>zhangsan</cas:user>
            <cas:attributes>
              <cas:studentNo>20230001</cas:studentNo>
              <cas:name>&#24352;&#19977;</cas:name>
              <cas:memberOf>a</cas:memberOf><cas:memberOf>b</cas:memberOf>
            </cas:attributes>
          </cas:authenticationSuccess>
        </cas:serviceResponse>"#;
        let v = parse_service_response(xml).expect("parse");
        assert_eq!(v.user.as_deref(), Some("zhangsan"));
        assert_eq!(v.failure, None);
        assert_eq!(
            v.attributes,
            [("studentNo", "20230001"), ("name", "张三"), ("memberOf", "a"), ("memberOf", "b")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn cas_failure_and_garbage() {
        let xml = br#"<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
          <cas:authenticationFailure code="INVALID_TICKET">Ticket ST-1 not recognized</cas:authenticationFailure>
        </cas:serviceResponse>"#;
        let v = parse_service_response(xml).expect("parse");
        assert_eq!(v.user, None);
        assert_eq!(v.failure.as_deref(), Some("INVALID_TICKET"));
        assert!(parse_service_response(b"<html>oops</html>").is_err());
        assert!(parse_service_response(b"not xml at all <<<").is_err());
    }
}
