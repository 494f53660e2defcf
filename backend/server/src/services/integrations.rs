//! Integrators (第十三条, authorised API access): API clients with client-credentials tokens, and
//! webhooks for affair and certificate events.
//!
//! An API client is backed by a system account (`users.kind = system`, no password): the IT office
//! gives it roles like anyone, and a token may ask for fewer permissions (`scope`). Its secret is
//! 256 random bits kept as a SHA-256 hash and shown once.
//!
//! Webhook deliveries are an outbox written in the transaction of the change; a worker on any
//! instance claims due ones (`FOR UPDATE SKIP LOCKED` on PostgreSQL), POSTs them signed with
//! HMAC-SHA256 of timestamp and body, and retries with back-off (30 s doubling, ten attempts)
//! before giving up; every attempt is in the delivery log.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::auth::principal;
use crate::auth::tokens::random_bytes;
use crate::dto::common::Page;
use crate::dto::integration::{
    ApiClientSecret, ApiClientView, ClientStatus, ClientTokenRequest, ClientTokenResponse, CreateApiClient,
    CreateWebhook, DeliveryQuery, DeliveryStatus, DeliveryView, RotateSecret, UpdateApiClient, UpdateWebhook,
    WebhookEvent, WebhookSecret, WebhookView,
};
use crate::dto::org::{UserKind, UserStatus};
use crate::entity::{affair, api_client, department, user, webhook, webhook_delivery};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{DataScope, Permission, Principal};
use crate::state::AppState;
use crate::time::now;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 10;
const LEASE: TimeDelta = TimeDelta::seconds(60);
const BATCH: i64 = 20;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

/// Integrations are the IT office's: `settings.manage` college-wide.
fn require_admin(p: &Principal) -> AppResult<()> {
    if p.scope(Permission::SettingsManage) == Some(DataScope::All) { Ok(()) } else { Err(AppError::forbidden()) }
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equal in constant time (for secrets' hashes).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn new_secret() -> AppResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>().map_err(internal)?))
}

// ---------------------------------------------------------------------------------------------
// API clients

async fn client_view<C: ConnectionTrait>(db: &C, c: api_client::Model) -> AppResult<ApiClientView> {
    let permissions = match user::Entity::find_by_id(c.user_id).one(db).await? {
        Some(u) => {
            principal::load_for_user(db, &u).await?.permissions().iter().map(|p| p.as_str().to_owned()).collect()
        }
        None => Vec::new(),
    };
    Ok(ApiClientView {
        id: c.id,
        client_id: c.client_id,
        name: c.name,
        description: c.description,
        status: ClientStatus::parse(&c.status).unwrap_or(ClientStatus::Disabled),
        user_id: c.user_id,
        permissions,
        created_at: c.created_at,
        secret_rotated_at: c.secret_rotated_at,
        last_used_at: c.last_used_at,
        version: c.version,
    })
}

/// Every API client.
pub async fn list_clients(st: &AppState, p: &Principal) -> AppResult<Vec<ApiClientView>> {
    require_admin(p)?;
    let db = st.db.conn();
    let mut out = Vec::new();
    for c in api_client::Entity::find().order_by_asc(api_client::Column::Name).all(db).await? {
        out.push(client_view(db, c).await?);
    }
    Ok(out)
}

/// One API client.
pub async fn get_client(st: &AppState, p: &Principal, id: Uuid) -> AppResult<ApiClientView> {
    require_admin(p)?;
    let c = api_client::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    client_view(st.db.conn(), c).await
}

/// Create a client and its system account; the secret is shown in the answer only.
pub async fn create_client(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: CreateApiClient,
) -> AppResult<ApiClientSecret> {
    require_admin(p)?;
    let txn = st.db.write().await?;
    if let Some(d) = req.department_id
        && department::Entity::find_by_id(d).one(&*txn).await?.is_none()
    {
        return Err(AppError::field("department_id", "not_found", "部门不存在", "No such department"));
    }
    let client_id = format!("tb_{}", hex::encode(random_bytes::<10>().map_err(internal)?));
    let secret = new_secret()?;
    let t = now();
    let user_id = Uuid::now_v7();
    user::ActiveModel {
        id: Set(user_id),
        username: Set(format!("api_{client_id}")),
        display_name: Set(req.name.trim().to_owned()),
        kind: Set(UserKind::System.as_str().to_owned()),
        student_no: Set(None),
        staff_no: Set(None),
        department_id: Set(req.department_id),
        email: Set(None),
        phone: Set(None),
        password_hash: Set(None),
        status: Set(UserStatus::Active.as_str().to_owned()),
        auth_epoch: Set(0),
        password_changed_at: Set(None),
        last_login_at: Set(None),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    let c = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        user_id: Set(user_id),
        name: Set(req.name.trim().to_owned()),
        description: Set(req.description.trim().to_owned()),
        secret_hash: Set(secret_hash(&secret)),
        status: Set(ClientStatus::Active.as_str().to_owned()),
        created_by: Set(Some(p.user_id)),
        created_at: Set(t),
        secret_rotated_at: Set(t),
        last_used_at: Set(None),
        version: Set(1),
    }
    .insert(&*txn)
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("api_client.create", "api_client", c.id)
            .after(&json!({ "client_id": c.client_id, "name": c.name, "user_id": user_id })),
    )
    .await?;
    let client = client_view(&*txn, c).await?;
    txn.commit().await?;
    Ok(ApiClientSecret { client, client_secret: secret })
}

/// Rename, describe, enable or disable a client. Disabling also stops its tokens at once.
pub async fn update_client(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateApiClient,
) -> AppResult<ApiClientView> {
    require_admin(p)?;
    let txn = st.db.write().await?;
    let c = api_client::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let r = api_client::Entity::update_many()
        .col_expr(api_client::Column::Name, Expr::value(req.name.trim()))
        .col_expr(api_client::Column::Description, Expr::value(req.description.trim()))
        .col_expr(api_client::Column::Status, Expr::value(req.status.as_str()))
        .col_expr(api_client::Column::Version, Expr::col(api_client::Column::Version).add(1))
        .filter(api_client::Column::Id.eq(id))
        .filter(api_client::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let status = if req.status == ClientStatus::Active { UserStatus::Active } else { UserStatus::Disabled };
    let mut account = user::Entity::update_many()
        .col_expr(user::Column::DisplayName, Expr::value(req.name.trim()))
        .col_expr(user::Column::Status, Expr::value(status.as_str()));
    if req.status != ClientStatus::parse(&c.status).unwrap_or(ClientStatus::Disabled) {
        account = account.col_expr(user::Column::AuthEpoch, Expr::col(user::Column::AuthEpoch).add(1));
    }
    account.filter(user::Column::Id.eq(c.user_id)).exec(&*txn).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("api_client.update", "api_client", id)
            .before(&json!({ "name": c.name, "status": c.status }))
            .after(&json!({ "name": req.name.trim(), "status": req.status.as_str() })),
    )
    .await?;
    let c = api_client::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let v = client_view(&*txn, c).await?;
    txn.commit().await?;
    Ok(v)
}

/// A new secret; the old one and every token issued with it stop working.
pub async fn rotate_secret(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: RotateSecret,
) -> AppResult<ApiClientSecret> {
    require_admin(p)?;
    let secret = new_secret()?;
    let txn = st.db.write().await?;
    let c = api_client::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let r = api_client::Entity::update_many()
        .col_expr(api_client::Column::SecretHash, Expr::value(secret_hash(&secret)))
        .col_expr(api_client::Column::SecretRotatedAt, Expr::value(now()))
        .col_expr(api_client::Column::Version, Expr::col(api_client::Column::Version).add(1))
        .filter(api_client::Column::Id.eq(id))
        .filter(api_client::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    user::Entity::update_many()
        .col_expr(user::Column::AuthEpoch, Expr::col(user::Column::AuthEpoch).add(1))
        .filter(user::Column::Id.eq(c.user_id))
        .exec(&*txn)
        .await?;
    audit::record(&*txn, ctx, Entry::new("api_client.rotate_secret", "api_client", id)).await?;
    let c = api_client::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let client = client_view(&*txn, c).await?;
    txn.commit().await?;
    Ok(ApiClientSecret { client, client_secret: secret })
}

fn invalid_client() -> AppError {
    AppError::detail(ErrorCode::InvalidCredentials, "客户端凭据无效", "Invalid client credentials")
}

/// The client credentials grant (RFC 6749 §4.4): `basic` is the `Authorization: Basic` header's
/// value, if sent.
pub async fn token(
    st: &AppState,
    ctx: &AuditCtx,
    basic: Option<&str>,
    req: ClientTokenRequest,
) -> AppResult<ClientTokenResponse> {
    if req.grant_type != "client_credentials" {
        return Err(AppError::field(
            "grant_type",
            "unsupported_grant_type",
            "只支持 client_credentials",
            "Only client_credentials is supported",
        ));
    }
    let (client_id, secret) = match basic {
        Some(b) => {
            let decoded = STANDARD.decode(b.trim()).map_err(|_| invalid_client())?;
            let text = String::from_utf8(decoded).map_err(|_| invalid_client())?;
            let (id, secret) = text.split_once(':').ok_or_else(invalid_client)?;
            (id.to_owned(), secret.to_owned())
        }
        None => match (req.client_id, req.client_secret) {
            (Some(id), Some(secret)) => (id, secret),
            _ => return Err(invalid_client()),
        },
    };
    let db = st.db.conn();
    let client = api_client::Entity::find().filter(api_client::Column::ClientId.eq(&client_id)).one(db).await?;
    // Hash either way, so a wrong id and a wrong secret take the same time.
    let given = secret_hash(&secret);
    let Some(c) = client.filter(|c| same(&c.secret_hash, &given) && c.status == ClientStatus::Active.as_str()) else {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("api_client.token", "api_client", &client_id).failed()).await?;
        txn.commit().await?;
        return Err(invalid_client());
    };
    let account = user::Entity::find_by_id(c.user_id).one(db).await?.ok_or_else(invalid_client)?;
    if account.status != UserStatus::Active.as_str() {
        return Err(invalid_client());
    }
    let held: Vec<String> =
        principal::load_for_user(db, &account).await?.permissions().iter().map(|p| p.as_str().to_owned()).collect();
    let asked: Vec<String> = match req.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => held.clone(),
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(bad) = asked.iter().find(|a| !held.contains(a)) {
        return Err(AppError::field(
            "scope",
            "invalid_scope",
            format!("该客户端没有权限「{bad}」"),
            format!("The client does not hold `{bad}`"),
        ));
    }
    let ttl = st.settings.access_token_ttl_secs;
    let token = st.keys.issue(
        account.id,
        account.auth_epoch,
        ttl,
        crate::auth::tokens::Grant { scp: Some(asked.clone()), ..Default::default() },
    )?;
    let txn = st.db.write().await?;
    api_client::Entity::update_many()
        .col_expr(api_client::Column::LastUsedAt, Expr::value(now()))
        .filter(api_client::Column::Id.eq(c.id))
        .exec(&*txn)
        .await?;
    audit::record(
        &*txn,
        &ctx.as_user(account.id, &account.username),
        Entry::new("api_client.token", "api_client", &c.client_id).after(&json!({ "scope": asked })),
    )
    .await?;
    txn.commit().await?;
    Ok(ClientTokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: asked.join(" "),
    })
}

// ---------------------------------------------------------------------------------------------
// Webhooks

fn hook_view(w: webhook::Model) -> WebhookView {
    WebhookView {
        id: w.id,
        name: w.name,
        url: w.url,
        events: serde_json::from_value(w.events).unwrap_or_default(),
        department_id: w.department_id,
        active: w.active,
        created_at: w.created_at,
        updated_at: w.updated_at,
        version: w.version,
    }
}

/// Every webhook.
pub async fn list_hooks(st: &AppState, p: &Principal) -> AppResult<Vec<WebhookView>> {
    require_admin(p)?;
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::Name)
        .all(st.db.conn())
        .await?
        .into_iter()
        .map(hook_view)
        .collect())
}

/// One webhook.
pub async fn get_hook(st: &AppState, p: &Principal, id: Uuid) -> AppResult<WebhookView> {
    require_admin(p)?;
    Ok(hook_view(webhook::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?))
}

fn events_json(events: &[WebhookEvent]) -> Value {
    let mut v: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    json!(v)
}

/// Create a webhook; its secret (given or generated) is shown in the answer only.
pub async fn create_hook(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateWebhook) -> AppResult<WebhookSecret> {
    require_admin(p)?;
    let secret = match req.secret {
        Some(s) => s,
        None => new_secret()?,
    };
    let txn = st.db.write().await?;
    if webhook::Entity::find().filter(webhook::Column::Name.eq(&req.name)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("name", "名称已被使用", "The name is taken"));
    }
    let t = now();
    let w = webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(req.name.clone()),
        url: Set(req.url.clone()),
        secret: Set(secret.clone()),
        events: Set(events_json(&req.events)),
        department_id: Set(req.department_id),
        active: Set(true),
        created_by: Set(Some(p.user_id)),
        created_at: Set(t),
        updated_at: Set(t),
        version: Set(1),
    }
    .insert(&*txn)
    .await
    .map_err(crate::services::unique_to_conflict)?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("webhook.create", "webhook", w.id)
            .after(&json!({ "name": w.name, "url": w.url, "events": w.events })),
    )
    .await?;
    txn.commit().await?;
    Ok(WebhookSecret { webhook: hook_view(w), secret })
}

/// Change a webhook.
pub async fn update_hook(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateWebhook,
) -> AppResult<WebhookView> {
    require_admin(p)?;
    let txn = st.db.write().await?;
    let before = webhook::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let r = webhook::Entity::update_many()
        .col_expr(webhook::Column::Url, Expr::value(req.url.clone()))
        .col_expr(webhook::Column::Events, Expr::value(events_json(&req.events)))
        .col_expr(webhook::Column::DepartmentId, Expr::value(req.department_id))
        .col_expr(webhook::Column::Active, Expr::value(req.active))
        .col_expr(webhook::Column::UpdatedAt, Expr::value(now()))
        .col_expr(webhook::Column::Version, Expr::col(webhook::Column::Version).add(1))
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("webhook.update", "webhook", id)
            .before(&json!({ "url": before.url, "events": before.events, "active": before.active }))
            .after(&json!({ "url": req.url, "events": events_json(&req.events), "active": req.active })),
    )
    .await?;
    let w = webhook::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    txn.commit().await?;
    Ok(hook_view(w))
}

fn delivery_view(d: webhook_delivery::Model) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.webhook_id,
        event: d.event,
        status: DeliveryStatus::parse(&d.status).unwrap_or(DeliveryStatus::Pending),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at,
        last_status: d.last_status,
        last_error: d.last_error,
        payload: d.payload,
        created_at: d.created_at,
        delivered_at: d.delivered_at,
    }
}

/// The delivery log of a webhook, newest first.
pub async fn deliveries(st: &AppState, p: &Principal, id: Uuid, q: &DeliveryQuery) -> AppResult<Page<DeliveryView>> {
    require_admin(p)?;
    let db = st.db.conn();
    webhook::Entity::find_by_id(id).one(db).await?.ok_or_else(AppError::not_found)?;
    let mut find = webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(id));
    if let Some(s) = q.status {
        find = find.filter(webhook_delivery::Column::Status.eq(s.as_str()));
    }
    let paging = q.paging();
    let pages = find
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .paginate(db, paging.size());
    let total = pages.num_items().await?;
    let items = pages.fetch_page(paging.page() - 1).await?.into_iter().map(delivery_view).collect();
    Ok(Page { items, total, page: paging.page(), page_size: paging.size() })
}

/// Queue a `ping` to a webhook, to check it is reachable and verifies signatures.
pub async fn ping(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<DeliveryView> {
    require_admin(p)?;
    let txn = st.db.write().await?;
    let w = webhook::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let d = queue(&*txn, &w, WebhookEvent::Ping.as_str(), json!({ "webhook": w.name })).await?;
    audit::record(&*txn, ctx, Entry::new("webhook.ping", "webhook", id)).await?;
    txn.commit().await?;
    Ok(delivery_view(d))
}

/// Send a delivery again now (after it failed or was given up).
pub async fn redeliver(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<DeliveryView> {
    require_admin(p)?;
    let txn = st.db.write().await?;
    let d = webhook_delivery::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    if d.status == DeliveryStatus::Delivered.as_str() {
        return Err(AppError::detail(ErrorCode::AffairStateConflict, "已送达，无需重发", "Already delivered"));
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now()))
        .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    audit::record(&*txn, ctx, Entry::new("webhook.redeliver", "webhook_delivery", id)).await?;
    let d = webhook_delivery::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    txn.commit().await?;
    Ok(delivery_view(d))
}

async fn queue<C: ConnectionTrait>(
    db: &C,
    w: &webhook::Model,
    event: &str,
    data: Value,
) -> AppResult<webhook_delivery::Model> {
    let t = now();
    let id = Uuid::now_v7();
    let payload = json!({ "id": id, "event": event, "occurred_at": t, "data": data });
    Ok(webhook_delivery::ActiveModel {
        id: Set(id),
        webhook_id: Set(w.id),
        event: Set(event.to_owned()),
        payload: Set(payload),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(t),
        locked_until: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(t),
        delivered_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Queue `event` for every active webhook that wants it (and, with a department filter, only for
/// processes of that department), in the caller's transaction.
pub(crate) async fn emit<C: ConnectionTrait>(
    db: &C,
    event: WebhookEvent,
    department_id: Option<Uuid>,
    data: Value,
) -> AppResult<()> {
    let hooks = webhook::Entity::find().filter(webhook::Column::Active.eq(true)).all(db).await?;
    for w in hooks {
        let wants = w.events.as_array().is_some_and(|a| a.iter().any(|e| e == event.as_str()));
        let dept_ok = w.department_id.is_none() || w.department_id == department_id;
        if wants && dept_ok {
            queue(db, &w, event.as_str(), data.clone()).await?;
        }
    }
    Ok(())
}

/// What integrators learn of an affair: no form data, no personal details beyond the applicant's id.
pub(crate) fn affair_data(a: &affair::Model, process_key: &str) -> Value {
    json!({
        "affair": {
            "id": a.id, "number": a.number, "title": a.title, "status": a.status,
            "process_id": a.process_id, "process_key": process_key,
            "applicant_id": a.applicant_id, "submitted_at": a.submitted_at, "finished_at": a.finished_at,
        }
    })
}

/// The event an affair's status change is, if any.
pub(crate) fn affair_event(before: Option<&str>, after: &str) -> Option<WebhookEvent> {
    match (before, after) {
        (b, a) if b == Some(a) => None,
        (Some("returned"), "submitted" | "in_progress") => Some(WebhookEvent::AffairResubmitted),
        (None | Some("draft"), "submitted" | "in_progress") => Some(WebhookEvent::AffairSubmitted),
        (_, "returned") => Some(WebhookEvent::AffairReturned),
        (_, "completed") => Some(WebhookEvent::AffairCompleted),
        (_, "rejected") => Some(WebhookEvent::AffairRejected),
        (_, "withdrawn") => Some(WebhookEvent::AffairWithdrawn),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery

async fn claim(st: &AppState, lease: DateTime<Utc>) -> AppResult<Vec<Uuid>> {
    let txn = st.db.write().await?;
    let backend = txn.get_database_backend();
    let t = now();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at LIMIT $3 \
             FOR UPDATE SKIP LOCKED) RETURNING id"
        }
        _ => {
            "UPDATE webhook_deliveries SET locked_until = ?1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?2 \
             AND (locked_until IS NULL OR locked_until < ?2) ORDER BY next_attempt_at LIMIT ?3) RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> = vec![lease.into(), t.into(), BATCH.into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    txn.commit().await?;
    rows.iter().map(|r| r.try_get::<Uuid>("", "id").map_err(AppError::from)).collect()
}

/// POST one delivery; `(delivered, HTTP status, error)`.
async fn post(
    client: &reqwest::Client,
    w: &webhook::Model,
    d: &webhook_delivery::Model,
) -> (bool, Option<i32>, Option<String>) {
    let body = d.payload.to_string();
    let ts = now().timestamp();
    let res = client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("user-agent", "Tongban-Webhook/1")
        .header("x-tongban-event", &d.event)
        .header("x-tongban-delivery", d.id.to_string())
        .header("x-tongban-timestamp", ts.to_string())
        .header("x-tongban-signature", crate::services::delivery::signature(w.secret.as_bytes(), ts, body.as_bytes()))
        .body(body)
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => (true, Some(i32::from(r.status().as_u16())), None),
        Ok(r) => (false, Some(i32::from(r.status().as_u16())), Some(format!("HTTP {}", r.status()))),
        Err(e) => (false, None, Some(e.to_string())),
    }
}

/// Claim and send one batch of due deliveries; returns how many were claimed.
pub async fn deliver_due(st: &AppState, client: &reqwest::Client) -> AppResult<usize> {
    // Look before taking the (single, on SQLite) writer: most seconds nothing is due.
    let due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now()))
        .one(st.db.conn())
        .await?;
    if due.is_none() {
        return Ok(0);
    }
    let lease = now() + LEASE;
    let lease = DateTime::from_timestamp_micros(lease.timestamp_micros()).unwrap_or(lease);
    let ids = claim(st, lease).await?;
    for id in &ids {
        let Some(d) = webhook_delivery::Entity::find_by_id(*id).one(st.db.conn()).await? else { continue };
        let Some(w) = webhook::Entity::find_by_id(d.webhook_id).one(st.db.conn()).await? else { continue };
        let (ok, status, error) =
            if w.active { post(client, &w, &d).await } else { (false, None, Some("webhook inactive".into())) };
        let t = now();
        let mut q = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::LastStatus, Expr::value(status))
            .col_expr(webhook_delivery::Column::LastError, Expr::value(error.clone()))
            .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None));
        q = if ok {
            q.col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Delivered.as_str()))
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(t))
        } else if d.attempts >= MAX_ATTEMPTS {
            q.col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Failed.as_str()))
        } else {
            // 30 s, 1 min, 2 min, … about 4 h before the last attempt.
            let wait = TimeDelta::seconds(30 << (d.attempts.clamp(1, 10) - 1));
            q.col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(t + wait))
        };
        let txn = st.db.write().await?;
        q.filter(webhook_delivery::Column::Id.eq(d.id))
            .filter(webhook_delivery::Column::LockedUntil.eq(lease))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        if let Some(e) = error {
            tracing::warn!(delivery = %d.id, hook = %w.name, attempt = d.attempts, error = %e, "webhook delivery");
        }
    }
    Ok(ids.len())
}

/// Deliver webhooks in the background.
pub fn spawn(st: AppState) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match deliver_due(&st, &client).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = ?e, "webhook delivery");
                        break;
                    }
                }
            }
        }
    });
    Ok(())
}

/// A process's `webhook` service task: POST the affair to the hook named `name` now and report
/// whether it answered 2xx. A hook that does not exist or is inactive fails the step (the process
/// administrators take over).
pub async fn call_hook(st: &AppState, name: &str, affair_id: Uuid) -> AppResult<(bool, Value)> {
    let db = st.db.conn();
    let Some(w) = webhook::Entity::find()
        .filter(webhook::Column::Name.eq(name))
        .filter(webhook::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok((
            false,
            json!({ "error": "webhook_unavailable", "hook": name, "message": "未配置该接口，请由流程管理员处理" }),
        ));
    };
    let a = affair::Entity::find_by_id(affair_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let key =
        crate::entity::process::Entity::find_by_id(a.process_id).one(db).await?.map(|p| p.key).unwrap_or_default();
    // A service call is tried once, here and now (the step failing is its retry path); the
    // delivery is logged like any other, not left for the worker.
    let txn = st.db.write().await?;
    let d = queue(&*txn, &w, "service_task", affair_data(&a, &key)).await?;
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(1))
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Failed.as_str()))
        .filter(webhook_delivery::Column::Id.eq(d.id))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().map_err(internal)?;
    let (ok, status, error) = post(&client, &w, &d).await;
    let mut q = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::LastStatus, Expr::value(status))
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error.clone()));
    if ok {
        q = q
            .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Delivered.as_str()))
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now()));
    }
    let txn = st.db.write().await?;
    q.filter(webhook_delivery::Column::Id.eq(d.id)).exec(&*txn).await?;
    txn.commit().await?;
    Ok(if ok {
        (true, json!({ "hook": name, "status": status, "delivery_id": d.id }))
    } else {
        (
            false,
            json!({ "error": "webhook_failed", "hook": name, "status": status, "message": error, "delivery_id": d.id }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affair_status_changes_are_the_events_integrators_see() {
        assert_eq!(affair_event(None, "submitted"), Some(WebhookEvent::AffairSubmitted));
        assert_eq!(affair_event(Some("draft"), "in_progress"), Some(WebhookEvent::AffairSubmitted));
        assert_eq!(affair_event(Some("returned"), "submitted"), Some(WebhookEvent::AffairResubmitted));
        assert_eq!(affair_event(Some("in_progress"), "returned"), Some(WebhookEvent::AffairReturned));
        assert_eq!(affair_event(Some("in_progress"), "completed"), Some(WebhookEvent::AffairCompleted));
        assert_eq!(affair_event(Some("submitted"), "in_progress"), None);
        assert_eq!(affair_event(Some("in_progress"), "in_progress"), None);
    }

    #[test]
    fn secrets_compare_in_constant_time_and_by_value() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abcd", "abc"));
    }
}
