//! `/auth`: sign-in (password with an optional second factor, campus single sign-on), token
//! refresh and sign-out.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{ReqCtx, ValidJson};
use super::problem::Problem;
use crate::auth::{service, sso};
use crate::config::PasswordLogin;
use crate::dto::auth::{
    LoginRequest, LogoutRequest, RefreshRequest, SignInOptions, SsoExchangeRequest, SsoLoginQuery, TokenResponse,
};
use crate::error::AppError;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(sign_in_options)
        .service(sso_login)
        .service(oidc_callback)
        .service(cas_callback)
        .service(sso_exchange);
}

fn user_agent(req: &HttpRequest) -> Option<&str> {
    req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok())
}

/// Sign in with a username (or 学号/工号) and password. Public.
///
/// Failed attempts are throttled per account and per client address (429 with `Retry-After`).
/// An account with a second factor answers `mfa_required` (401) until `totp_code` is sent; where
/// `sso.password_login = admins`, other accounts answer `password_login_disabled` (403).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password; TOTP code missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or password sign-in reserved for administrators", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/login")]
async fn login(
    st: web::Data<AppState>,
    req: HttpRequest,
    ctx: ReqCtx,
    body: ValidJson<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    let b = body.0;
    Ok(web::Json(
        service::login(&st, &ctx.0, &b.username, &b.password, b.totp_code.as_deref(), user_agent(&req)).await?,
    ))
}

/// Exchange a refresh token for a new token pair. Public.
///
/// Each refresh token works once; presenting a used one ends the whole session (`refresh_token_reused`).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    st: web::Data<AppState>,
    req: HttpRequest,
    ctx: ReqCtx,
    body: ValidJson<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(service::refresh(&st, &ctx.0, &body.0.refresh_token, user_agent(&req)).await?))
}

/// End the session of a refresh token. Public and idempotent.
#[utoipa::path(
    tag = "auth",
    request_body = LogoutRequest,
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
async fn logout(
    st: web::Data<AppState>,
    ctx: ReqCtx,
    body: ValidJson<LogoutRequest>,
) -> Result<HttpResponse, AppError> {
    service::logout(&st, &ctx.0, &body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How one signs in here: the campus identity providers configured and who may use a password.
/// Public.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "Sign-in options", body = SignInOptions))
)]
#[get("/auth/sso/providers")]
async fn sign_in_options(st: web::Data<AppState>) -> web::Json<SignInOptions> {
    web::Json(SignInOptions {
        providers: sso::providers(&st),
        password_login: match st.settings.sso.password_login {
            PasswordLogin::Everyone => "everyone",
            PasswordLogin::Admins => "admins",
        }
        .into(),
    })
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((actix_web::http::header::LOCATION, location))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Start a campus sign-in: redirects the browser to the campus OpenID provider (authorization code
/// with PKCE S256) or CAS server. Public; for browsers.
#[utoipa::path(
    tag = "auth",
    params(("provider" = String, Path, description = "`oidc` or `cas`"), SsoLoginQuery),
    responses(
        (status = 302, description = "To the identity provider", headers(("Location" = String, description = "The provider's sign-in page"))),
        (status = 404, description = "No such provider configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The provider cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/sso/{provider}/login")]
async fn sso_login(
    st: web::Data<AppState>,
    provider: web::Path<String>,
    q: web::Query<SsoLoginQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(found(&sso::begin(&st, &provider, q.return_to.as_deref()).await?))
}

/// The campus OpenID provider sends the browser back here. Redirects to the web app's
/// `/login/sso?code=…` (a single-use code for `POST /auth/sso/exchange`) or to
/// `/login?sso_error=…`. Public; for browsers.
#[utoipa::path(
    tag = "auth",
    params(
        ("code" = Option<String>, Query, description = "Authorization code"),
        ("state" = Option<String>, Query, description = "The state of the round trip"),
        ("error" = Option<String>, Query, description = "Error reported by the provider"),
    ),
    responses(
        (status = 302, description = "To the web app", headers(("Location" = String, description = "`/login/sso?code=…` or `/login?sso_error=…`"))),
        (status = 404, description = "OpenID Connect is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/sso/oidc/callback")]
async fn oidc_callback(
    st: web::Data<AppState>,
    ctx: ReqCtx,
    q: web::Query<sso::OidcCallback>,
) -> Result<HttpResponse, AppError> {
    if st.settings.sso.oidc.is_none() {
        return Err(AppError::not_found());
    }
    Ok(found(&sso::oidc_callback(&st, &ctx.0, &q).await?))
}

/// The campus CAS server sends the browser back here with a service ticket, which the server
/// validates at `/p3/serviceValidate`. Redirects like the OpenID callback. Public; for browsers.
#[utoipa::path(
    tag = "auth",
    params(
        ("ticket" = Option<String>, Query, description = "Service ticket"),
        ("state" = Option<String>, Query, description = "The state of the round trip"),
    ),
    responses(
        (status = 302, description = "To the web app", headers(("Location" = String, description = "`/login/sso?code=…` or `/login?sso_error=…`"))),
        (status = 404, description = "CAS is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/sso/cas/callback")]
async fn cas_callback(
    st: web::Data<AppState>,
    ctx: ReqCtx,
    q: web::Query<sso::CasCallback>,
) -> Result<HttpResponse, AppError> {
    if st.settings.sso.cas.is_none() {
        return Err(AppError::not_found());
    }
    Ok(found(&sso::cas_callback(&st, &ctx.0, &q).await?))
}

/// Exchange the single-use code of a campus sign-in for tokens. Public; each code works once and
/// for one minute.
#[utoipa::path(
    tag = "auth",
    request_body = SsoExchangeRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, used or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/sso/exchange")]
async fn sso_exchange(
    st: web::Data<AppState>,
    req: HttpRequest,
    ctx: ReqCtx,
    body: ValidJson<SsoExchangeRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(sso::exchange(&st, &ctx.0, &body.0.code, user_agent(&req)).await?))
}
