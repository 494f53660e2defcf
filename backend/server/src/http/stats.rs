//! `/stats`: supervision (第三条, 第十四条) — figures per department and process, electronic
//! supervision cards, the violations register, quarterly assessment and the XLSX export.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::guides::content_disposition;
use super::problem::Problem;
use crate::dto::common::Page;
use crate::dto::stats::{
    Assessment, AssessmentQuery, CardQuery, CardView, HandleViolation, RecordComplaint, StatsOverview, StatsQuery,
    ViolationQuery, ViolationView,
};
use crate::error::AppError;
use crate::services::supervision;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(overview)
        .service(export)
        .service(assessment)
        .service(cards)
        .service(violations)
        .service(record_complaint)
        .service(handle_violation);
}

/// Figures over a period of China-time days (default the last 30) for the processes whose handling
/// department the caller's `stats.read` reaches: the total, each department, each process and each
/// day — submissions, ends by outcome, returns, running and overdue now, handling time in working
/// days (average, median, 90th percentile, longest), on-time rate, satisfaction, yellow and red
/// cards, violations. Trial runs are left out.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The figures", body = StatsOverview),
        (status = 400, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No stats.read, or not for that department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/overview")]
async fn overview(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<StatsQuery>,
) -> Result<web::Json<StatsOverview>, AppError> {
    Ok(web::Json(supervision::overview(&st, &auth.principal, &q.0).await?))
}

/// The same figures, the period's cards, as an XLSX workbook (部门统计, 事项统计, 督办牌).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers(("Content-Disposition" = String, description = "attachment; filename=网上办事统计-{from}-{to}.xlsx"))),
        (status = 400, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No stats.read, or not for that department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/export.xlsx")]
async fn export(st: web::Data<AppState>, auth: Auth, q: ValidQuery<StatsQuery>) -> Result<HttpResponse, AppError> {
    let (name, bytes) = supervision::export(&st, &auth.principal, &auth.ctx, &q.0).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&name)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// A quarter's figures per department, ranked by on-time rate, then fewer red cards and
/// violations, then satisfaction (网上办事考核, 第三条).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(AssessmentQuery),
    responses(
        (status = 200, description = "The assessment", body = Assessment),
        (status = 400, description = "Invalid quarter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No stats.read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/assessment")]
async fn assessment(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<AssessmentQuery>,
) -> Result<web::Json<Assessment>, AppError> {
    Ok(web::Json(supervision::assessment(&st, &auth.principal, &q.0).await?))
}

/// Electronic supervision cards: a yellow card (黄牌) once a task or an affair has used 90 % of the
/// working time of its limit, a red card (红牌) once it is overdue; resolved when the task is
/// handled or the affair ends. Newest first.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(CardQuery),
    responses(
        (status = 200, description = "Cards", body = Page<CardView>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No stats.read, or not for that department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/cards")]
async fn cards(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<CardQuery>,
) -> Result<web::Json<Page<CardView>>, AppError> {
    Ok(web::Json(supervision::cards(&st, &auth.principal, &q.0).await?))
}

/// The violations register (第十四条): tasks overdue beyond the threshold, handlers overridden by
/// administrators, complaints. The discipline office (`supervision.manage`) reads all of it;
/// holders of `stats.read` their departments'. Newest first.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(ViolationQuery),
    responses(
        (status = 200, description = "Violations", body = Page<ViolationView>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/violations")]
async fn violations(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<ViolationQuery>,
) -> Result<web::Json<Page<ViolationView>>, AppError> {
    Ok(web::Json(supervision::violations(&st, &auth.principal, &q.0).await?))
}

/// The discipline office registers a complaint received outside the system (by phone, in person).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    request_body = RecordComplaint,
    responses(
        (status = 201, description = "Registered", body = ViolationView),
        (status = 400, description = "Invalid body or unknown affair", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the discipline office", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stats/violations")]
async fn record_complaint(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<RecordComplaint>,
) -> Result<HttpResponse, AppError> {
    let v = supervision::record_complaint(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// The discipline office records how a violation was dealt with (责令改正).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Violation id")),
    request_body = HandleViolation,
    responses(
        (status = 200, description = "Handled", body = ViolationView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the discipline office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such violation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version, or handled already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stats/violations/{id}/handle")]
async fn handle_violation(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<HandleViolation>,
) -> Result<web::Json<ViolationView>, AppError> {
    Ok(web::Json(supervision::handle(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}
