//! `/audit-logs`: the audit trail for auditors.

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidQuery};
use super::problem::Problem;
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{AuditLogView, AuditQuery};
use crate::error::AppError;
use crate::services::audit_logs;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit_logs);
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
