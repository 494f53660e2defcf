//! `/audit-logs`: the audit trail for auditors.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidQuery};
use super::problem::Problem;
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{AuditLogView, AuditQuery};
use crate::error::AppError;
use crate::services::audit_logs;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_logs).service(verify_audit_chain).service(export_audit_logs);
}

/// Verify the tamper-evident chain: every record's content hash, every link to the record before
/// it, the signed heads; reports edited, deleted, inserted and unsealed records (`audit.read`,
/// school-wide). The verification is audited.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What verification found", body = crate::audit_chain::ChainReport),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-logs/verify")]
async fn verify_audit_chain(
    st: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<crate::audit_chain::ChainReport>, AppError> {
    Ok(web::Json(audit_logs::verify(&st, &auth.principal, &auth.ctx).await?))
}

/// The matching records, oldest first, as JSON Lines (one record per line, with its hashes), for
/// auditors' own tools (`audit.read`, school-wide). The export is audited.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "JSON Lines", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-logs/export")]
async fn export_audit_logs(
    st: web::Data<AppState>,
    auth: Auth,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let body = audit_logs::export(&st, &auth.principal, &auth.ctx, q.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"audit-logs.jsonl\""))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body))
}

/// Audit records, newest first (`audit.read`, school-wide). The query itself is audited.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery, PageQuery),
    responses(
        (status = 200, description = "A page of audit records", body = Page<AuditLogView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-logs")]
async fn list_audit_logs(
    st: web::Data<AppState>,
    auth: Auth,
    q: web::Query<AuditQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<AuditLogView>>, AppError> {
    Ok(web::Json(audit_logs::list(&st, &auth.principal, &auth.ctx, &q, &page.0).await?))
}
