//! `/me`: the signed-in user.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::auth::service;
use crate::dto::auth::{ChangePasswordRequest, MePermission, MeResponse, MeRole};
use crate::entity::user;
use crate::error::AppError;
use crate::policy::Scope;
use crate::services::{positions, users};
use crate::state::AppState;
use sea_orm::EntityTrait;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me).service(change_my_password);
}

/// Who is signed in: the account, roles with scopes, permissions and positions.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = MeResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
async fn get_me(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<MeResponse>, AppError> {
    let p = &auth.principal;
    let u = user::Entity::find_by_id(p.user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let roles = users::roles_of(st.db.conn(), p.user_id)
        .await?
        .into_iter()
        .map(|r| MeRole { code: r.role_code, name: r.role_name, scope: r.scope, department_id: r.department_id })
        .collect();
    let mut widest: HashMap<_, Scope> = HashMap::new();
    for g in &p.grants {
        let e = widest.entry(g.permission).or_insert(g.scope);
        *e = (*e).max(g.scope);
    }
    let mut permissions: Vec<MePermission> =
        widest.into_iter().map(|(permission, scope)| MePermission { permission, scope }).collect();
    permissions.sort_by_key(|m| m.permission.as_str());
    Ok(web::Json(MeResponse {
        user: u.into(),
        roles,
        permissions,
        positions: positions::of_user(&st, p.user_id).await?,
    }))
}

/// Change one's own password. Every session ends; sign in again afterwards.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; all sessions revoked"),
        (status = 400, description = "Wrong current password or weak new password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/password")]
async fn change_my_password(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    service::change_password(&st, &auth.ctx, auth.principal.user_id, &b.current_password, &b.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
