//! `/progress`: the public progress look-up (事务查询).

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{ReqCtx, ValidQuery};
use super::problem::Problem;
use crate::dto::affair::{ProgressQuery, ProgressView};
use crate::error::AppError;
use crate::services::progress;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(lookup_progress);
}

/// Public, without signing in: how far an affair has got, by its number and the last four
/// characters of the applicant's 学号 or 工号. Shows the status, the service, the dates and each
/// node's state only: no names, opinions or form data. A wrong number and a wrong suffix answer
/// the same 404; too many failed look-ups from one address answer 429 with `Retry-After`.
#[utoipa::path(
    tag = "affairs",
    params(ProgressQuery),
    responses(
        (status = 200, description = "The progress", body = ProgressView),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No affair with this number and suffix", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed look-ups; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/progress")]
async fn lookup_progress(
    st: web::Data<AppState>,
    ctx: ReqCtx,
    q: ValidQuery<ProgressQuery>,
) -> Result<web::Json<ProgressView>, AppError> {
    Ok(web::Json(progress::lookup(&st, &ctx.0, &q.0).await?))
}
