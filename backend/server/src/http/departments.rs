//! `/departments`: the organisation tree. Reading is public (the hall shows departments).

use actix_web::{get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::org::{CreateDepartment, DepartmentQuery, DepartmentView, UpdateDepartment};
use crate::error::AppError;
use crate::services::departments;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_departments).service(get_department).service(create_department).service(update_department);
}

/// All departments (flat, with `parent_id`), filtered. Public.
#[utoipa::path(
    tag = "departments",
    params(DepartmentQuery),
    responses(
        (status = 200, description = "Departments", body = Vec<DepartmentView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/departments")]
async fn list_departments(
    st: web::Data<AppState>,
    q: web::Query<DepartmentQuery>,
) -> Result<web::Json<Vec<DepartmentView>>, AppError> {
    Ok(web::Json(departments::list(&st, &q).await?))
}

/// One department. Public.
#[utoipa::path(
    tag = "departments",
    params(("id" = Uuid, Path, description = "Department id")),
    responses(
        (status = 200, description = "The department", body = DepartmentView),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/departments/{id}")]
async fn get_department(st: web::Data<AppState>, id: web::Path<Uuid>) -> Result<web::Json<DepartmentView>, AppError> {
    Ok(web::Json(departments::get(&st, *id).await?))
}

/// Create a department (`org.manage` over the parent).
#[utoipa::path(
    tag = "departments",
    security(("bearer" = [])),
    request_body = CreateDepartment,
    responses(
        (status = 201, description = "Created", body = DepartmentView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rule violated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/departments")]
async fn create_department(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateDepartment>,
) -> Result<actix_web::HttpResponse, AppError> {
    let v = departments::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(actix_web::HttpResponse::Created().json(v))
}

/// Update a department; send back the `version` you read.
#[utoipa::path(
    tag = "departments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Department id")),
    request_body = UpdateDepartment,
    responses(
        (status = 200, description = "Updated", body = DepartmentView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version or still in use", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/departments/{id}")]
async fn update_department(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateDepartment>,
) -> Result<web::Json<DepartmentView>, AppError> {
    Ok(web::Json(departments::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}
