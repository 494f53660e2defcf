//! Notifications: what the engine's events mean to people (new tasks, returns, results, CC, urges,
//! failed services) and the timers' reminders, written in the transaction of the change.

use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::Serialize;
use tongban_engine::exec::{Event, Instance, InstanceStatus, NotifyReason};
use tongban_engine::model::ProcessDefinition;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::common::{Page, PageQuery};
use crate::entity::notification;
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::state::AppState;
use crate::time::now;

/// A notification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    /// Id.
    pub id: Uuid,
    /// `submitted`, `task_created`, `returned`, `finished`, `cc`, `urge`, `service_failed`, `task_due_soon`,
    /// `task_overdue`, `question_answered`, `affair_message`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// The affair it is about.
    pub affair_id: Option<Uuid>,
    /// The task it is about.
    pub task_id: Option<Uuid>,
    /// When read.
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When sent.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<notification::Model> for NotificationView {
    fn from(m: notification::Model) -> Self {
        NotificationView {
            id: m.id,
            kind: m.kind,
            title: m.title,
            body: m.body,
            affair_id: m.affair_id,
            task_id: m.task_id,
            read_at: m.read_at,
            created_at: m.created_at,
        }
    }
}

/// Send one notification to each of `users` (duplicates collapse).
#[allow(clippy::too_many_arguments)]
pub async fn send<C: ConnectionTrait>(
    db: &C,
    users: impl IntoIterator<Item = Uuid>,
    kind: &str,
    title: &str,
    body: &str,
    affair_id: Option<Uuid>,
    task_id: Option<Uuid>,
) -> AppResult<()> {
    let t = now();
    for u in users.into_iter().collect::<BTreeSet<_>>() {
        if u.is_nil() {
            continue;
        }
        notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(u),
            kind: Set(kind.to_owned()),
            title: Set(title.chars().take(200).collect()),
            body: Set(body.to_owned()),
            affair_id: Set(affair_id),
            task_id: Set(task_id),
            read_at: Set(None),
            created_at: Set(t),
            email_sent_at: Set(None),
            push_sent_at: Set(None),
            delivered_at: Set(None),
            delivery_locked_until: Set(None),
            delivery_attempts: Set(0),
            delivery_error: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The affair an event belongs to, as notifications describe it.
pub struct AffairRef<'a> {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub number: &'a str,
    /// Title.
    pub title: &'a str,
}

/// Acknowledge an application to its applicant (受理回执): the number to follow it by.
pub async fn submitted<C: ConnectionTrait>(db: &C, applicant: Uuid, affair: &AffairRef<'_>) -> AppResult<()> {
    send(
        db,
        [applicant],
        "submitted",
        &format!("已提交：{}", affair.title),
        &format!("您的申请已提交，事务编号 {}。可在“我的事务”或凭编号查询办理进度。", affair.number),
        Some(affair.id),
        None,
    )
    .await
}

/// Notify the people the engine's events concern.
pub async fn from_events<C: ConnectionTrait>(
    db: &C,
    affair: &AffairRef<'_>,
    inst: &Instance,
    def: &ProcessDefinition,
    events: &[Event],
    task_ids: &HashMap<i32, Uuid>,
) -> AppResult<()> {
    let parse = |u: &tongban_engine::model::UserId| u.as_str().parse::<Uuid>().ok();
    for e in events {
        match e {
            Event::TaskCreated { task } => {
                let Some(t) = inst.task(*task) else { continue };
                let node = def.node(&t.node).map(|n| n.name.as_str()).unwrap_or_default();
                let users: Vec<Uuid> = t.assignee.iter().chain(t.candidates.iter()).filter_map(parse).collect();
                let title = format!("新待办：{}", affair.title);
                let body = format!("事务 {} 到达“{node}”环节，请办理。", affair.number);
                send(
                    db,
                    users,
                    "task_created",
                    &title,
                    &body,
                    Some(affair.id),
                    task_ids.get(&(task.0 as i32)).copied(),
                )
                .await?;
            }
            Event::Notify { users, reason } => {
                let users: Vec<Uuid> = users.iter().filter_map(parse).collect();
                let (kind, title) = match reason {
                    NotifyReason::Urge => ("urge", format!("催办：{}", affair.title)),
                    NotifyReason::Cc => ("cc", format!("抄送：{}", affair.title)),
                    NotifyReason::Returned => ("returned", format!("已退回，请修改后重新提交：{}", affair.title)),
                    NotifyReason::Finished => {
                        let word = match inst.status {
                            InstanceStatus::Completed => "已办结",
                            InstanceStatus::Rejected => "不予办理",
                            InstanceStatus::Withdrawn => "已撤回",
                            _ => "已结束",
                        };
                        ("finished", format!("{word}：{}", affair.title))
                    }
                    NotifyReason::ServiceFailed => {
                        ("service_failed", format!("自动处理失败，需人工办理：{}", affair.title))
                    }
                };
                send(db, users, kind, &title, &format!("事务编号 {}", affair.number), Some(affair.id), None).await?;
            }
            Event::TaskClosed { .. } | Event::ServiceCall { .. } | Event::Finished { .. } => {}
        }
    }
    Ok(())
}

/// The caller's notifications, newest first; `unread` limits to unread ones.
pub async fn list(st: &AppState, p: &Principal, unread: bool, page: &PageQuery) -> AppResult<Page<NotificationView>> {
    let mut f = notification::Entity::find().filter(notification::Column::UserId.eq(p.user_id));
    if unread {
        f = f.filter(notification::Column::ReadAt.is_null());
    }
    let paginator = f.order_by_desc(notification::Column::CreatedAt).paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, page: page.page(), page_size: page.size() })
}

/// Mark one of the caller's notifications read (idempotent).
pub async fn mark_read(st: &AppState, p: &Principal, id: Uuid) -> AppResult<NotificationView> {
    let n = notification::Entity::find_by_id(id)
        .one(st.db.conn())
        .await?
        .filter(|n| n.user_id == p.user_id)
        .ok_or_else(AppError::not_found)?;
    if n.read_at.is_none() {
        let txn = st.db.write().await?;
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(now()))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::ReadAt.is_null())
            .exec(&*txn)
            .await?;
        txn.commit().await?;
    }
    notification::Entity::find_by_id(id).one(st.db.conn()).await?.map(Into::into).ok_or_else(AppError::not_found)
}

/// How many of the user's notifications are unread.
pub async fn unread(st: &AppState, user_id: Uuid) -> AppResult<u64> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(st.db.conn())
        .await?)
}

/// Mark every unread notification of the caller read.
pub async fn mark_all_read(st: &AppState, p: &Principal) -> AppResult<()> {
    let txn = st.db.write().await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now()))
        .filter(notification::Column::UserId.eq(p.user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The user's notifications created after `last` (one of theirs), oldest first, at most 100: what
/// a reconnecting stream missed.
pub async fn since(st: &AppState, user_id: Uuid, last: Uuid) -> AppResult<Vec<NotificationView>> {
    let Some(mark) = notification::Entity::find_by_id(last).one(st.db.conn()).await?.filter(|n| n.user_id == user_id)
    else {
        return Ok(Vec::new());
    };
    let rows = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::CreatedAt.gte(mark.created_at))
        .filter(notification::Column::Id.ne(last))
        .order_by_asc(notification::Column::CreatedAt)
        .limit(100)
        .all(st.db.conn())
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
