//! Reading the audit trail (auditors); the reads themselves are audited.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{AuditLogView, AuditQuery};
use crate::entity::audit_log;
use crate::error::{AppError, AppResult};
use crate::policy::{DataScope, Permission, Principal};
use crate::state::AppState;

/// Newest first, filtered and paged. Auditing needs school-wide scope.
pub async fn list(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    q: &AuditQuery,
    page: &PageQuery,
) -> AppResult<Page<AuditLogView>> {
    if p.scope(Permission::AuditRead) != Some(DataScope::All) {
        return Err(AppError::forbidden());
    }
    let mut f = audit_log::Entity::find();
    if let Some(a) = &q.action {
        f = f.filter(audit_log::Column::Action.eq(a.as_str()));
    }
    if let Some(t) = &q.object_type {
        f = f.filter(audit_log::Column::ObjectType.eq(t.as_str()));
    }
    if let Some(o) = &q.object_id {
        f = f.filter(audit_log::Column::ObjectId.eq(o.as_str()));
    }
    if let Some(a) = q.actor_id {
        f = f.filter(audit_log::Column::ActorId.eq(a));
    }
    if let Some(from) = q.from {
        f = f.filter(audit_log::Column::At.gte(from));
    }
    if let Some(to) = q.to {
        f = f.filter(audit_log::Column::At.lt(to));
    }
    let paginator = f.order_by_desc(audit_log::Column::Seq).paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    let txn = st.db.write().await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("audit.read", "audit_log", "query").after(&serde_json::json!({
            "action": q.action, "object_type": q.object_type, "object_id": q.object_id,
            "actor_id": q.actor_id, "page": page.page(),
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, page: page.page(), page_size: page.size() })
}
