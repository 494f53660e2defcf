//! Drafts (草稿): an application saved while it is being written. Only its shape is checked on
//! saving; submitting validates it fully and turns it into an affair in one transaction that also
//! deletes the draft. Only the applicant sees or touches their drafts.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::{Page, PageQuery};
use crate::dto::draft::{CreateDraft, DraftSummary, DraftView, UpdateDraft};
use crate::entity::{affair_draft, process};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Permission, Principal};
use crate::services::affairs::{self, NewAffair};
use crate::state::AppState;
use crate::time::now;

/// Drafts one user may keep.
const MAX_DRAFTS: u64 = 50;
/// Largest saved form, in bytes of JSON.
const MAX_FORM_BYTES: usize = 256 * 1024;

fn check_form(form: &Value) -> AppResult<()> {
    if !form.is_object() {
        return Err(AppError::field("form", "invalid_type", "表单数据须为对象", "The form must be an object"));
    }
    if serde_json::to_vec(form).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_FORM_BYTES {
        return Err(AppError::field(
            "form",
            "too_long",
            format!("表单数据过大（最多 {} KiB）", MAX_FORM_BYTES / 1024),
            format!("The form is too large ({} KiB at most)", MAX_FORM_BYTES / 1024),
        ));
    }
    Ok(())
}

fn view(d: affair_draft::Model, key: String) -> DraftView {
    DraftView {
        id: d.id,
        guide_id: d.guide_id,
        process_id: d.process_id,
        process_key: key,
        title: d.title,
        form: d.form,
        picks: d.picks,
        version: d.version,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

async fn process_key(st: &AppState, id: Uuid) -> AppResult<String> {
    Ok(process::Entity::find_by_id(id).one(st.db.conn()).await?.map(|p| p.key).unwrap_or_default())
}

/// One of the caller's drafts; others' are 404.
async fn mine(st: &AppState, p: &Principal, id: Uuid) -> AppResult<affair_draft::Model> {
    affair_draft::Entity::find_by_id(id)
        .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)
}

/// Save a new draft.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateDraft) -> AppResult<DraftView> {
    p.require(Permission::AffairApply)?;
    check_form(&req.form)?;
    let (proc, guide_id) = affairs::resolve_source(st.db.conn(), req.process_key.as_deref(), req.guide_id).await?;
    let count = affair_draft::Entity::find()
        .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
        .count(st.db.conn())
        .await?;
    if count >= MAX_DRAFTS {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            format!("草稿最多保存 {MAX_DRAFTS} 份，请先提交或删除"),
            format!("At most {MAX_DRAFTS} drafts; submit or delete some first"),
        ));
    }
    let t = now();
    let txn = st.db.write().await?;
    let row = affair_draft::ActiveModel {
        id: Set(Uuid::now_v7()),
        applicant_id: Set(p.user_id),
        guide_id: Set(guide_id),
        process_id: Set(proc.id),
        title: Set(proc.name.chars().take(200).collect()),
        form: Set(req.form),
        picks: Set(json!(req.picks)),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("draft.create", "affair_draft", row.id).after(&json!({ "process": proc.key })),
    )
    .await?;
    txn.commit().await?;
    Ok(view(row, proc.key))
}

/// The caller's drafts, last saved first.
pub async fn list(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<DraftSummary>> {
    let paginator = affair_draft::Entity::find()
        .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
        .order_by_desc(affair_draft::Column::UpdatedAt)
        .order_by_desc(affair_draft::Column::Id)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    let keys: std::collections::HashMap<Uuid, String> = process::Entity::find()
        .filter(process::Column::Id.is_in(items.iter().map(|d| d.process_id)))
        .all(st.db.conn())
        .await?
        .into_iter()
        .map(|p| (p.id, p.key))
        .collect();
    Ok(Page {
        items: items
            .into_iter()
            .map(|d| DraftSummary {
                id: d.id,
                guide_id: d.guide_id,
                process_key: keys.get(&d.process_id).cloned().unwrap_or_default(),
                process_id: d.process_id,
                title: d.title,
                version: d.version,
                updated_at: d.updated_at,
            })
            .collect(),
        total,
        page: page.page(),
        page_size: page.size(),
    })
}

/// One draft of the caller's.
pub async fn get(st: &AppState, p: &Principal, id: Uuid) -> AppResult<DraftView> {
    let d = mine(st, p, id).await?;
    let key = process_key(st, d.process_id).await?;
    Ok(view(d, key))
}

/// Replace a draft's form and picks; a stale `version` is 409.
pub async fn update(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: UpdateDraft) -> AppResult<DraftView> {
    check_form(&req.form)?;
    mine(st, p, id).await?;
    let txn = st.db.write().await?;
    let done = affair_draft::Entity::update_many()
        .col_expr(affair_draft::Column::Form, Expr::value(req.form.clone()))
        .col_expr(affair_draft::Column::Picks, Expr::value(json!(req.picks)))
        .col_expr(affair_draft::Column::Version, Expr::col(affair_draft::Column::Version).add(1))
        .col_expr(affair_draft::Column::UpdatedAt, Expr::value(now()))
        .filter(affair_draft::Column::Id.eq(id))
        .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
        .filter(affair_draft::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(&*txn, ctx, Entry::new("draft.update", "affair_draft", id)).await?;
    let row = affair_draft::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    txn.commit().await?;
    let key = process_key(st, row.process_id).await?;
    Ok(view(row, key))
}

/// Delete a draft.
pub async fn delete(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<()> {
    mine(st, p, id).await?;
    let txn = st.db.write().await?;
    let done = affair_draft::Entity::delete_many()
        .filter(affair_draft::Column::Id.eq(id))
        .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
        .exec(&*txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::not_found());
    }
    audit::record(&*txn, ctx, Entry::new("draft.delete", "affair_draft", id)).await?;
    txn.commit().await?;
    Ok(())
}

/// Submit a draft: validated fully and created exactly like `POST /affairs`; the draft is deleted
/// in the same transaction. With an idempotency key a retry returns the first result.
pub async fn submit(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    idempotency_key: Option<&str>,
) -> AppResult<(u16, Value)> {
    p.require(Permission::AffairApply)?;
    let hash = affairs::request_hash(&format!("draft_submit:{id}"), &());
    if let Some(key) = idempotency_key
        && let Some(stored) = affairs::replay(st, p.user_id, key, &hash).await?
    {
        return Ok(stored);
    }
    let d = mine(st, p, id).await?;
    let proc = process::Entity::find_by_id(d.process_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let picks = serde_json::from_value(d.picks.clone()).unwrap_or_default();
    let app = NewAffair { process: proc, guide_id: d.guide_id, form: &d.form, picks: &picks, draft: Some(d.id) };
    affairs::submit_new(st, p, ctx, app, idempotency_key.map(|k| (k, hash.as_str()))).await
}
