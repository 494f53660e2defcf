//! The figures operators watch: counted from the database, shared by `/metrics` (at most every
//! [`BUSINESS_TTL`]) and the alert sweep.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QuerySelect};

use crate::entity::{affair, audit_log, job, ops_alert, ops_state, task, webhook_delivery};
use crate::error::AppResult;
use crate::metrics::{Metrics, StatusLabel};

/// How long `/metrics` serves the business figures before reading them again.
pub const BUSINESS_TTL: Duration = Duration::from_secs(15);

/// Statuses of affairs being handled.
pub const OPEN_STATUSES: [&str; 2] = ["submitted", "in_progress"];

/// Pending tasks past their time limit.
pub async fn overdue_tasks<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(task::Entity::find()
        .filter(task::Column::Status.eq("pending"))
        .filter(task::Column::DueAt.lt(Utc::now()))
        .count(db)
        .await?)
}

/// Affairs being handled past their time limit.
pub async fn overdue_affairs<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(affair::Entity::find()
        .filter(affair::Column::Status.is_in(OPEN_STATUSES))
        .filter(affair::Column::DueAt.lt(Utc::now()))
        .count(db)
        .await?)
}

/// Webhook deliveries waiting to go out.
pub async fn webhook_backlog<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(webhook_delivery::Entity::find().filter(webhook_delivery::Column::Status.eq("pending")).count(db).await?)
}

/// Jobs given up after their attempts (done, with an error).
pub fn failed_jobs() -> sea_orm::Select<job::Entity> {
    job::Entity::find().filter(job::Column::DoneAt.is_not_null()).filter(job::Column::LastError.is_not_null())
}

async fn by_status<C, E>(db: &C, col: E::Column, filter: Option<sea_orm::Condition>) -> AppResult<Vec<(String, i64)>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let mut q = E::find().select_only().column(col).column_as(Expr::col(col).count(), "n").group_by(col);
    if let Some(f) = filter {
        q = q.filter(f);
    }
    Ok(q.into_tuple().all(db).await?)
}

/// Read the business figures into the gauges, unless they are younger than [`BUSINESS_TTL`].
pub async fn refresh<C: ConnectionTrait>(db: &C, m: &Metrics) -> AppResult<()> {
    let b = &m.business;
    let mut last = b.refreshed.lock().await;
    if last.is_some_and(|t| t.elapsed() < BUSINESS_TTL) {
        return Ok(());
    }
    let affairs = by_status::<_, affair::Entity>(
        db,
        affair::Column::Status,
        Some(sea_orm::Condition::all().add(affair::Column::IsTest.eq(false))),
    )
    .await?;
    b.affairs.clear();
    for (status, n) in affairs {
        b.affairs.get_or_create(&StatusLabel { status }).set(n);
    }
    b.affairs_overdue.set(overdue_affairs(db).await? as i64);
    b.tasks_open.set(task::Entity::find().filter(task::Column::Status.eq("pending")).count(db).await? as i64);
    b.tasks_overdue.set(overdue_tasks(db).await? as i64);
    b.jobs_pending.set(job::Entity::find().filter(job::Column::DoneAt.is_null()).count(db).await? as i64);
    b.jobs_failed.set(failed_jobs().count(db).await? as i64);
    let deliveries = by_status::<_, webhook_delivery::Entity>(db, webhook_delivery::Column::Status, None).await?;
    b.webhook_deliveries.clear();
    for status in ["pending", "delivered", "failed"] {
        b.webhook_deliveries.get_or_create(&StatusLabel { status: status.into() }).set(0);
    }
    for (status, n) in deliveries {
        b.webhook_deliveries.get_or_create(&StatusLabel { status }).set(n);
    }
    let backup = ops_state::Entity::find_by_id("last_backup").one(db).await?;
    let at = backup
        .and_then(|r| r.value.get("at").and_then(|v| v.as_str()).map(str::to_owned))
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
        .map_or(0, |t| t.timestamp());
    b.last_backup.set(at);
    let head: Option<Option<i64>> = audit_log::Entity::find()
        .select_only()
        .column_as(Expr::col(audit_log::Column::ChainPos).max(), "head")
        .into_tuple()
        .one(db)
        .await?;
    b.audit_head.set(head.flatten().unwrap_or_default());
    b.audit_unsealed
        .set(audit_log::Entity::find().filter(audit_log::Column::ChainPos.is_null()).count(db).await? as i64);
    b.alerts_day.set(
        ops_alert::Entity::find()
            .filter(ops_alert::Column::CreatedAt.gt(Utc::now() - TimeDelta::hours(24)))
            .count(db)
            .await? as i64,
    );
    *last = Some(Instant::now());
    Ok(())
}
