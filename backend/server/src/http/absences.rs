//! `/me/absences` and `/users/{id}/absences`: out-of-office delegation (代理);
//! `/users/{id}/handover`: hand a leaving user's tasks to another (离职交接).

use actix_web::{HttpResponse, delete, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::dto::absence::{AbsenceView, CreateAbsence, HandoverReport, HandoverRequest};
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::VersionQuery;
use crate::error::AppError;
use crate::services::absences;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_my_absences)
        .service(create_my_absence)
        .service(cancel_my_absence)
        .service(list_user_absences)
        .service(create_user_absence)
        .service(cancel_user_absence)
        .service(hand_over);
}

/// The caller's absences, latest start first.
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of absences", body = Page<AbsenceView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/absences")]
async fn list_my_absences(
    st: web::Data<AppState>,
    auth: Auth,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<AbsenceView>>, AppError> {
    Ok(web::Json(absences::list_mine(&st, &auth.principal, &page.0).await?))
}

/// Schedule an absence: while it lasts, new tasks go to the deputy (for all processes, or those
/// in `process_keys`), recording the caller as original assignee. Chains are not followed: if the
/// deputy is away too, the task still goes to the deputy.
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    request_body = CreateAbsence,
    responses(
        (status = 201, description = "Scheduled", body = AbsenceView),
        (status = 400, description = "Invalid (deputy, period, process keys)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another absence", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/absences")]
async fn create_my_absence(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateAbsence>,
) -> Result<HttpResponse, AppError> {
    let v = absences::create_mine(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Cancel an absence: a scheduled one is removed, an active one ends now.
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Absence id"), VersionQuery),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 400, description = "Missing version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such absence of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already over", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/absences/{id}")]
async fn cancel_my_absence(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    absences::cancel_mine(&st, &auth.principal, &auth.ctx, *id, q.version).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's absences (`user.manage` over the user's department). Audited.
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id"), PageQuery),
    responses(
        (status = 200, description = "A page of absences", body = Page<AbsenceView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}/absences")]
async fn list_user_absences(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<AbsenceView>>, AppError> {
    Ok(web::Json(absences::list_for(&st, &auth.principal, &auth.ctx, *id, &page.0).await?))
}

/// Schedule an absence for a user (`user.manage` over the user's department).
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = CreateAbsence,
    responses(
        (status = 201, description = "Scheduled", body = AbsenceView),
        (status = 400, description = "Invalid (deputy, period, process keys)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another absence", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/absences")]
async fn create_user_absence(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<CreateAbsence>,
) -> Result<HttpResponse, AppError> {
    let v = absences::create_for(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Cancel an absence of a user (`user.manage` over the user's department).
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("absence_id" = Uuid, Path, description = "Absence id"),
        VersionQuery
    ),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 400, description = "Missing version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or absence", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already over", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}/absences/{absence_id}")]
async fn cancel_user_absence(
    st: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, absence_id) = path.into_inner();
    absences::cancel_for(&st, &auth.principal, &auth.ctx, id, absence_id, q.version).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Hand every pending task of a leaving user to another active user (离职交接; `user.manage` over
/// the leaving user's department). Each task is transferred through the engine; tasks handled
/// meanwhile are skipped with their error code; unclaimed group tasks are left to the other
/// candidates and listed. The hand-over is recorded as one `user.handover` audit record.
#[utoipa::path(
    tag = "absences",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The leaving user's id")),
    request_body = HandoverRequest,
    responses(
        (status = 200, description = "What was handed over", body = HandoverReport),
        (status = 400, description = "Invalid receiver", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/handover")]
async fn hand_over(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<HandoverRequest>,
) -> Result<web::Json<HandoverReport>, AppError> {
    Ok(web::Json(absences::handover(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}
