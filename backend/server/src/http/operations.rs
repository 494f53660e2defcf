//! `/ops`: operations for the IT office inside the API (the integrity check).

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidQuery};
use super::problem::Problem;
use crate::dto::ops::CheckQuery;
use crate::error::AppError;
use crate::services::integrity::{self, IntegrityReport};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(check);
}

/// The integrity check of `tongban check`: every affair is finished or has work pending, each
/// pending task has someone to do it, the `tasks` mirror agrees with the instance, the history is
/// complete, certificates and files point at rows that exist, optionally every stored object is
/// there, and the audit chain verifies (`settings.manage`). Read only; the check is audited.
#[utoipa::path(
    tag = "ops",
    security(("bearer" = [])),
    params(CheckQuery),
    responses(
        (status = 200, description = "What the check found", body = IntegrityReport),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/ops/check")]
async fn check(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<CheckQuery>,
) -> Result<web::Json<IntegrityReport>, AppError> {
    Ok(web::Json(integrity::check_as(&st, &auth.principal, &auth.ctx, q.0.files).await?))
}
