//! The audit trail: who did what to which object, when, from where, with before and after.
//!
//! Records are written in the same transaction as the change they describe. Each record carries
//! the SHA-256 of its canonical content (RFC 8785 JSON), so the tamper-evident chain
//! (`prev_hash`) can be sealed over them without changing the format.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entity::audit_log;
use crate::error::AppResult;
use crate::time::now;

/// Who acts and from where; built by the HTTP layer for each request.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    /// The acting user, when signed in.
    pub actor_id: Option<Uuid>,
    /// The acting user's username (kept even if the user is later renamed).
    pub actor_name: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id of the HTTP request.
    pub request_id: Option<String>,
}

impl AuditCtx {
    /// The same context acting as `user`.
    pub fn as_user(&self, id: Uuid, username: &str) -> AuditCtx {
        AuditCtx { actor_id: Some(id), actor_name: Some(username.to_owned()), ..self.clone() }
    }
}

/// One record to write.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Dotted action name such as `user.update` or `auth.login`.
    pub action: &'static str,
    /// Object type such as `user`.
    pub object_type: &'static str,
    /// Object id.
    pub object_id: Option<String>,
    /// Whether the action succeeded (failed sign-ins are recorded too).
    pub success: bool,
    /// State before the change.
    pub before: Option<Value>,
    /// State after the change.
    pub after: Option<Value>,
}

impl Entry {
    /// A successful action on an object.
    pub fn new(action: &'static str, object_type: &'static str, object_id: impl ToString) -> Entry {
        Entry { action, object_type, object_id: Some(object_id.to_string()), success: true, before: None, after: None }
    }

    /// Attach the state before.
    pub fn before<T: Serialize>(mut self, v: &T) -> Entry {
        self.before = serde_json::to_value(v).ok();
        self
    }

    /// Attach the state after.
    pub fn after<T: Serialize>(mut self, v: &T) -> Entry {
        self.after = serde_json::to_value(v).ok();
        self
    }

    /// Mark as failed.
    pub fn failed(mut self) -> Entry {
        self.success = false;
        self
    }
}

#[derive(Serialize)]
struct Canonical<'a> {
    id: Uuid,
    at: &'a str,
    actor_id: Option<Uuid>,
    actor_name: Option<&'a str>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
    action: &'a str,
    object_type: &'a str,
    object_id: Option<&'a str>,
    success: bool,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
}

/// The content hash of a record (hex SHA-256 of its RFC 8785 form).
pub fn content_hash(m: &audit_log::Model) -> String {
    hash_parts(
        m.id,
        m.at,
        &m.actor_id,
        &m.actor_name,
        &m.ip,
        &m.request_id,
        &m.action,
        &m.object_type,
        &m.object_id,
        m.success,
        &m.before,
        &m.after,
    )
}

#[allow(clippy::too_many_arguments)]
fn hash_parts(
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: &Option<Uuid>,
    actor_name: &Option<String>,
    ip: &Option<String>,
    request_id: &Option<String>,
    action: &str,
    object_type: &str,
    object_id: &Option<String>,
    success: bool,
    before: &Option<Value>,
    after: &Option<Value>,
) -> String {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let c = Canonical {
        id,
        at: &at,
        actor_id: *actor_id,
        actor_name: actor_name.as_deref(),
        ip: ip.as_deref(),
        request_id: request_id.as_deref(),
        action,
        object_type,
        object_id: object_id.as_deref(),
        success,
        before: before.as_ref(),
        after: after.as_ref(),
    };
    // serde_jcs only fails on non-string map keys, which `Canonical` cannot contain.
    let bytes = serde_jcs::to_vec(&c).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Write one audit record in the caller's transaction.
pub async fn record<C: ConnectionTrait>(db: &C, ctx: &AuditCtx, e: Entry) -> AppResult<()> {
    let id = Uuid::now_v7();
    let at = now();
    let hash = hash_parts(
        id,
        at,
        &ctx.actor_id,
        &ctx.actor_name,
        &ctx.ip,
        &ctx.request_id,
        e.action,
        e.object_type,
        &e.object_id,
        e.success,
        &e.before,
        &e.after,
    );
    audit_log::ActiveModel {
        id: Set(id),
        at: Set(at),
        actor_id: Set(ctx.actor_id),
        actor_name: Set(ctx.actor_name.clone()),
        ip: Set(ctx.ip.clone()),
        request_id: Set(ctx.request_id.clone()),
        action: Set(e.action.to_owned()),
        object_type: Set(e.object_type.to_owned()),
        object_id: Set(e.object_id),
        success: Set(e.success),
        before: Set(e.before),
        after: Set(e.after),
        hash: Set(hash),
        prev_hash: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
