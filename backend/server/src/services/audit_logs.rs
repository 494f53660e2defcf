//! Reading the audit trail (auditors); the reads themselves are audited.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{AuditLogView, AuditQuery};
use crate::entity::audit_log;
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::state::AppState;

fn require_auditor(p: &Principal) -> AppResult<()> {
    if p.may(Op::AuditRead, &Facts::default()) { Ok(()) } else { Err(AppError::forbidden()) }
}

fn filtered(q: &AuditQuery) -> sea_orm::Select<audit_log::Entity> {
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
    f
}

async fn audit_the_auditor(st: &AppState, ctx: &AuditCtx, action: &'static str, q: &AuditQuery) -> AppResult<()> {
    let txn = st.db.write().await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new(action, "audit_log", "query").after(&serde_json::json!({
            "action": q.action, "object_type": q.object_type, "object_id": q.object_id,
            "actor_id": q.actor_id, "from": q.from, "to": q.to,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Verify the tamper-evident chain (the verification is itself audited).
pub async fn verify(st: &AppState, p: &Principal, ctx: &AuditCtx) -> AppResult<crate::audit_chain::ChainReport> {
    require_auditor(p)?;
    let report = crate::audit_chain::verify(st.db.conn(), &st.signing).await?;
    let txn = st.db.write().await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("audit.verify", "audit_log", "chain").after(
            &serde_json::json!({ "valid": report.valid, "checked": report.checked, "problems": report.problems.len() }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// The matching records, oldest first, as JSON Lines streamed in batches (the export is audited).
pub async fn export(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    q: AuditQuery,
) -> AppResult<futures_util::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>> {
    use futures_util::StreamExt;
    require_auditor(p)?;
    audit_the_auditor(st, ctx, "audit.export", &q).await?;
    let db = st.db.clone();
    let stream = futures_util::stream::unfold(Some(0i64), move |after| {
        let db = db.clone();
        let q = q.clone();
        async move {
            let after = after?;
            let rows = filtered(&q)
                .filter(audit_log::Column::Seq.gt(after))
                .order_by_asc(audit_log::Column::Seq)
                .limit(1000)
                .all(db.conn())
                .await;
            match rows {
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|r| r.seq);
                    let mut out = Vec::new();
                    for r in &rows {
                        let _ = serde_json::to_writer(&mut out, &crate::audit_chain::record_json(r));
                        out.push(b'\n');
                    }
                    Some((Ok(bytes::Bytes::from(out)), next))
                }
            }
        }
    });
    Ok(stream.boxed())
}

/// Newest first, filtered and paged. Auditing needs school-wide scope.
pub async fn list(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    q: &AuditQuery,
    page: &PageQuery,
) -> AppResult<Page<AuditLogView>> {
    require_auditor(p)?;
    let paginator = filtered(q).order_by_desc(audit_log::Column::Seq).paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    audit_the_auditor(st, ctx, "audit.read", q).await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, page: page.page(), page_size: page.size() })
}
