//! `/hall` (the front page, public and personalised with a token) and the signed-in user's
//! favourites and recently visited guides (`/me/favorites`, `/me/recent`).

use actix_web::{HttpRequest, HttpResponse, delete, get, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, MaybeAuth, ValidQuery, encoded_response};
use super::problem::Problem;
use crate::dto::common::{Page, PageQuery};
use crate::dto::hall::{HallView, MyGuide};
use crate::error::AppError;
use crate::services::hall;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_hall)
        .service(list_my_favorites)
        .service(add_my_favorite)
        .service(remove_my_favorite)
        .service(list_my_recent);
}

/// The hall (一站式网上办事大厅), public: hot services of the last 30 days, recommended services and
/// quick channels for the caller's audience (visitors when not signed in), themes with counts; with
/// a token also the caller's favourites and recent guides.
#[utoipa::path(
    tag = "hall",
    responses(
        (status = 200, description = "The hall", body = HallView),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/hall")]
async fn get_hall(st: web::Data<AppState>, auth: MaybeAuth, req: HttpRequest) -> Result<HttpResponse, AppError> {
    // The anonymous hall is the same for everyone and may be cached briefly; a personalised one
    // (favourites, recent guides) must never be kept by a shared cache.
    let mut ok = HttpResponse::Ok();
    Ok(match hall::hall(&st, auth.0.as_ref().map(|a| &a.principal)).await? {
        hall::HallPage::Shared(body) => {
            ok.insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=30"));
            encoded_response(&req, ok, &body, None, &["Authorization"])
        }
        hall::HallPage::Personal(view) => ok
            .insert_header((actix_web::http::header::CACHE_CONTROL, "private, no-cache"))
            .insert_header((actix_web::http::header::VARY, "Authorization"))
            .json(view),
    })
}

/// My favourite guides that are in the hall, newest first.
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of favourites", body = Page<MyGuide>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/favorites")]
async fn list_my_favorites(
    st: web::Data<AppState>,
    auth: Auth,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<MyGuide>>, AppError> {
    Ok(web::Json(hall::favorites(&st, &auth.principal, &page.0).await?))
}

/// Mark a guide as a favourite (doing it again changes nothing).
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("guide_id" = Uuid, Path, description = "Guide id")),
    responses(
        (status = 204, description = "It is a favourite"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide in the hall", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/favorites/{guide_id}")]
async fn add_my_favorite(
    st: web::Data<AppState>,
    auth: Auth,
    guide_id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    hall::add_favorite(&st, &auth.principal, &auth.ctx, *guide_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a favourite (removing one that is not there changes nothing).
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(("guide_id" = Uuid, Path, description = "Guide id")),
    responses(
        (status = 204, description = "Not a favourite"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/favorites/{guide_id}")]
async fn remove_my_favorite(
    st: web::Data<AppState>,
    auth: Auth,
    guide_id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    hall::remove_favorite(&st, &auth.principal, &auth.ctx, *guide_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Guides I read recently, latest first (kept when a signed-in user reads `GET /guides/{id}`).
#[utoipa::path(
    tag = "hall",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of recent guides", body = Page<MyGuide>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/recent")]
async fn list_my_recent(
    st: web::Data<AppState>,
    auth: Auth,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<MyGuide>>, AppError> {
    Ok(web::Json(hall::recent(&st, &auth.principal, &page.0).await?))
}
