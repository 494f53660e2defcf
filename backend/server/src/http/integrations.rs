//! `/api-clients`, `/oauth/token`, `/webhooks`: integrators' credentials and event subscriptions.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ReqCtx, ValidForm, ValidJson, ValidQuery};
use super::problem::Problem;
use crate::dto::common::Page;
use crate::dto::integration::{
    ApiClientSecret, ApiClientView, ClientTokenRequest, ClientTokenResponse, CreateApiClient, CreateWebhook,
    DeliveryQuery, DeliveryView, RotateSecret, UpdateApiClient, UpdateWebhook, WebhookSecret, WebhookView,
};
use crate::error::AppError;
use crate::services::integrations;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(client_token)
        .service(list_clients)
        .service(create_client)
        .service(get_client)
        .service(update_client)
        .service(rotate_client_secret)
        .service(list_hooks)
        .service(create_hook)
        .service(get_hook)
        .service(update_hook)
        .service(ping_hook)
        .service(list_deliveries)
        .service(redeliver);
}

/// A token for an API client (OAuth 2.0 client credentials, RFC 6749 §4.4). Authenticate with
/// HTTP Basic (`client_id:client_secret`) or `client_id` and `client_secret` in the form; `scope`
/// (space-separated permissions) narrows what the token may do to part of what the client's roles
/// give. Public.
#[utoipa::path(
    tag = "integrations",
    request_body(content = ClientTokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token", body = ClientTokenResponse),
        (status = 400, description = "Unsupported grant type, or a scope the client does not hold", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid client credentials", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/oauth/token")]
async fn client_token(
    st: web::Data<AppState>,
    req: HttpRequest,
    ctx: ReqCtx,
    body: ValidForm<ClientTokenRequest>,
) -> Result<HttpResponse, AppError> {
    let basic = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .map(str::to_owned);
    let t = integrations::token(&st, &ctx.0, basic.as_deref(), body.0).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(t))
}

/// Every API client (the IT office: `settings.manage`).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Clients", body = Vec<ApiClientView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api-clients")]
async fn list_clients(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<ApiClientView>>, AppError> {
    Ok(web::Json(integrations::list_clients(&st, &auth.principal).await?))
}

/// Create an API client with its system account; give the account roles with
/// `PUT /users/{user_id}/roles`. The secret is in this answer only.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    request_body = CreateApiClient,
    responses(
        (status = 201, description = "Created, with its secret", body = ApiClientSecret),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api-clients")]
async fn create_client(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateApiClient>,
) -> Result<HttpResponse, AppError> {
    let c = integrations::create_client(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(c))
}

/// One API client.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Client id (not the public client_id)")),
    responses(
        (status = 200, description = "The client", body = ApiClientView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api-clients/{id}")]
async fn get_client(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApiClientView>, AppError> {
    Ok(web::Json(integrations::get_client(&st, &auth.principal, id.into_inner()).await?))
}

/// Rename, describe, enable or disable an API client (disabling stops its tokens at once).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = UpdateApiClient,
    responses(
        (status = 200, description = "The client", body = ApiClientView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api-clients/{id}")]
async fn update_client(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateApiClient>,
) -> Result<web::Json<ApiClientView>, AppError> {
    Ok(web::Json(integrations::update_client(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// A new secret for an API client; the old secret and its tokens stop working. The secret is in
/// this answer only.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = RotateSecret,
    responses(
        (status = 200, description = "The client with its new secret", body = ApiClientSecret),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api-clients/{id}/secret")]
async fn rotate_client_secret(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<RotateSecret>,
) -> Result<HttpResponse, AppError> {
    let c = integrations::rotate_secret(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(c))
}

/// Every webhook (the IT office).
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Webhooks", body = Vec<WebhookView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
async fn list_hooks(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<WebhookView>>, AppError> {
    Ok(web::Json(integrations::list_hooks(&st, &auth.principal).await?))
}

/// Subscribe a URL to affair and certificate events. Each event is POSTed as JSON with
/// `X-Tongban-Event`, `X-Tongban-Delivery`, `X-Tongban-Timestamp` and
/// `X-Tongban-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")`; failures are retried
/// with back-off. The secret is in this answer only.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookSecret),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
async fn create_hook(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateWebhook>,
) -> Result<HttpResponse, AppError> {
    let w = integrations::create_hook(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(w))
}

/// One webhook.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
async fn get_hook(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<WebhookView>, AppError> {
    Ok(web::Json(integrations::get_hook(&st, &auth.principal, id.into_inner()).await?))
}

/// Change a webhook's URL, events, department filter or activity.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/webhooks/{id}")]
async fn update_hook(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateWebhook>,
) -> Result<web::Json<WebhookView>, AppError> {
    Ok(web::Json(integrations::update_hook(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// Queue a `ping` event to a webhook to check that it is reachable and checks signatures.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/ping")]
async fn ping_hook(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let d = integrations::ping(&st, &auth.principal, &auth.ctx, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(d))
}

/// A webhook's delivery log, newest first: every event, its attempts, the receiver's last status.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id"), DeliveryQuery),
    responses(
        (status = 200, description = "Deliveries", body = Page<DeliveryView>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
async fn list_deliveries(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: ValidQuery<DeliveryQuery>,
) -> Result<web::Json<Page<DeliveryView>>, AppError> {
    Ok(web::Json(integrations::deliveries(&st, &auth.principal, id.into_inner(), &q.0).await?))
}

/// Send a failed or given-up delivery again now.
#[utoipa::path(
    tag = "integrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued again", body = DeliveryView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the IT office", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already delivered", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-deliveries/{id}/redeliver")]
async fn redeliver(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let d = integrations::redeliver(&st, &auth.principal, &auth.ctx, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(d))
}
