//! 在线咨询: questions on guides, answers by the owning department's staff, and the public FAQ.

use actix_web::{HttpResponse, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, MaybeAuth, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::dto::common::Page;
use crate::dto::hall::{AnswerQuestion, AskQuestion, QuestionQuery, QuestionView, SetFaq};
use crate::error::AppError;
use crate::services::consult;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ask_question)
        .service(list_guide_questions)
        .service(list_questions)
        .service(list_my_questions)
        .service(answer_question)
        .service(set_question_faq);
}

/// Ask a question about a guide (signed in).
#[utoipa::path(
    tag = "consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body = AskQuestion,
    responses(
        (status = 201, description = "Asked", body = QuestionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide in the hall", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guides/{id}/questions")]
async fn ask_question(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<AskQuestion>,
) -> Result<HttpResponse, AppError> {
    let v = consult::ask(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Questions on a guide, public: its FAQ (answered questions published by the department), plus
/// your own with a token; the department's staff see all and may filter by `status`.
#[utoipa::path(
    tag = "consultation",
    params(("id" = Uuid, Path, description = "Guide id"), QuestionQuery),
    responses(
        (status = 200, description = "A page of questions", body = Page<QuestionView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide in the hall", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}/questions")]
async fn list_guide_questions(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    id: web::Path<Uuid>,
    q: ValidQuery<QuestionQuery>,
) -> Result<web::Json<Page<QuestionView>>, AppError> {
    Ok(web::Json(consult::for_guide(&st, auth.0.as_ref().map(|a| &a.principal), *id, &q.0).await?))
}

/// The consultation inbox: questions on the guides of the departments you answer for
/// (`consult.answer`), newest first.
#[utoipa::path(
    tag = "consultation",
    security(("bearer" = [])),
    params(QuestionQuery),
    responses(
        (status = 200, description = "A page of questions", body = Page<QuestionView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/questions")]
async fn list_questions(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<QuestionQuery>,
) -> Result<web::Json<Page<QuestionView>>, AppError> {
    Ok(web::Json(consult::inbox(&st, &auth.principal, &q.0).await?))
}

/// The questions I asked, newest first.
#[utoipa::path(
    tag = "consultation",
    security(("bearer" = [])),
    params(QuestionQuery),
    responses(
        (status = 200, description = "A page of questions", body = Page<QuestionView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/questions")]
async fn list_my_questions(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<QuestionQuery>,
) -> Result<web::Json<Page<QuestionView>>, AppError> {
    Ok(web::Json(consult::mine(&st, &auth.principal, &q.0).await?))
}

/// Answer a question (`consult.answer` over the guide's department); the asker is notified.
#[utoipa::path(
    tag = "consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Question id")),
    request_body = AnswerQuestion,
    responses(
        (status = 201, description = "Answered", body = QuestionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not for your department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such question visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/questions/{id}/answers")]
async fn answer_question(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<AnswerQuestion>,
) -> Result<HttpResponse, AppError> {
    let v = consult::answer(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Publish an answered question to the guide's FAQ, or take it back; send the `version` you read.
#[utoipa::path(
    tag = "consultation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Question id")),
    request_body = SetFaq,
    responses(
        (status = 200, description = "Saved", body = QuestionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not for your department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such question visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not answered yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/questions/{id}/faq")]
async fn set_question_faq(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<SetFaq>,
) -> Result<web::Json<QuestionView>, AppError> {
    Ok(web::Json(consult::set_faq(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}
