//! `/requirement-plans`: requests to build online processes (网上办事流程建设需求计划, 第六条~第九条),
//! their lifecycle after approval and the filled form as a PDF. The request itself and its change
//! requests are applied for like any affair (`POST /affairs` on the built-in processes).

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::guides::content_disposition;
use super::problem::Problem;
use crate::dto::common::Page;
use crate::dto::requirement::{
    OwnersRequest, PlanQuery, PlanStepRequest, PlanSummary, PlanView, SchemeRequest, TestersRequest,
};
use crate::error::AppError;
use crate::services::requirements;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_plans)
        .service(get_plan)
        .service(plan_pdf)
        .service(put_scheme)
        .service(confirm_scheme)
        .service(put_testers)
        .service(start_trial)
        .service(testing_done)
        .service(go_online)
        .service(put_owners);
}

/// Requirement plans the caller may see: the IT office all; others those of the departments
/// whose guides or affairs they administer or read, those they head, and their own. Newest first.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(PlanQuery),
    responses(
        (status = 200, description = "Requests", body = Page<PlanSummary>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requirement-plans")]
async fn list_plans(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<PlanQuery>,
) -> Result<web::Json<Page<PlanSummary>>, AppError> {
    Ok(web::Json(requirements::list(&st, &auth.principal, &q.0).await?))
}

/// One request: the whole form, the opinions in the form's order (who, when, decision, text),
/// the process built from it with its versions, the duties of 第九条 as a checklist, every
/// recorded step, its change requests with their feasibility assessments, and what the caller
/// may do now.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    responses(
        (status = 200, description = "The request", body = PlanView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requirement-plans/{id}")]
async fn get_plan(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::get(&st, &auth.principal, id.into_inner()).await?))
}

/// The filled 《网上办事流程建设需求计划审批表》 as a PDF in the attachment's layout: title, date,
/// the grid of fields, every opinion with its decision, signer and date, and the notes.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf",
            headers(("Content-Disposition" = String, description = "attachment; filename={number}-需求计划审批表.pdf"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requirement-plans/{id}/pdf")]
async fn plan_pdf(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let (name, bytes) = requirements::pdf(&st, &auth.principal, &auth.ctx, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&name)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// The IT office's construction scheme (建设方案, 第六条㈡, 第九条㈡1–2) and planned date; a revised
/// scheme awaits the department's confirmation again.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = SchemeRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not now", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/requirement-plans/{id}/scheme")]
async fn put_scheme(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<SchemeRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::scheme(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// The applying department confirms the scheme (第九条㈠2).
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = PlanStepRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applying department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No scheme to confirm", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requirement-plans/{id}/scheme/confirm")]
async fn confirm_scheme(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PlanStepRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::confirm_scheme(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// The applying department names the testers of the trial run (第六条㈢, 第九条㈠3); during a trial
/// the trial version takes them at once.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = TestersRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body or unknown users", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applying department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not now", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/requirement-plans/{id}/testers")]
async fn put_testers(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<TestersRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::testers(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// The IT office publishes the built draft as a trial version (试运行) for the named testers; trial
/// affairs are kept apart from real ones.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = PlanStepRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Scheme unconfirmed, no testers, or the draft is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requirement-plans/{id}/trial")]
async fn start_trial(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PlanStepRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::trial(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// The applying department confirms the tests are done (第九条㈠3); a trial affair must have run to
/// its end on the current trial version.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = PlanStepRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applying department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not in trial, or nothing tested yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requirement-plans/{id}/testing-done")]
async fn testing_done(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PlanStepRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::testing_done(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// The IT office puts the tested trial version online (上线, 第六条㈢).
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = PlanStepRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Testing not confirmed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requirement-plans/{id}/online")]
async fn go_online(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PlanStepRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::online(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// Who looks after the process once it is online: the department names the business owner
/// (第九条㈠4), the IT office the technical maintainer (第九条㈡4); each side sets only its own.
#[utoipa::path(
    tag = "requirement-plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Requirement plan id")),
    request_body = OwnersRequest,
    responses(
        (status = 200, description = "The request after the step", body = PlanView),
        (status = 400, description = "Invalid body or unknown users", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Setting the other side's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request in reach", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not approved", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/requirement-plans/{id}/owners")]
async fn put_owners(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<OwnersRequest>,
) -> Result<web::Json<PlanView>, AppError> {
    Ok(web::Json(requirements::owners(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}
