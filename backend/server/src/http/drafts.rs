//! `/drafts`: applications saved while being written, and their submission.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::affairs::{idempotency_key, respond};
use super::extract::{Auth, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::dto::affair::AffairView;
use crate::dto::common::{Page, PageQuery};
use crate::dto::draft::{CreateDraft, DraftSummary, DraftView, UpdateDraft};
use crate::error::AppError;
use crate::services::drafts;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_draft)
        .service(list_drafts)
        .service(get_draft)
        .service(update_draft)
        .service(delete_draft)
        .service(submit_draft);
}

/// Save an application being written (草稿), from a guide or a process. Only the form's shape is
/// checked; required fields may be missing until it is submitted.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    request_body = CreateDraft,
    responses(
        (status = 201, description = "Saved", body = DraftView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to apply", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many drafts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/drafts")]
async fn create_draft(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateDraft>,
) -> Result<HttpResponse, AppError> {
    let d = drafts::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(d))
}

/// My drafts, last saved first.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of drafts", body = Page<DraftSummary>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/drafts")]
async fn list_drafts(
    st: web::Data<AppState>,
    auth: Auth,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<DraftSummary>>, AppError> {
    Ok(web::Json(drafts::list(&st, &auth.principal, &page.0).await?))
}

/// One of my drafts.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Draft id")),
    responses(
        (status = 200, description = "The draft", body = DraftView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such draft of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/drafts/{id}")]
async fn get_draft(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<web::Json<DraftView>, AppError> {
    Ok(web::Json(drafts::get(&st, &auth.principal, *id).await?))
}

/// Save a draft again (with its `version`).
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Draft id")),
    request_body = UpdateDraft,
    responses(
        (status = 200, description = "Saved", body = DraftView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such draft of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Saved meanwhile (stale version)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/drafts/{id}")]
async fn update_draft(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateDraft>,
) -> Result<web::Json<DraftView>, AppError> {
    Ok(web::Json(drafts::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Delete a draft.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Draft id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such draft of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/drafts/{id}")]
async fn delete_draft(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    drafts::delete(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Submit a draft: validated fully and applied exactly like `POST /affairs`; the draft is gone
/// afterwards. With `Idempotency-Key`, a retry returns the first result.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Draft id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Submitted", body = AffairView),
        (status = 400, description = "Invalid form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such draft of yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not open for applications", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/drafts/{id}/submit")]
async fn submit_draft(
    st: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let (status, v) = drafts::submit(&st, &auth.principal, &auth.ctx, *id, key.as_deref()).await?;
    Ok(respond(status, v))
}
