//! Timers on time limits: a reminder when 80 % of a task's time has passed, and at the due time an
//! overdue mark with escalation to the handler's leader and the process administrators.
//!
//! Any server instance may sweep; each timer fires once because it is claimed with a conditional
//! `UPDATE … WHERE reminded_at IS NULL` (or `overdue_at`) in the transaction that sends the
//! notifications.

use chrono::TimeDelta;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use tongban_engine::model::ProcessDefinition;
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::entity::{affair, process, process_version, task, task_candidate};
use crate::error::AppResult;
use crate::services::directory::Needs;
use crate::services::notifications;
use crate::state::AppState;
use crate::time::now;

/// Share of a task's time after which its handler is reminded.
const REMIND_AT: f64 = 0.8;
/// Timers handled per sweep and kind.
const BATCH: u64 = 200;

async fn handlers(st: &AppState, t: &task::Model) -> AppResult<Vec<Uuid>> {
    if let Some(a) = t.assignee_id {
        return Ok(vec![a]);
    }
    Ok(task_candidate::Entity::find()
        .filter(task_candidate::Column::TaskId.eq(t.id))
        .all(st.db.conn())
        .await?
        .into_iter()
        .map(|c| c.user_id)
        .collect())
}

/// Fire the reminders and overdue marks that are due; returns how many fired.
pub async fn sweep(st: &AppState) -> AppResult<usize> {
    let t0 = now();
    let mut fired = 0;
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };

    // Reminders before the due time.
    let soon = task::Entity::find()
        .filter(task::Column::Status.eq("pending"))
        .filter(task::Column::RemindedAt.is_null())
        .filter(task::Column::DueAt.is_not_null())
        .filter(task::Column::DueAt.gt(t0))
        .filter(task::Column::DueAt.lte(t0 + TimeDelta::days(60)))
        .order_by_asc(task::Column::DueAt)
        .limit(BATCH)
        .all(st.db.conn())
        .await?;
    for t in soon {
        let Some(due) = t.due_at else { continue };
        let span = (due - t.created_at).num_seconds().max(0) as f64;
        let remind_at = t.created_at + TimeDelta::seconds((span * REMIND_AT) as i64);
        if t0 < remind_at {
            continue;
        }
        let users = handlers(st, &t).await?;
        let txn = st.db.write().await?;
        let claimed = task::Entity::update_many()
            .col_expr(task::Column::RemindedAt, Expr::value(t0))
            .filter(task::Column::Id.eq(t.id))
            .filter(task::Column::RemindedAt.is_null())
            .filter(task::Column::Status.eq("pending"))
            .exec(&*txn)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let a = affair::Entity::find_by_id(t.affair_id).one(&*txn).await?;
        let (number, title) = a.map(|a| (a.number, a.title)).unwrap_or_default();
        let due_local = chrono::FixedOffset::east_opt(8 * 3600)
            .map(|tz| due.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| due.to_rfc3339());
        notifications::send(
            &*txn,
            users,
            "task_due_soon",
            &format!("即将到期：{title}"),
            &format!("事务 {number} 的“{}”环节将于 {} 到期，请及时办理。", t.node_name, due_local),
            Some(t.affair_id),
            Some(t.id),
        )
        .await?;
        txn.commit().await?;
        fired += 1;
    }

    // Overdue: mark, tell the handler, and escalate to their leader and the process administrators.
    let late = task::Entity::find()
        .filter(task::Column::Status.eq("pending"))
        .filter(task::Column::OverdueAt.is_null())
        .filter(task::Column::DueAt.lte(t0))
        .order_by_asc(task::Column::DueAt)
        .limit(BATCH)
        .all(st.db.conn())
        .await?;
    for t in late {
        let users = handlers(st, &t).await?;
        let Some(a) = affair::Entity::find_by_id(t.affair_id).one(st.db.conn()).await? else { continue };
        let version = process_version::Entity::find_by_id(a.process_version_id).one(st.db.conn()).await?;
        let admins: Vec<Uuid> = version
            .and_then(|v| serde_json::from_value::<ProcessDefinition>(v.definition).ok())
            .map(|d| d.admins.iter().filter_map(|u| u.as_str().parse().ok()).collect())
            .unwrap_or_default();
        let dept = process::Entity::find_by_id(a.process_id).one(st.db.conn()).await?.and_then(|p| p.department_id);
        let txn = st.db.write().await?;
        let claimed = task::Entity::update_many()
            .col_expr(task::Column::OverdueAt, Expr::value(t0))
            .filter(task::Column::Id.eq(t.id))
            .filter(task::Column::OverdueAt.is_null())
            .filter(task::Column::Status.eq("pending"))
            .exec(&*txn)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let (dir, _) = st.commands.load(&*txn, dept, Needs::users(users.iter().copied())).await?;
        let leaders: Vec<Uuid> = users.iter().flat_map(|u| dir.leader_of(*u)).collect();
        let body = format!("事务 {} 的“{}”环节已超过办理时限。", a.number, t.node_name);
        notifications::send(
            &*txn,
            users.clone(),
            "task_overdue",
            &format!("已超时：{}", a.title),
            &body,
            Some(a.id),
            Some(t.id),
        )
        .await?;
        let escalate_to: Vec<Uuid> =
            leaders.iter().chain(admins.iter()).copied().filter(|u| !users.contains(u)).collect();
        notifications::send(
            &*txn,
            escalate_to.clone(),
            "task_overdue_escalated",
            &format!("超时督办：{}", a.title),
            &body,
            Some(a.id),
            Some(t.id),
        )
        .await?;
        audit::record(
            &*txn,
            &ctx,
            Entry::new("task.overdue", "task", t.id).after(
                &json!({ "affair": a.number, "node": t.node_id, "handlers": users, "escalated_to": escalate_to }),
            ),
        )
        .await?;
        txn.commit().await?;
        fired += 1;
    }
    Ok(fired)
}
