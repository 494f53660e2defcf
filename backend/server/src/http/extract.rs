//! Extractors: the signed-in caller, the request context, and validated bodies and queries.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::audit::AuditCtx;
use crate::auth::principal;
use crate::config::AdminTotp;
use crate::error::{AppError, ErrorCode, FieldError, Msg};
use crate::policy::Principal;
use crate::state::AppState;

fn state(req: &HttpRequest) -> Result<&AppState, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))
}

/// The client address: the peer, or the forwarded address when the peer is a trusted proxy.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr().map(|a| a.ip().to_string());
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| peer.as_ref().is_some_and(|p| s.settings.trusted_proxies.iter().any(|t| t == p)));
    if trusted
        && let Some(fwd) = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(last) = fwd.rsplit(',').next().map(str::trim).filter(|s| s.parse::<std::net::IpAddr>().is_ok())
    {
        return Some(last.to_owned());
    }
    peer
}

fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<tracing_actix_web::RequestId>().map(|r| r.to_string())
}

/// Where a request comes from, for audit records of anonymous requests.
pub struct ReqCtx(pub AuditCtx);

impl FromRequest for ReqCtx {
    type Error = AppError;
    type Future = std::future::Ready<Result<ReqCtx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(ReqCtx(AuditCtx {
            actor_id: None,
            actor_name: None,
            ip: client_ip(req),
            request_id: request_id(req),
        })))
    }
}

/// The claims of this request's bearer token, verified by the rate-limit middleware (which needs
/// the user before any handler runs).
pub(crate) struct VerifiedToken(pub(crate) crate::auth::tokens::Claims);

/// The signed-in caller and the audit context acting as them. Answers 401 without a valid token.
pub struct Auth {
    /// Who is calling and what they may do.
    pub principal: Principal,
    /// Audit context with the caller as actor.
    pub ctx: AuditCtx,
    /// The sign-in session of the token (none for API clients' tokens).
    pub session: Option<uuid::Uuid>,
    /// How the session was authenticated (`pwd`, `otp`, `oidc`, `cas`).
    pub amr: Vec<String>,
}

impl FromRequest for Auth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Auth, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let st = state(&req)?.clone();
            let header = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .ok_or_else(|| AppError::code(ErrorCode::Unauthenticated))?;
            let value = header.to_str().map_err(|_| AppError::code(ErrorCode::TokenInvalid))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| AppError::code(ErrorCode::Unauthenticated))?;
            let verified = req.extensions_mut().remove::<VerifiedToken>();
            let claims = match verified {
                Some(VerifiedToken(c)) => c,
                None => st.keys.verify(token)?,
            };
            // One query: the session still open, the account active in the token's epoch, and
            // whether the cached grants still hold.
            let mut principal =
                principal::load(st.db.conn(), &st.principals, claims.sub, claims.ep, claims.sid).await?;
            // An API client's token carries only the permissions it asked for.
            if let Some(scp) = &claims.scp {
                principal.grants.retain(|g| scp.iter().any(|s| s == g.permission.as_str()));
            } else if st.settings.sso.admin_totp == AdminTotp::Required && !claims.amr.iter().any(|m| m == "otp") {
                // Administrators' permissions need a sign-in with the second factor (MLPS 2.0
                // level 3); without it the session keeps the rest and may enrol.
                principal.without_admin_permissions();
            }
            let ctx = AuditCtx {
                actor_id: Some(principal.user_id),
                actor_name: Some(principal.username.clone()),
                ip: client_ip(&req),
                request_id: request_id(&req),
            };
            Ok(Auth { principal, ctx, session: claims.sid, amr: claims.amr })
        })
    }
}

/// The caller when a token is sent, `None` for anonymous requests, for public endpoints that
/// personalise when signed in. A token that is sent but invalid or expired still answers 401, so a
/// client learns to refresh instead of silently getting the anonymous view.
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequest for MaybeAuth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<MaybeAuth, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().get(actix_web::http::header::AUTHORIZATION).is_none() {
            return Box::pin(std::future::ready(Ok(MaybeAuth(None))));
        }
        let fut = Auth::from_request(req, payload);
        Box::pin(async move { Ok(MaybeAuth(Some(fut.await?))) })
    }
}

/// Flatten validator errors into field errors with messages in both languages.
pub fn field_errors(errs: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten("", errs, &mut out);
    out
}

fn flatten(prefix: &str, errs: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errs.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError::new(&path, e.code.to_string(), message(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn message(e: &validator::ValidationError) -> Msg {
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => {
                Msg::new(format!("长度须在 {min} 到 {max} 之间"), format!("Length must be {min}–{max}"))
            }
            (Some(min), None) => Msg::new(format!("长度至少为 {min}"), format!("Length must be at least {min}")),
            (None, Some(max)) => Msg::new(format!("长度不能超过 {max}"), format!("Length must be at most {max}")),
            _ => Msg::new("长度不符合要求", "Invalid length"),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => {
                Msg::new(format!("取值须在 {min} 到 {max} 之间"), format!("Must be between {min} and {max}"))
            }
            _ => Msg::new("取值超出范围", "Out of range"),
        },
        "email" => Msg::new("邮箱格式不正确", "Not a valid e-mail address"),
        "username_format" => {
            Msg::new("用户名须为 2–64 位小写字母、数字或 _ . -", "2–64 lower-case letters, digits, _ . or -")
        }
        "code_format" => Msg::new("编码须为 1–64 位字母、数字、_ 或 -", "1–64 letters, digits, _ or -"),
        "number_format" => Msg::new("编号须为 1–32 位字母、数字或 -", "1–32 letters, digits or -"),
        "control_characters" => Msg::new("不能包含控制字符", "Must not contain control characters"),
        _ => Msg::new("取值无效", "Invalid value"),
    }
}

/// Run `validate()` and turn failures into a 400.
pub fn validate<T: Validate>(v: &T) -> Result<(), AppError> {
    v.validate().map_err(|e| AppError::fields(field_errors(&e)))
}

/// A JSON body that has been parsed and validated.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ValidJson<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = web::Json::<T>::from_request(req, payload);
        Box::pin(async move {
            let body = fut.await?.into_inner();
            validate(&body)?;
            Ok(ValidJson(body))
        })
    }
}

/// A form-encoded body (`application/x-www-form-urlencoded`) that has been parsed and validated.
pub struct ValidForm<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<ValidForm<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let body = fut.await?.into_inner();
            validate(&body)?;
            Ok(ValidForm(body))
        })
    }
}

/// Map form-body failures to problem responses.
pub fn form_error(err: actix_web::error::UrlencodedError) -> AppError {
    use actix_web::error::UrlencodedError as E;
    match err {
        E::Overflow { .. } | E::UnknownLength => AppError::code(ErrorCode::PayloadTooLarge),
        E::ContentType => AppError::detail(
            ErrorCode::UnsupportedMediaType,
            "请求体须为 application/x-www-form-urlencoded",
            "The body must be application/x-www-form-urlencoded",
        ),
        other => {
            AppError::detail(ErrorCode::BadRequest, format!("表单无效：{other}"), format!("Invalid form: {other}"))
        }
    }
}

/// Query parameters that have been parsed and validated.
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<ValidQuery<T>, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let res = web::Query::<T>::from_query(req.query_string())
            .map_err(|e| actix_web::Error::from(query_error(e)))
            .and_then(|q| {
                let q = q.into_inner();
                validate(&q)?;
                Ok(ValidQuery(q))
            });
        std::future::ready(res)
    }
}

/// Map JSON body failures to problem responses.
pub fn json_error(err: JsonPayloadError) -> AppError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            AppError::code(ErrorCode::PayloadTooLarge)
        }
        JsonPayloadError::ContentType => AppError::detail(
            ErrorCode::UnsupportedMediaType,
            "请求体须为 application/json",
            "The body must be application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => AppError::detail(
            ErrorCode::ValidationFailed,
            format!("字段类型或取值不正确：{e}"),
            format!("Wrong field type or value: {e}"),
        ),
        JsonPayloadError::Deserialize(e) => {
            AppError::detail(ErrorCode::MalformedJson, format!("JSON 格式错误：{e}"), format!("Malformed JSON: {e}"))
        }
        other => AppError::detail(
            ErrorCode::BadRequest,
            format!("无法读取请求体：{other}"),
            format!("Cannot read the body: {other}"),
        ),
    }
}

/// Map query-string failures to problem responses.
pub fn query_error(err: QueryPayloadError) -> AppError {
    AppError::detail(ErrorCode::BadRequest, format!("查询参数无效：{err}"), format!("Invalid query parameters: {err}"))
}

/// Map path failures (e.g. a malformed id) to problem responses. A path that is really another
/// endpoint's (`PUT /holidays/day` reaching `PUT /holidays/{year}`) is a 405 for that endpoint.
pub fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    if let Some(allowed) = super::spa::methods_of(req.path())
        && !allowed.iter().any(|m| m == req.method().as_str())
    {
        return actix_web::error::InternalError::from_response(err, super::spa::method_not_allowed(&allowed)).into();
    }
    AppError::detail(ErrorCode::BadRequest, format!("路径参数无效：{err}"), format!("Invalid path parameter: {err}"))
        .into()
}

/// Respond with a body held in memory: its gzip form when the client accepts gzip (so the
/// `Compress` middleware leaves it alone), else as it is; `vary` names request headers other than
/// `Accept-Encoding` the body depends on. `etag` is the identity form's strong
/// tag; the gzip form's is the same with `-gzip`, and an `If-None-Match` naming the tag of the
/// form chosen answers 304.
pub fn encoded_response(
    req: &HttpRequest,
    mut res: actix_web::HttpResponseBuilder,
    body: &crate::encoded::Encoded,
    etag: Option<&str>,
    vary: &[&str],
) -> actix_web::HttpResponse {
    use actix_web::http::header::{self, AcceptEncoding, Encoding, Header};
    let takes_gzip = AcceptEncoding::parse(req)
        .ok()
        .and_then(|a| a.negotiate([Encoding::gzip(), Encoding::identity()].iter()))
        .is_some_and(|e| e == Encoding::gzip());
    let gzip = if takes_gzip { body.gzip() } else { None };
    // One `Vary` header: the CORS middleware keeps only the first when it adds its own.
    let mut v = vec!["Accept-Encoding"];
    v.extend_from_slice(vary);
    res.insert_header((header::VARY, v.join(", ")));
    let tag = etag.map(|t| match gzip {
        Some(_) => format!("{}-gzip\"", t.trim_end_matches('"')),
        None => t.to_owned(),
    });
    if let Some(t) = &tag {
        res.insert_header((header::ETAG, t.as_str()));
        let hit = req
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').map(str::trim).any(|x| x == "*" || x == t || x.strip_prefix("W/") == Some(t)));
        if hit {
            return res.status(actix_web::http::StatusCode::NOT_MODIFIED).finish();
        }
    }
    res.content_type("application/json");
    match gzip {
        Some(g) => res.insert_header((header::CONTENT_ENCODING, "gzip")).body(g.clone()),
        None => res.body(body.identity().clone()),
    }
}
