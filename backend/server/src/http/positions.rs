//! `/positions`: 院长, 党委书记, 分管院领导, department heads, 辅导员.

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::org::{CreatePosition, PositionQuery, PositionView, UpdatePosition, VersionQuery};
use crate::error::AppError;
use crate::services::positions;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_positions).service(create_position).service(update_position).service(delete_position);
}

/// Positions, filtered (`org.read`).
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(PositionQuery),
    responses(
        (status = 200, description = "Positions", body = Vec<PositionView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/positions")]
async fn list_positions(
    st: web::Data<AppState>,
    auth: Auth,
    q: web::Query<PositionQuery>,
) -> Result<web::Json<Vec<PositionView>>, AppError> {
    Ok(web::Json(positions::list(&st, &auth.principal, &q).await?))
}

/// Appoint someone (`org.manage`; school-wide offices and 分管 need school-wide scope).
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    request_body = CreatePosition,
    responses(
        (status = 201, description = "Created", body = PositionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already held", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/positions")]
async fn create_position(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreatePosition>,
) -> Result<HttpResponse, AppError> {
    let v = positions::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Hand a position to someone else or retitle it.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Position id")),
    request_body = UpdatePosition,
    responses(
        (status = 200, description = "Updated", body = PositionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such position", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/positions/{id}")]
async fn update_position(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdatePosition>,
) -> Result<web::Json<PositionView>, AppError> {
    Ok(web::Json(positions::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// End a position.
#[utoipa::path(
    tag = "positions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Position id"), VersionQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Missing version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such position", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/positions/{id}")]
async fn delete_position(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    positions::delete(&st, &auth.principal, &auth.ctx, *id, q.version).await?;
    Ok(HttpResponse::NoContent().finish())
}
