//! `/notifications`: the signed-in user's messages.

use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidQuery};
use super::problem::Problem;
use crate::dto::common::{Page, PageQuery};
use crate::error::AppError;
use crate::services::notifications::{self, NotificationView};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_notifications).service(read_notification);
}

/// Which notifications.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    unread: bool,
}

/// My notifications, newest first.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(NotificationQuery, PageQuery),
    responses(
        (status = 200, description = "A page of notifications", body = Page<NotificationView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications")]
async fn list_notifications(
    st: web::Data<AppState>,
    auth: Auth,
    q: web::Query<NotificationQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<NotificationView>>, AppError> {
    Ok(web::Json(notifications::list(&st, &auth.principal, q.unread, &page.0).await?))
}

/// Mark a notification read.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, description = "Read", body = NotificationView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notification of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/{id}/read")]
async fn read_notification(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<NotificationView>, AppError> {
    Ok(web::Json(notifications::mark_read(&st, &auth.principal, *id).await?))
}
