//! Messages on an affair between its applicant and its handlers.
//!
//! Who takes part: the applicant and everyone who has, had or could claim a task of the affair.
//! They read and write. Supervisors (process administrators, `affair.read` in scope) may read the
//! conversation but not write in it; people the affair was only copied to (抄送) neither — a copy
//! informs, it does not open a conversation. Each message notifies the other side: the
//! applicant's go to the people who must act now (or, when nobody must, to everyone who handled
//! it); a handler's go to the applicant.

use std::collections::BTreeSet;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::affair::{MessageView, PersonRef, PostMessage};
use crate::dto::common::{Page, PageQuery};
use crate::entity::affair_message;
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::services::affairs::{self, Standing};
use crate::services::notifications;
use crate::state::AppState;
use crate::time::now;

fn forbidden_unless(ok: bool) -> AppResult<()> {
    if ok { Ok(()) } else { Err(AppError::forbidden()) }
}

/// The messages of an affair, oldest first.
pub async fn list(st: &AppState, p: &Principal, affair_id: Uuid, page: &PageQuery) -> AppResult<Page<MessageView>> {
    let s = affairs::standing(st.db.conn(), p, affair_id).await?;
    forbidden_unless(s.applicant || s.handler || s.supervisor)?;
    let paginator = affair_message::Entity::find()
        .filter(affair_message::Column::AffairId.eq(affair_id))
        .order_by_asc(affair_message::Column::CreatedAt)
        .order_by_asc(affair_message::Column::Id)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    let names = affairs::names(st.db.conn(), rows.iter().map(|m| m.sender_id)).await?;
    let applicant = s.affair.applicant_id;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|m| MessageView {
                sender: PersonRef { id: m.sender_id, name: names.get(&m.sender_id).cloned().unwrap_or_default() },
                from_applicant: m.sender_id == applicant,
                id: m.id,
                affair_id: m.affair_id,
                body: m.body,
                created_at: m.created_at,
            })
            .collect(),
        total,
        page: page.page(),
        page_size: page.size(),
    })
}

/// Who a message from the caller goes to.
fn recipients(s: &Standing, sender: Uuid) -> BTreeSet<Uuid> {
    let parse = |u: &tongban_engine::model::UserId| u.as_str().parse::<Uuid>().ok();
    let mut to: BTreeSet<Uuid> = if sender == s.affair.applicant_id {
        let now: BTreeSet<Uuid> = s
            .instance
            .pending_tasks()
            .flat_map(|t| t.assignee.iter().chain(if t.assignee.is_none() { t.candidates.iter() } else { [].iter() }))
            .filter_map(parse)
            .collect();
        if now.is_empty() {
            s.instance.tasks.iter().filter_map(|t| t.assignee.as_ref()).filter_map(parse).collect()
        } else {
            now
        }
    } else {
        BTreeSet::from([s.affair.applicant_id])
    };
    to.remove(&sender);
    to
}

/// Write a message on an affair; the other side is notified in the same transaction.
pub async fn post(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    affair_id: Uuid,
    req: PostMessage,
) -> AppResult<MessageView> {
    let s = affairs::standing(st.db.conn(), p, affair_id).await?;
    forbidden_unless(s.applicant || s.handler)?;
    let body = req.body.trim().to_owned();
    if body.is_empty() {
        return Err(AppError::field("body", "required", "请填写内容", "The message is empty"));
    }
    if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::field(
            "body",
            "control_characters",
            "不能包含控制字符",
            "Must not contain control characters",
        ));
    }
    let txn = st.db.write().await?;
    let row = affair_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        affair_id: Set(affair_id),
        sender_id: Set(p.user_id),
        body: Set(body),
        created_at: Set(now()),
    }
    .insert(&*txn)
    .await?;
    let title = format!("新留言：{}", s.affair.title);
    let preview: String = row.body.chars().take(100).collect();
    let text = format!("事务 {}，{}：{}", s.affair.number, p.display_name, preview);
    notifications::send(&*txn, recipients(&s, p.user_id), "affair_message", &title, &text, Some(affair_id), None)
        .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("affair.message", "affair", affair_id).after(&json!({ "message_id": row.id })),
    )
    .await?;
    txn.commit().await?;
    Ok(MessageView {
        sender: PersonRef { id: p.user_id, name: p.display_name.clone() },
        from_applicant: s.applicant,
        id: row.id,
        affair_id,
        body: row.body,
        created_at: row.created_at,
    })
}
