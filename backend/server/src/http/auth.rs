//! `/auth`: sign-in, token refresh and sign-out.

use actix_web::{HttpRequest, HttpResponse, post, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{ReqCtx, ValidJson};
use super::problem::Problem;
use crate::auth::service;
use crate::dto::auth::{LoginRequest, LogoutRequest, RefreshRequest, TokenResponse};
use crate::error::AppError;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(refresh).service(logout);
}

fn user_agent(req: &HttpRequest) -> Option<&str> {
    req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok())
}

/// Sign in with a username (or 学号/工号) and password. Public.
///
/// Failed attempts are throttled per account and per client address (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
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
    Ok(web::Json(service::login(&st, &ctx.0, &b.username, &b.password, user_agent(&req)).await?))
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
