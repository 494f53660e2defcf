//! Delivery of notifications by e-mail (SMTP) and by the push webhook that forwards them to the
//! mobile app and to WeChat template messages.
//!
//! The notification rows are the outbox: they are written in the transaction of the change, and a
//! worker on any server instance claims a few at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the
//! single writer serialises claims on SQLite), sends what is missing and records each channel's
//! success, so a retry after a failure never sends a channel twice. Failures back off and give up
//! after [`MAX_ATTEMPTS`]; notifications older than a day are not sent at all.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::{Settings, SmtpSecurity};
use crate::entity::{notification, user};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::time::now;

/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long a claim lasts.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// Older notifications are not sent (for instance when a channel is switched on later).
const MAX_AGE: TimeDelta = TimeDelta::hours(24);
/// Notifications claimed at once.
const BATCH: i64 = 20;

/// The channels configured.
pub struct Channels {
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    push: Option<(String, Vec<u8>, reqwest::Client)>,
    public_url: String,
}

impl Channels {
    /// The channels the settings switch on; `None` when there are none.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Channels>> {
        use secrecy::ExposeSecret;
        let smtp = smtp_transport(s)?;
        let push = match &s.push.url {
            Some(url) if !url.is_empty() => {
                let secret = s.push.secret.as_ref().map(|x| x.expose_secret().as_bytes().to_vec()).unwrap_or_default();
                anyhow::ensure!(secret.len() >= 16, "TONGBAN_PUSH__SECRET must be at least 16 bytes");
                let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
                Some((url.clone(), secret, client))
            }
            _ => None,
        };
        if smtp.is_none() && push.is_none() {
            return Ok(None);
        }
        Ok(Some(Channels { smtp, push, public_url: s.public_url.trim_end_matches('/').to_owned() }))
    }
}

/// The SMTP transport and sender of the settings, when `smtp.host` is set (also used for alerts).
pub(crate) fn smtp_transport(s: &Settings) -> anyhow::Result<Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>> {
    use secrecy::ExposeSecret;
    Ok(match &s.smtp.host {
        Some(host) if !host.is_empty() => {
            let c = &s.smtp;
            let mut b = match c.security {
                SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
                SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            };
            b = b.port(c.port).timeout(Some(Duration::from_secs(15)));
            if let (Some(u), Some(p)) = (&c.username, &c.password) {
                b = b.credentials(Credentials::new(u.clone(), p.expose_secret().to_owned()));
            }
            let from: Mailbox =
                c.from.parse().map_err(|e| anyhow::anyhow!("TONGBAN_SMTP__FROM is not a mailbox: {e}"))?;
            Some((b.build(), from))
        }
        _ => None,
    })
}

/// `sha256=<hex>` over `<timestamp>.<body>` with the shared secret.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn claim(st: &AppState, worker_until: DateTime<Utc>) -> AppResult<Vec<Uuid>> {
    let txn = st.db.write().await?;
    let backend = txn.get_database_backend();
    let t = now();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE notifications SET delivery_locked_until = $1, delivery_attempts = delivery_attempts + 1 \
             WHERE id IN (SELECT id FROM notifications WHERE delivered_at IS NULL AND created_at > $2 \
             AND delivery_attempts < $3 AND (delivery_locked_until IS NULL OR delivery_locked_until < $4) \
             ORDER BY created_at LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING id"
        }
        _ => {
            "UPDATE notifications SET delivery_locked_until = ?1, delivery_attempts = delivery_attempts + 1 \
             WHERE id IN (SELECT id FROM notifications WHERE delivered_at IS NULL AND created_at > ?2 \
             AND delivery_attempts < ?3 AND (delivery_locked_until IS NULL OR delivery_locked_until < ?4) \
             ORDER BY created_at LIMIT ?5) RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> =
        vec![worker_until.into(), (t - MAX_AGE).into(), MAX_ATTEMPTS.into(), t.into(), BATCH.into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    txn.commit().await?;
    rows.iter().map(|r| r.try_get::<Uuid>("", "id").map_err(AppError::from)).collect()
}

/// What one attempt achieved.
struct Outcome {
    email_sent: bool,
    push_sent: bool,
    error: Option<String>,
}

async fn deliver(ch: &Channels, n: &notification::Model, u: &user::Model) -> Outcome {
    let mut out = Outcome { email_sent: n.email_sent_at.is_some(), push_sent: n.push_sent_at.is_some(), error: None };
    let link = n.affair_id.map(|a| format!("{}/affairs/{a}", ch.public_url));
    if let Some((transport, from)) = &ch.smtp
        && !out.email_sent
    {
        match u.email.as_deref().filter(|e| !e.is_empty()) {
            // Nobody to write to: this channel is done for this user.
            None => out.email_sent = true,
            Some(addr) => {
                let text = match &link {
                    Some(l) => {
                        format!("{}\n\n查看详情：{l}\n\n—— 通办 · 一站式网上办事大厅（系统邮件，请勿直接回复）", n.body)
                    }
                    None => format!("{}\n\n—— 通办 · 一站式网上办事大厅（系统邮件，请勿直接回复）", n.body),
                };
                let msg = addr
                    .parse::<Mailbox>()
                    .map_err(|e| format!("bad address: {e}"))
                    .map(|to| Mailbox::new(Some(u.display_name.clone()), to.email))
                    .and_then(|to| {
                        Message::builder()
                            .from(from.clone())
                            .to(to)
                            .subject(n.title.clone())
                            .header(ContentType::TEXT_PLAIN)
                            .body(text)
                            .map_err(|e| format!("message: {e}"))
                    });
                match msg {
                    // An address that cannot be written to will not get better on retry.
                    Err(e) => {
                        out.email_sent = true;
                        out.error = Some(e);
                    }
                    Ok(m) => match transport.send(m).await {
                        Ok(_) => out.email_sent = true,
                        Err(e) => out.error = Some(format!("smtp: {e}")),
                    },
                }
            }
        }
    }
    if let Some((url, secret, client)) = &ch.push
        && !out.push_sent
    {
        let body = json!({
            "id": n.id,
            "event": format!("notification.{}", n.kind),
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "affair_id": n.affair_id,
            "task_id": n.task_id,
            "url": link,
            "created_at": n.created_at,
            "user": { "id": u.id, "username": u.username, "student_no": u.student_no, "staff_no": u.staff_no },
        })
        .to_string();
        let ts = now().timestamp();
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-tongban-event", format!("notification.{}", n.kind))
            .header("x-tongban-delivery", n.id.to_string())
            .header("x-tongban-timestamp", ts.to_string())
            .header("x-tongban-signature", signature(secret, ts, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => out.push_sent = true,
            Ok(r) => out.error = Some(format!("push: HTTP {}", r.status())),
            Err(e) => out.error = Some(format!("push: {e}")),
        }
    }
    out
}

async fn record(
    st: &AppState,
    ch: &Channels,
    n: &notification::Model,
    lease: DateTime<Utc>,
    o: Outcome,
) -> AppResult<()> {
    let t = now();
    let done = (ch.smtp.is_none() || o.email_sent) && (ch.push.is_none() || o.push_sent);
    let mut q =
        notification::Entity::update_many().col_expr(notification::Column::DeliveryError, Expr::value(o.error.clone()));
    if o.email_sent && n.email_sent_at.is_none() {
        q = q.col_expr(notification::Column::EmailSentAt, Expr::value(t));
    }
    if o.push_sent && n.push_sent_at.is_none() {
        q = q.col_expr(notification::Column::PushSentAt, Expr::value(t));
    }
    q = if done {
        q.col_expr(notification::Column::DeliveredAt, Expr::value(t))
    } else {
        // Back off: 30 s, 1 min, 2 min, 4 min …
        let wait = TimeDelta::seconds(30 << (n.delivery_attempts.clamp(1, 8) - 1));
        q.col_expr(notification::Column::DeliveryLockedUntil, Expr::value(t + wait))
    };
    let txn = st.db.write().await?;
    q.filter(notification::Column::Id.eq(n.id))
        .filter(notification::Column::DeliveryLockedUntil.eq(lease))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    if let Some(e) = o.error {
        tracing::warn!(notification = %n.id, attempt = n.delivery_attempts, error = %e, "notification delivery");
    }
    Ok(())
}

/// Claim and deliver one batch; returns how many were claimed.
pub async fn run_once(st: &AppState, ch: &Channels) -> AppResult<usize> {
    let lease = now() + LEASE;
    // Store the lease at a precision both databases keep, so the guard in `record` matches.
    let lease = DateTime::from_timestamp_micros(lease.timestamp_micros()).unwrap_or(lease);
    let ids = claim(st, lease).await?;
    for id in &ids {
        let Some(n) = notification::Entity::find_by_id(*id).one(st.db.conn()).await? else { continue };
        let Some(u) = user::Entity::find_by_id(n.user_id).one(st.db.conn()).await? else { continue };
        let o = deliver(ch, &n, &u).await;
        record(st, ch, &n, lease, o).await?;
    }
    Ok(ids.len())
}

/// Deliver in the background when a channel is configured.
pub fn spawn(st: AppState) -> anyhow::Result<()> {
    let Some(ch) = Channels::from_settings(&st.settings)? else { return Ok(()) };
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match run_once(&st, &ch).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = ?e, "notification delivery");
                        break;
                    }
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let s = signature(b"0123456789abcdef", 1_700_000_000, b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert_ne!(s, signature(b"0123456789abcdef", 1_700_000_001, b"{}"));
        assert_ne!(s, signature(b"0123456789abcdef", 1_700_000_000, b"{ }"));
        assert_ne!(s, signature(b"0123456789abcdeX", 1_700_000_000, b"{}"));
    }
}
