//! The job table: service calls the engine asked for, run by whichever server
//! instance claims them first. A claim is an `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
//! LOCKED)` on PostgreSQL, so two instances never take the same job; on SQLite the single writer
//! serialises claims. A claim expires, so a job of a crashed instance is taken up again.

use std::time::Duration;

use chrono::TimeDelta;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use tongban_engine::model::ServiceCall;
use uuid::Uuid;

use crate::entity::job;
use crate::error::{AppError, AppResult};
use crate::services::affairs;
use crate::state::AppState;
use crate::time::now;

/// How long a claim lasts before another instance may take the job.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// Attempts before a job is given up.
const MAX_ATTEMPTS: i32 = 5;

/// Queue a job of `kind`, due now, inside the caller's transaction.
pub(crate) async fn insert<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    affair_id: Option<Uuid>,
    payload: Value,
) -> AppResult<()> {
    use sea_orm::{ActiveModelTrait, Set};
    let t = now();
    job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.into()),
        affair_id: Set(affair_id),
        payload: Set(payload),
        run_at: Set(t),
        attempts: Set(0),
        locked_by: Set(None),
        locked_until: Set(None),
        done_at: Set(None),
        last_error: Set(None),
        created_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Claim the next due job for `worker`, if any.
async fn claim(st: &AppState, worker: &str) -> AppResult<Option<job::Model>> {
    let txn = st.db.write().await?;
    let backend = txn.get_database_backend();
    let t = now();
    let stmt = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $3 \
             AND (locked_until IS NULL OR locked_until < $3) ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id"
        }
        _ => {
            "UPDATE jobs SET locked_by = ?1, locked_until = ?2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= ?3 \
             AND (locked_until IS NULL OR locked_until < ?3) ORDER BY run_at LIMIT 1) RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> = vec![worker.into(), (t + LEASE).into(), t.into()];
    let row = txn.query_one_raw(Statement::from_sql_and_values(backend, stmt, values)).await?;
    let claimed = match row {
        Some(r) => {
            let id: Uuid = r.try_get("", "id")?;
            job::Entity::find_by_id(id).one(&*txn).await?
        }
        None => None,
    };
    txn.commit().await?;
    Ok(claimed)
}

async fn finish(st: &AppState, id: Uuid, worker: &str, error: Option<String>, retry: bool) -> AppResult<()> {
    let txn = st.db.write().await?;
    let mut q = job::Entity::update_many().col_expr(job::Column::LastError, Expr::value(error));
    q = if retry {
        q.col_expr(job::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
            .col_expr(job::Column::RunAt, Expr::value(now() + TimeDelta::seconds(30)))
    } else {
        q.col_expr(job::Column::DoneAt, Expr::value(now()))
    };
    q.filter(job::Column::Id.eq(id)).filter(job::Column::LockedBy.eq(worker)).exec(&*txn).await?;
    txn.commit().await?;
    Ok(())
}

/// What a service call does. Calls whose service does not exist yet are reported as failed, which
/// gives the process administrators a task to carry on by hand.
async fn perform(st: &AppState, affair_id: Uuid, call: &ServiceCall) -> AppResult<(bool, Value)> {
    Ok(match call {
        ServiceCall::Notify { template } => (true, json!({ "template": template, "delivered": "history" })),
        ServiceCall::IssueCertificate { certificate_type } => {
            let affair = crate::entity::affair::Entity::find_by_id(affair_id)
                .one(st.db.conn())
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("job for a missing affair {affair_id}")))?;
            match crate::services::certificates::issue_for_affair(st, &affair, certificate_type).await {
                Ok(c) => {
                    (true, json!({ "certificate_id": c.id, "number": c.number, "certificate_type": certificate_type }))
                }
                // A type that does not exist or data the template cannot render: the
                // administrators finish the step by hand. Database trouble is retried.
                Err(e @ (AppError::Db(_) | AppError::Internal(_))) => return Err(e),
                Err(e) => {
                    let why = match &e {
                        AppError::Client { detail: Some(m), .. } => m.get(crate::error::Lang::Zh).to_owned(),
                        AppError::Client { errors, .. } if !errors.is_empty() => errors
                            .iter()
                            .map(|f| f.message.get(crate::error::Lang::Zh).to_owned())
                            .collect::<Vec<_>>()
                            .join("；"),
                        other => other.to_string(),
                    };
                    (
                        false,
                        json!({ "error": "certificate_not_issued", "certificate_type": certificate_type,
                                "message": format!("电子证照未能签发（{why}），请由流程管理员线下办理后继续") }),
                    )
                }
            }
        }
        ServiceCall::Webhook { hook } => crate::services::integrations::call_hook(st, hook, affair_id).await?,
    })
}

/// Run at most one due job; returns whether one was run.
pub async fn run_once(st: &AppState, worker: &str) -> AppResult<bool> {
    let Some(j) = claim(st, worker).await? else { return Ok(false) };
    let outcome: AppResult<()> = async {
        match j.kind.as_str() {
            "service_call" => {
                let affair_id = j.affair_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("job without affair")))?;
                let call_id = j.payload["call_id"].as_u64().unwrap_or_default() as u32;
                let call: ServiceCall = serde_json::from_value(j.payload["call"].clone())
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("job payload: {e}")))?;
                let (ok, detail) = perform(st, affair_id, &call).await?;
                affairs::report_service_result(st, affair_id, call_id, ok, detail).await
            }
            "archive" => {
                let affair_id = j.affair_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("job without affair")))?;
                crate::services::archives::build(st, affair_id).await.map(|_| ())
            }
            "archive_export" => {
                let id: Uuid = serde_json::from_value(j.payload["export_id"].clone())
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("job payload: {e}")))?;
                crate::services::archives::run_export(st, id).await
            }
            other => Err(AppError::Internal(anyhow::anyhow!("unknown job kind {other}"))),
        }
    }
    .await;
    match outcome {
        Ok(()) => finish(st, j.id, worker, None, false).await?,
        Err(e) => {
            tracing::warn!(job = %j.id, error = ?e, "job failed");
            finish(st, j.id, worker, Some(format!("{e:?}")), j.attempts < MAX_ATTEMPTS).await?;
        }
    }
    Ok(true)
}

/// Run due jobs in the background until the process ends.
pub fn spawn(st: AppState) {
    let worker = format!("{}-{}", std::process::id(), Uuid::now_v7().simple());
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            // Time limits are checked every 30 seconds.
            if ticks % 60 == 1 {
                if let Err(e) = crate::services::timers::sweep(&st).await {
                    tracing::warn!(error = ?e, "timer sweep");
                }
                // Yellow and red cards and the overdue violations (electronic supervision).
                if let Err(e) = crate::services::supervision::sweep(&st).await {
                    tracing::warn!(error = ?e, "supervision sweep");
                }
            }
            // The audit records written since are sealed into the chain every five seconds.
            if ticks % 10 == 3
                && let Err(e) = crate::audit_chain::seal(&st.db, &st.signing).await
            {
                tracing::warn!(error = ?e, "audit seal");
            }
            // Rate-limit keys that recovered are forgotten every minute.
            if ticks % 120 == 4 {
                st.limits.prune();
            }
            // Uploads never attached to an application are removed hourly (after 24 hours).
            if ticks % 7200 == 2
                && let Err(e) = crate::services::attachments::sweep_orphans(&st).await
            {
                tracing::warn!(error = ?e, "orphan upload sweep");
            }
            loop {
                match run_once(&st, &worker).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = ?e, "job runner");
                        break;
                    }
                }
            }
        }
    });
}
