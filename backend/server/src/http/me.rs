//! `/me`: the signed-in user.

use std::collections::HashMap;

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::auth::{service, sessions};
use crate::dto::auth::{
    ChangePasswordRequest, MePermission, MeResponse, MeRole, SessionView, TotpCodeRequest, TotpSetup, TotpSetupRequest,
    TotpStatus,
};
use crate::entity::user;
use crate::error::AppError;
use crate::policy::Scope;
use crate::services::{positions, users};
use crate::state::AppState;
use sea_orm::EntityTrait;
use uuid::Uuid;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_me)
        .service(change_my_password)
        .service(my_sessions)
        .service(end_my_session)
        .service(my_totp)
        .service(totp_setup)
        .service(totp_enable)
        .service(totp_disable);
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

/// The caller's open sign-in sessions (devices and browsers), newest use first; the calling one is
/// marked `current`.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open sessions", body = Vec<SessionView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/sessions")]
async fn my_sessions(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<SessionView>>, AppError> {
    Ok(web::Json(sessions::mine(&st, &auth.principal, auth.session).await?))
}

/// End one of the caller's sessions (sign a device out); its tokens stop working at once.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such open session of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/sessions/{id}")]
async fn end_my_session(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    sessions::revoke(&st, &auth.principal, &auth.ctx, auth.principal.user_id, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's second factor (TOTP): enrolled or not, required for their administrator
/// permissions or not, and whether this session signed in with it.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Second factor", body = TotpStatus),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/totp")]
async fn my_totp(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<TotpStatus>, AppError> {
    // Judged on the account's own permissions, not the session's (which may lack the admin ones).
    let u = crate::entity::user::Entity::find_by_id(auth.principal.user_id)
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    let full = crate::auth::principal::load_for_user(st.db.conn(), &u).await?;
    Ok(web::Json(service::totp_status(&st, &full, &auth.amr).await?))
}

/// Begin enrolling a TOTP second factor: a new secret for the authenticator app, shown once.
/// Confirm with `POST /me/totp/enable`.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = TotpSetupRequest,
    responses(
        (status = 200, description = "The new secret", body = TotpSetup),
        (status = 400, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A second factor is already enabled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/totp/setup")]
async fn totp_setup(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<TotpSetupRequest>,
) -> Result<web::Json<TotpSetup>, AppError> {
    Ok(web::Json(service::totp_setup(&st, &auth.ctx, auth.principal.user_id, &body.0.password).await?))
}

/// Confirm the second factor with a code from the app; sign-in asks for a code from now on.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 204, description = "Enabled"),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in, or the code is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already enabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No secret set up yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/totp/enable")]
async fn totp_enable(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<TotpCodeRequest>,
) -> Result<HttpResponse, AppError> {
    service::totp_enable(&st, &auth.ctx, auth.principal.user_id, &body.0.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Disable the second factor, proven with a current code.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 204, description = "Disabled"),
        (status = 400, description = "Bad input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in, or the code is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No second factor enabled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/totp/disable")]
async fn totp_disable(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<TotpCodeRequest>,
) -> Result<HttpResponse, AppError> {
    service::totp_disable(&st, &auth.ctx, auth.principal.user_id, &body.0.code).await?;
    Ok(HttpResponse::NoContent().finish())
}
