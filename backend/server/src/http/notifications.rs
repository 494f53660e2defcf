//! `/notifications`: the signed-in user's messages.

use std::time::Duration;

use actix_web::http::header::{self, ContentEncoding};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidQuery};
use super::problem::Problem;
use crate::dto::common::{Page, PageQuery};
use crate::error::AppError;
use crate::services::notifications::{self, NotificationView};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_notifications)
        .service(notification_summary)
        .service(notification_stream)
        .service(read_all_notifications)
        .service(read_notification);
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

/// Unread notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSummary {
    /// How many are unread.
    pub unread: u64,
}

/// How many of my notifications are unread (the badge).
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts", body = NotificationSummary),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications/summary")]
async fn notification_summary(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<NotificationSummary>, AppError> {
    Ok(web::Json(NotificationSummary { unread: notifications::unread(&st, auth.principal.user_id).await? }))
}

/// Mark all my notifications read.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts afterwards", body = NotificationSummary),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/read-all")]
async fn read_all_notifications(
    st: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<NotificationSummary>, AppError> {
    notifications::mark_all_read(&st, &auth.principal).await?;
    Ok(web::Json(NotificationSummary { unread: notifications::unread(&st, auth.principal.user_id).await? }))
}

fn sse_event(event: &str, id: Option<uuid::Uuid>, data: &impl Serialize) -> Bytes {
    let data = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    match id {
        Some(id) => Bytes::from(format!("id: {id}\nevent: {event}\ndata: {data}\n\n")),
        None => Bytes::from(format!("event: {event}\ndata: {data}\n\n")),
    }
}

/// The live stream of my notifications (Server-Sent Events, `text/event-stream`).
///
/// Events: `unread` (`{"unread": n}`) at the start and after each notification, `notification`
/// (a notification, with its id as the event id) and `resync` when the client should reload its
/// list. Comments keep the connection alive every 15 seconds. A reconnect with `Last-Event-ID`
/// first replays what arrived meanwhile. Send the token in `Authorization` (use a fetch-based
/// event-source client); tokens are never accepted in the URL, where logs would keep them.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "The last notification id received")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications/stream")]
async fn notification_stream(st: web::Data<AppState>, auth: Auth, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let me = auth.principal.user_id;
    // Subscribe before reading the backlog, so nothing falls between the two.
    let rx = st.live.subscribe();
    let last: Option<uuid::Uuid> =
        req.headers().get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse().ok());
    let mut first = vec![Bytes::from_static(b"retry: 5000\n\n")];
    let mut sent = std::collections::HashSet::new();
    if let Some(last) = last {
        for n in notifications::since(&st, me, last).await? {
            sent.insert(n.id);
            first.push(sse_event("notification", Some(n.id), &n));
        }
    }
    first.push(sse_event("unread", None, &NotificationSummary { unread: notifications::unread(&st, me).await? }));
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();
    let closing = st.live.closing();
    let state = (rx, tick, std::collections::VecDeque::from(first), sent, st.clone(), closing);
    let stream = futures_util::stream::unfold(
        state,
        move |(mut rx, mut tick, mut queue, mut sent, st, mut closing)| async move {
            loop {
                if let Some(b) = queue.pop_front() {
                    return Some((Ok::<_, actix_web::Error>(b), (rx, tick, queue, sent, st, closing)));
                }
                if *closing.borrow() {
                    return None;
                }
                tokio::select! {
                    _ = closing.changed() => return None,
                    ev = rx.recv() => match ev {
                        Ok(e) if e.user_id == me && sent.insert(e.view.id) => {
                            queue.push_back(sse_event("notification", Some(e.view.id), &e.view));
                            let unread = notifications::unread(&st, me).await.unwrap_or_default();
                            queue.push_back(sse_event("unread", None, &NotificationSummary { unread }));
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => queue.push_back(sse_event("resync", None, &serde_json::json!({}))),
                        Err(RecvError::Closed) => return None,
                    },
                    _ = tick.tick() => queue.push_back(Bytes::from_static(b": keep-alive\n\n")),
                }
                if sent.len() > 10_000 {
                    sent.clear();
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(ContentEncoding::Identity)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}
