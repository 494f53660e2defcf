//! Alerts to the operators (`alerts` settings): by e-mail through the `smtp` settings and/or as a
//! JSON POST to a webhook, when
//!
//! - background jobs were given up after their attempts (`job_failed`), or failed three times in a
//!   row and are still being retried (`job_retrying`),
//! - the overdue open tasks or affairs reach `overdue_threshold` (`overdue_backlog`),
//! - the webhook deliveries waiting reach `webhook_backlog_threshold` (`webhook_backlog`).
//!
//! Every instance sweeps every 30 seconds; an alert is a row of `ops_alerts` whose unique key is
//! its kind and the start of the current window (`window_minutes`), inserted with
//! `ON CONFLICT DO NOTHING`: whichever instance inserts it sends it, so each kind goes out at most
//! once per window however many instances and sweeps notice it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::Settings;
use crate::entity::{job, ops_alert};
use crate::error::AppResult;
use crate::services::monitoring;
use crate::state::AppState;

/// Consecutive failed attempts of a job still being retried that raise `job_retrying`.
const RETRYING_AFTER: i32 = 3;

/// Where alerts go.
pub struct Alerter {
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    recipients: Vec<Mailbox>,
    webhook: Option<(String, Option<Vec<u8>>, reqwest::Client)>,
    public_url: String,
}

impl Alerter {
    /// The channels the settings name; `None` when alerts go nowhere.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Alerter>> {
        use secrecy::ExposeSecret;
        let a = &s.alerts;
        let recipients = a
            .emails
            .iter()
            .map(|e| e.parse::<Mailbox>().map_err(|err| anyhow::anyhow!("TONGBAN_ALERTS__EMAILS: {e}: {err}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let smtp = if recipients.is_empty() { None } else { crate::services::delivery::smtp_transport(s)? };
        anyhow::ensure!(
            recipients.is_empty() || smtp.is_some(),
            "alerts.emails needs the smtp settings (TONGBAN_SMTP__HOST)"
        );
        let webhook = match &a.webhook_url {
            Some(url) if !url.is_empty() => {
                let secret = a.webhook_secret.as_ref().map(|x| x.expose_secret().as_bytes().to_vec());
                let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
                Some((url.clone(), secret, client))
            }
            _ => None,
        };
        if smtp.is_none() && webhook.is_none() {
            return Ok(None);
        }
        Ok(Some(Alerter { smtp, recipients, webhook, public_url: s.public_url.trim_end_matches('/').to_owned() }))
    }
}

/// An alert found by a sweep.
struct Found {
    kind: &'static str,
    subject: String,
    detail: Value,
}

fn window_start(now: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    let w = i64::from(minutes.max(1)) * 60;
    DateTime::from_timestamp(now.timestamp().div_euclid(w) * w, 0).unwrap_or(now)
}

async fn conditions(st: &AppState, now: DateTime<Utc>) -> AppResult<Vec<Found>> {
    let a = &st.settings.alerts;
    let db = st.db.conn();
    let mut found = Vec::new();
    if a.job_failures {
        // Jobs given up since the last alert of their kind (or within the window).
        let last = ops_alert::Entity::find()
            .filter(ops_alert::Column::Kind.eq("job_failed"))
            .order_by_desc(ops_alert::Column::CreatedAt)
            .one(db)
            .await?;
        let since = last.map_or(now - TimeDelta::minutes(i64::from(a.window_minutes.max(1))), |l| l.created_at);
        let failed = monitoring::failed_jobs()
            .filter(job::Column::DoneAt.gt(since))
            .order_by_asc(job::Column::DoneAt)
            .limit(20)
            .all(db)
            .await?;
        if !failed.is_empty() {
            let jobs: Vec<Value> = failed
                .iter()
                .map(|j| {
                    let err: String = j.last_error.clone().unwrap_or_default().chars().take(300).collect();
                    json!({ "id": j.id, "kind": j.kind, "affair_id": j.affair_id, "attempts": j.attempts, "error": err })
                })
                .collect();
            found.push(Found {
                kind: "job_failed",
                subject: format!("后台任务多次重试后失败 / {} background job(s) failed for good", failed.len()),
                detail: json!({ "count": failed.len(), "since": since, "jobs": jobs }),
            });
        }
    }
    if a.job_failures {
        // Jobs failing again and again, before they are given up.
        let retrying = job::Entity::find()
            .filter(job::Column::DoneAt.is_null())
            .filter(job::Column::LastError.is_not_null())
            .filter(job::Column::Attempts.gte(RETRYING_AFTER))
            .order_by_asc(job::Column::RunAt)
            .limit(20)
            .all(db)
            .await?;
        if !retrying.is_empty() {
            let jobs: Vec<Value> = retrying
                .iter()
                .map(|j| {
                    let err: String = j.last_error.clone().unwrap_or_default().chars().take(300).collect();
                    json!({ "id": j.id, "kind": j.kind, "affair_id": j.affair_id, "attempts": j.attempts, "error": err })
                })
                .collect();
            found.push(Found {
                kind: "job_retrying",
                subject: format!(
                    "后台任务连续失败 {RETRYING_AFTER} 次以上 / {} background job(s) failed {RETRYING_AFTER} times in a row",
                    retrying.len()
                ),
                detail: json!({ "count": retrying.len(), "jobs": jobs }),
            });
        }
    }
    if a.overdue_threshold > 0 {
        let (tasks, affairs) = (monitoring::overdue_tasks(db).await?, monitoring::overdue_affairs(db).await?);
        if tasks.max(affairs) >= a.overdue_threshold {
            found.push(Found {
                kind: "overdue_backlog",
                subject: format!("超期积压：{tasks} 个待办、{affairs} 件事项已超期 / overdue backlog: {tasks} tasks, {affairs} affairs"),
                detail: json!({ "overdue_tasks": tasks, "overdue_affairs": affairs, "threshold": a.overdue_threshold }),
            });
        }
    }
    if a.webhook_backlog_threshold > 0 {
        let n = monitoring::webhook_backlog(db).await?;
        if n >= a.webhook_backlog_threshold {
            found.push(Found {
                kind: "webhook_backlog",
                subject: format!("Webhook 推送积压：{n} 条待发送 / webhook backlog: {n} deliveries waiting"),
                detail: json!({ "pending": n, "threshold": a.webhook_backlog_threshold }),
            });
        }
    }
    Ok(found)
}

/// One sweep: raise (and send) each alert whose condition holds and that this window has not seen;
/// returns the alerts this call raised.
pub async fn sweep(st: &AppState, alerter: &Alerter) -> AppResult<Vec<ops_alert::Model>> {
    let now = Utc::now();
    let start = window_start(now, st.settings.alerts.window_minutes);
    let mut raised = Vec::new();
    for f in conditions(st, now).await? {
        let key = format!("{}:{}", f.kind, start.to_rfc3339());
        // Look before taking the writer: most sweeps find the alert raised already.
        if ops_alert::Entity::find().filter(ops_alert::Column::Key.eq(&key)).one(st.db.conn()).await?.is_some() {
            continue;
        }
        let row = ops_alert::Model {
            id: Uuid::now_v7(),
            key,
            kind: f.kind.into(),
            subject: f.subject,
            detail: f.detail,
            created_at: now,
            sent_at: None,
            error: None,
        };
        let txn = st.db.write().await?;
        let inserted = ops_alert::Entity::insert(ops_alert::ActiveModel {
            id: Set(row.id),
            key: Set(row.key.clone()),
            kind: Set(row.kind.clone()),
            subject: Set(row.subject.clone()),
            detail: Set(row.detail.clone()),
            created_at: Set(row.created_at),
            sent_at: Set(None),
            error: Set(None),
        })
        .on_conflict(OnConflict::column(ops_alert::Column::Key).do_nothing().to_owned())
        .exec_without_returning(&*txn)
        .await?;
        txn.commit().await?;
        if inserted == 0 {
            continue; // another instance raised it first
        }
        let error = send(alerter, &row).await;
        if let Some(e) = &error {
            tracing::warn!(alert = %row.key, error = %e, "alert not sent");
        } else {
            tracing::info!(alert = %row.key, "alert sent");
        }
        let txn = st.db.write().await?;
        ops_alert::Entity::update_many()
            .col_expr(ops_alert::Column::SentAt, Expr::value(error.is_none().then(Utc::now)))
            .col_expr(ops_alert::Column::Error, Expr::value(error.clone()))
            .filter(ops_alert::Column::Id.eq(row.id))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        raised.push(ops_alert::Model { sent_at: error.is_none().then(Utc::now), error, ..row });
    }
    Ok(raised)
}

/// Send one alert to every channel; the errors, if any.
async fn send(a: &Alerter, row: &ops_alert::Model) -> Option<String> {
    let mut errors = Vec::new();
    if let Some((transport, from)) = &a.smtp {
        let body = format!(
            "{}\n\n{}\n\n处置办法见运维手册 docs/operations.md「告警」一节 / see the runbook, docs/operations.md, “Alerts”.\n{}\n\n—— 通办运维告警 / Tongban operations alert ({})",
            row.subject,
            serde_json::to_string_pretty(&row.detail).unwrap_or_default(),
            a.public_url,
            row.key
        );
        for to in &a.recipients {
            let msg = Message::builder()
                .from(from.clone())
                .to(to.clone())
                .subject(format!("【通办告警】{}", row.subject))
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(ContentTransferEncoding::Base64)
                        .body(body.clone()),
                );
            match msg {
                Ok(m) => {
                    if let Err(e) = transport.send(m).await {
                        errors.push(format!("smtp {to}: {e}"));
                    }
                }
                Err(e) => errors.push(format!("message: {e}")),
            }
        }
    }
    if let Some((url, secret, client)) = &a.webhook {
        let body = json!({
            "event": "alert", "kind": row.kind, "key": row.key, "subject": row.subject,
            "detail": row.detail, "created_at": row.created_at, "public_url": a.public_url,
        })
        .to_string();
        let ts = Utc::now().timestamp();
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-tongban-event", "alert")
            .header("x-tongban-timestamp", ts.to_string());
        if let Some(s) = secret {
            req = req.header("x-tongban-signature", crate::services::delivery::signature(s, ts, body.as_bytes()));
        }
        match req.body(body).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => errors.push(format!("webhook: HTTP {}", r.status().as_u16())),
            Err(e) => errors.push(format!("webhook: {e}")),
        }
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Sweep every 30 seconds when alerts go somewhere.
pub fn spawn(st: AppState) -> anyhow::Result<()> {
    let Some(alerter) = Alerter::from_settings(&st.settings)? else { return Ok(()) };
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&st, &alerter).await {
                tracing::warn!(error = ?e, "alert sweep");
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_on_their_boundary() {
        let t = DateTime::parse_from_rfc3339("2026-12-02T07:42:13Z").map(|t| t.to_utc()).ok();
        let t = t.unwrap_or_default();
        assert_eq!(window_start(t, 60).to_rfc3339(), "2026-12-02T07:00:00+00:00");
        assert_eq!(window_start(t, 15).to_rfc3339(), "2026-12-02T07:30:00+00:00");
        assert_eq!(window_start(t, 0).to_rfc3339(), "2026-12-02T07:42:00+00:00");
    }
}
