//! `/affairs` and `/tasks`: applying, following an affair, and handling tasks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, MaybeAuth, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::dto::affair::{
    AffairQuery, AffairSummary, AffairView, ApplicationForm, ApplicationFormQuery, BatchApproveRequest,
    BatchItemResult, CreateAffair, MessageView, NoteRequest, PostMessage, RatingRequest, RatingView, ResubmitRequest,
    TaskActionRequest, TaskCounts, TaskListItem, TaskQuery,
};
use crate::dto::common::{Page, PageQuery};
use crate::error::AppError;
use crate::services::{affairs, messages};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(application_form)
        .service(create_affair)
        .service(list_affairs)
        .service(get_affair)
        .service(withdraw_affair)
        .service(urge_affair)
        .service(resubmit_affair)
        .service(rate_affair)
        .service(list_affair_messages)
        .service(post_affair_message)
        .service(list_tasks)
        .service(task_counts)
        .service(batch_approve)
        .service(get_task)
        .service(act_on_task);
}

/// The `Idempotency-Key` header: 1–128 visible ASCII characters.
pub(super) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    match req.headers().get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let s = v.to_str().unwrap_or("");
            if (1..=128).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic()) {
                Ok(Some(s.to_owned()))
            } else {
                Err(AppError::field(
                    "Idempotency-Key",
                    "invalid",
                    "幂等键须为 1–128 个可见 ASCII 字符",
                    "1–128 visible ASCII characters",
                ))
            }
        }
    }
}

pub(super) fn respond(status: u16, body: Value) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK)).json(body)
}

/// The form to apply with (`POST /affairs`): of the version a new affair would start on — for a
/// signed-in tester the trial version they test, else the online one — with what the applicant
/// fills in and the handlers they pick. Public: anyone may read what a service asks for.
#[utoipa::path(
    tag = "affairs",
    params(ApplicationFormQuery),
    responses(
        (status = 200, description = "The form", body = ApplicationForm),
        (status = 400, description = "Not exactly one of guide_id and process_key, or no such guide or process", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "An invalid token was sent", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not open for applications", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/application-forms")]
async fn application_form(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    q: ValidQuery<ApplicationFormQuery>,
) -> Result<web::Json<ApplicationForm>, AppError> {
    let p = auth.0.as_ref().map(|a| &a.principal);
    Ok(web::Json(affairs::application_form(&st, p, &q.0).await?))
}

/// Apply: validate the form against the published version and submit. With `Idempotency-Key`, a
/// retry returns the first result instead of applying twice.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    request_body = CreateAffair,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Submitted", body = AffairView),
        (status = 400, description = "Invalid form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not open for applications", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs")]
async fn create_affair(
    st: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: ValidJson<CreateAffair>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let (status, v) = affairs::create(&st, &auth.principal, &auth.ctx, body.0, key.as_deref()).await?;
    Ok(respond(status, v))
}

/// Affairs: mine (default), or with `affair.read` those of the departments in my scope.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(AffairQuery, PageQuery),
    responses(
        (status = 200, description = "A page of affairs", body = Page<AffairSummary>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`department` or `all` without `affair.read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/affairs")]
async fn list_affairs(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<AffairQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<AffairSummary>>, AppError> {
    Ok(web::Json(affairs::list(&st, &auth.principal, &q.0, &page.0).await?))
}

/// One affair: form, tasks, timeline and what the caller may do.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    responses(
        (status = 200, description = "The affair", body = AffairView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/affairs/{id}")]
async fn get_affair(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<AffairView>, AppError> {
    Ok(web::Json(affairs::get(&st, &auth.principal, &auth.ctx, *id).await?))
}

/// The applicant withdraws (撤回) before anyone handled it, or while it is returned.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "Withdrawn", body = AffairView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applicant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too late", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs/{id}/withdraw")]
async fn withdraw_affair(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<NoteRequest>,
) -> Result<web::Json<Value>, AppError> {
    Ok(web::Json(affairs::withdraw(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Remind the current handlers (催办).
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "Reminded", body = AffairView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not running", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs/{id}/urge")]
async fn urge_affair(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<NoteRequest>,
) -> Result<web::Json<Value>, AppError> {
    Ok(web::Json(affairs::urge(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Resubmit a returned affair with the corrected form.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    request_body = ResubmitRequest,
    responses(
        (status = 200, description = "Resubmitted", body = AffairView),
        (status = 400, description = "Invalid form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applicant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not returned", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs/{id}/resubmit")]
async fn resubmit_affair(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<ResubmitRequest>,
) -> Result<web::Json<Value>, AppError> {
    Ok(web::Json(affairs::resubmit(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// My workspace: to-do (待办, including group tasks I can claim), done (已办), affairs copied to me
/// (抄送) or started by me; with filters, due dates and overdue marks.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(TaskQuery, PageQuery),
    responses(
        (status = 200, description = "A page of tasks or affairs", body = Page<TaskListItem>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tasks")]
async fn list_tasks(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<TaskQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<TaskListItem>>, AppError> {
    Ok(web::Json(affairs::list_tasks(&st, &auth.principal, &q.0, &page.0).await?))
}

/// The sizes of my workspace lists, with the overdue to-do tasks.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts", body = TaskCounts),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tasks/counts")]
async fn task_counts(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<TaskCounts>, AppError> {
    Ok(web::Json(affairs::task_counts(&st, &auth.principal).await?))
}

/// A task's affair, as its handler sees it.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The affair of the task", body = AffairView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tasks/{id}")]
async fn get_task(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<web::Json<AffairView>, AppError> {
    Ok(web::Json(affairs::get_task(&st, &auth.principal, &auth.ctx, *id).await?))
}

/// Handle a task: approve, reject, return, transfer, delegate, add or remove signers, claim,
/// withdraw an approval, CC or comment. Of two handlers acting at once exactly one succeeds; the
/// other gets 409 `task_already_handled`. With `Idempotency-Key`, a retry returns the first result.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Task id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = TaskActionRequest,
    responses(
        (status = 200, description = "Done; the affair after the action", body = AffairView),
        (status = 400, description = "Invalid input or field not editable", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your task", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already handled, or the affair moved on", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The process does not allow it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/tasks/{id}/actions")]
async fn act_on_task(
    st: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ValidJson<TaskActionRequest>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let (status, v) = affairs::act(&st, &auth.principal, &auth.ctx, *id, body.0, key.as_deref()).await?;
    Ok(respond(status, v))
}

/// Approve several tasks (批量审批); each is reported separately.
#[utoipa::path(
    tag = "tasks",
    security(("bearer" = [])),
    request_body = BatchApproveRequest,
    responses(
        (status = 200, description = "One result per task", body = Vec<BatchItemResult>),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/tasks/batch")]
async fn batch_approve(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<BatchApproveRequest>,
) -> Result<web::Json<Vec<BatchItemResult>>, AppError> {
    Ok(web::Json(affairs::batch_approve(&st, &auth.principal, &auth.ctx, body.0).await?))
}

/// Rate a completed affair (评价): the applicant, once.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    request_body = RatingRequest,
    responses(
        (status = 201, description = "Rated", body = RatingView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the applicant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed, or already rated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs/{id}/rating")]
async fn rate_affair(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<RatingRequest>,
) -> Result<HttpResponse, AppError> {
    let r = affairs::rate(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(r))
}

/// Messages on an affair, oldest first: for its applicant, its handlers and its supervisors.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = Page<MessageView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Copied to you only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/affairs/{id}/messages")]
async fn list_affair_messages(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<MessageView>>, AppError> {
    Ok(web::Json(messages::list(&st, &auth.principal, *id, &page.0).await?))
}

/// Write a message on an affair (applicant and handlers); the other side is notified.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    request_body = PostMessage,
    responses(
        (status = 201, description = "Sent", body = MessageView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither the applicant nor a handler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/affairs/{id}/messages")]
async fn post_affair_message(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PostMessage>,
) -> Result<HttpResponse, AppError> {
    let m = messages::post(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(m))
}
