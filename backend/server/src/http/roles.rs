//! `/roles` and `/permissions`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::org::{CreateRole, PermissionView, RoleView, UpdateRole, VersionQuery};
use crate::error::AppError;
use crate::policy::Permission;
use crate::services::roles;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_permissions)
        .service(list_roles)
        .service(get_role)
        .service(create_role)
        .service(update_role)
        .service(delete_role);
}

/// Every permission a role can grant.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Permissions", body = Vec<PermissionView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/permissions")]
async fn list_permissions(auth: Auth) -> Result<web::Json<Vec<PermissionView>>, AppError> {
    auth.principal.require(Permission::OrgRead)?;
    Ok(web::Json(roles::permissions()))
}

/// All roles.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Roles", body = Vec<RoleView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/roles")]
async fn list_roles(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<RoleView>>, AppError> {
    Ok(web::Json(roles::list(&st, &auth.principal).await?))
}

/// One role.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Role id")),
    responses(
        (status = 200, description = "The role", body = RoleView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/roles/{id}")]
async fn get_role(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<web::Json<RoleView>, AppError> {
    Ok(web::Json(roles::get(&st, &auth.principal, *id).await?))
}

/// Create a custom role (`role.manage`).
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    request_body = CreateRole,
    responses(
        (status = 201, description = "Created", body = RoleView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/roles")]
async fn create_role(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateRole>,
) -> Result<HttpResponse, AppError> {
    let v = roles::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Update a custom role; built-in roles answer 422.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Role id")),
    request_body = UpdateRole,
    responses(
        (status = 200, description = "Updated", body = RoleView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Built-in role", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/roles/{id}")]
async fn update_role(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateRole>,
) -> Result<web::Json<RoleView>, AppError> {
    Ok(web::Json(roles::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Delete a custom role nobody holds.
#[utoipa::path(
    tag = "roles",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Role id"), VersionQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Missing version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version or still held", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Built-in role", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/roles/{id}")]
async fn delete_role(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    roles::delete(&st, &auth.principal, &auth.ctx, *id, q.version).await?;
    Ok(HttpResponse::NoContent().finish())
}
