//! Operations: liveness, readiness and metrics (outside `/api/v1`).

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::problem::Problem;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics).service(signing_keys);
}

/// Health status.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process answers. Public.
#[utoipa::path(tag = "ops", responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers. Public.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[get("/readyz")]
async fn readyz(st: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    st.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        AppError::Client { code: ErrorCode::ServiceUnavailable, detail: None, errors: Vec::new(), retry_after: Some(5) }
    })?;
    Ok(web::Json(Health { status: "ok" }))
}

/// Prometheus metrics in the text exposition format. Public on the listening address; restrict
/// it at the proxy in production.
#[utoipa::path(tag = "ops", responses((status = 200, description = "Metrics", body = String, content_type = "text/plain")))]
#[get("/metrics")]
async fn metrics(st: web::Data<AppState>) -> HttpResponse {
    // The business figures are read at most every 15 s; a database hiccup leaves the last ones.
    if let Err(e) = crate::services::monitoring::refresh(st.db.conn(), &st.metrics).await {
        tracing::warn!(error = ?e, "business metrics");
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(st.metrics.encode())
}

/// The public keys that sign electronic certificates, as a JWK set (RFC 8037: `kty` OKP, `crv`
/// Ed25519), each with its `status` (`active` signs now, `retired` only verifies what it signed).
/// Public; anyone can verify a certificate with them, offline too (`tongban verify --keys`).
#[utoipa::path(tag = "ops", responses((status = 200, description = "The key set", body = Object)))]
#[get("/.well-known/tongban-keys.json")]
async fn signing_keys(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=300"))
        .json(st.signing.jwks())
}
