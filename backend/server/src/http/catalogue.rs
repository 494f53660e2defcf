//! `/categories` (themes of the hall, public to read) and `/hall-links` (quick channels); changes
//! need `settings.manage`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::hall::{CategoryView, CreateCategory, HallLinkRequest, HallLinkView, UpdateCategory};
use crate::error::AppError;
use crate::services::catalogue;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_categories)
        .service(create_category)
        .service(update_category)
        .service(delete_category)
        .service(list_hall_links)
        .service(create_hall_link)
        .service(update_hall_link)
        .service(delete_hall_link);
}

/// Every theme (办事主题), in order. Public.
#[utoipa::path(
    tag = "hall",
    responses((status = 200, description = "Themes", body = Vec<CategoryView>))
)]
#[get("/categories")]
async fn list_categories(st: web::Data<AppState>) -> Result<web::Json<Vec<CategoryView>>, AppError> {
    Ok(web::Json(catalogue::list_categories(&st).await?))
}

/// Create a theme (`settings.manage`).
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    request_body = CreateCategory,
    responses(
        (status = 201, description = "Created", body = CategoryView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/categories")]
async fn create_category(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateCategory>,
) -> Result<HttpResponse, AppError> {
    let v = catalogue::create_category(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Change a theme; send back the `version` you read.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Category id")),
    request_body = UpdateCategory,
    responses(
        (status = 200, description = "Saved", body = CategoryView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/categories/{id}")]
async fn update_category(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateCategory>,
) -> Result<web::Json<CategoryView>, AppError> {
    Ok(web::Json(catalogue::update_category(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Delete a theme no guide uses.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Guides use it (`in_use`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/categories/{id}")]
async fn delete_category(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    catalogue::delete_category(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every quick channel (快捷通道), for their administrators (`settings.manage`). The hall shows each
/// audience its own.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Quick links", body = Vec<HallLinkView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/hall-links")]
async fn list_hall_links(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<HallLinkView>>, AppError> {
    Ok(web::Json(catalogue::list_links(&st, &auth.principal).await?))
}

/// Add a quick channel: a URL or a guide, for some audiences or everyone.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    request_body = HallLinkRequest,
    responses(
        (status = 201, description = "Created", body = HallLinkView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/hall-links")]
async fn create_hall_link(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<HallLinkRequest>,
) -> Result<HttpResponse, AppError> {
    let v = catalogue::create_link(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Change a quick channel; send back the `version` you read.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id")),
    request_body = HallLinkRequest,
    responses(
        (status = 200, description = "Saved", body = HallLinkView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/hall-links/{id}")]
async fn update_hall_link(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<HallLinkRequest>,
) -> Result<web::Json<HallLinkView>, AppError> {
    Ok(web::Json(catalogue::update_link(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Remove a quick channel.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Link id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/hall-links/{id}")]
async fn delete_hall_link(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    catalogue::delete_link(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
