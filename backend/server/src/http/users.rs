//! `/users`: accounts, passwords and role assignments (administrators).

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::auth::sessions;
use crate::dto::auth::SessionView;
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{
    CreateUser, PeopleQuery, PersonCard, ResetPassword, SetUserRoles, UpdateUser, UserQuery, UserRolesView, UserView,
};
use crate::error::AppError;
use crate::services::users;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_people)
        .service(list_users)
        .service(get_user)
        .service(create_user)
        .service(update_user)
        .service(reset_user_password)
        .service(get_user_roles)
        .service(set_user_roles)
        .service(user_sessions)
        .service(end_user_session)
        .service(reset_user_totp);
}

/// The campus directory for pickers, for anyone signed in: active staff whose name contains `q`
/// or whose username or 工号 is `q`, with their department — no contact details — at most 20.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(PeopleQuery),
    responses(
        (status = 200, description = "Matching staff", body = Vec<PersonCard>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people")]
async fn list_people(
    st: web::Data<AppState>,
    _auth: Auth,
    q: ValidQuery<PeopleQuery>,
) -> Result<web::Json<Vec<PersonCard>>, AppError> {
    Ok(web::Json(users::people(&st, &q.0).await?))
}

/// Users within the caller's `org.read` scope.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(UserQuery, PageQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
async fn list_users(
    st: web::Data<AppState>,
    auth: Auth,
    q: web::Query<UserQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<UserView>>, AppError> {
    Ok(web::Json(users::list(&st, &auth.principal, &q, &page.0).await?))
}

/// One user. Reading someone else's record is audited.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
async fn get_user(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<web::Json<UserView>, AppError> {
    Ok(web::Json(users::get(&st, &auth.principal, &auth.ctx, *id).await?))
}

/// Create an account (`user.manage` over its department). New accounts can apply for services.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or number taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
async fn create_user(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateUser>,
) -> Result<HttpResponse, AppError> {
    let v = users::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Update an account; disabling it ends all its sessions.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "Updated", body = UserView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rule violated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/users/{id}")]
async fn update_user(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateUser>,
) -> Result<web::Json<UserView>, AppError> {
    Ok(web::Json(users::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Set a new password for a user; all their sessions end.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = ResetPassword,
    responses(
        (status = 200, description = "Password set", body = UserView),
        (status = 400, description = "Weak password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/password")]
async fn reset_user_password(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<ResetPassword>,
) -> Result<web::Json<UserView>, AppError> {
    Ok(web::Json(users::reset_password(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// A user's roles.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Roles", body = UserRolesView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}/roles")]
async fn get_user_roles(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<UserRolesView>, AppError> {
    Ok(web::Json(users::get_roles(&st, &auth.principal, *id).await?))
}

/// Replace a user's roles. Nobody can grant permissions they do not hold.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = SetUserRoles,
    responses(
        (status = 200, description = "Roles set", body = UserRolesView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/users/{id}/roles")]
async fn set_user_roles(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<SetUserRoles>,
) -> Result<web::Json<UserRolesView>, AppError> {
    Ok(web::Json(users::set_roles(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// A user's open sign-in sessions: for the user, and for user administrators whose scope reaches
/// the account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "Open sessions", body = Vec<SessionView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}/sessions")]
async fn user_sessions(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<SessionView>>, AppError> {
    Ok(web::Json(sessions::of_user(&st, &auth.principal, &auth.ctx, *id, auth.session).await?))
}

/// End one session of a user (`user.manage` over the account); its tokens stop working at once.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id"), ("session_id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or open session within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}/sessions/{session_id}")]
async fn end_user_session(
    st: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, sid) = path.into_inner();
    sessions::revoke(&st, &auth.principal, &auth.ctx, id, sid).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user's second factor (a lost phone; `user.manage` over the account). Their sessions end;
/// they sign in with the password and enrol again.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user within your scope, or no second factor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}/totp")]
async fn reset_user_totp(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    crate::auth::service::totp_reset(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
