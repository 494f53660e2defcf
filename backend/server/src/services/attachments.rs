//! Attachments (申请材料): files uploaded into the object store by an applicant (or a handler
//! filling an editable field), owned by their uploader and unattached until a submitted form
//! names them in a `file` field. From then on they belong to the affair: whoever may see the
//! affair and the field may download them, and they can no longer be deleted.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use tongban_engine::form::{self, FILE_DEFAULT_MAX_SIZE_MB, FieldKind, FormDefinition};
use uuid::Uuid;

use crate::access::{self, Op, Relation};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::attachment::AttachmentView;
use crate::entity::file;
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{Permission, Principal};
use crate::services::{affairs, storage};
use crate::state::AppState;
use crate::time::now;

/// `files.purpose` of application materials.
pub const PURPOSE: &str = "affair_material";
/// Object-store prefix of application materials.
const PREFIX: &str = "materials";
/// Unattached uploads one user may hold at a time.
const MAX_UNATTACHED: u64 = 200;

/// A form field key as the `field` part of an upload may name it.
fn valid_field(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))
}

async fn find_live(st: &AppState, id: Uuid) -> AppResult<file::Model> {
    file::Entity::find_by_id(id)
        .filter(file::Column::Purpose.eq(PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)
}

/// Upload one file. It is checked (name, size, type by content) and stored before its row is
/// written; if writing the row fails the object is removed again, so a refused upload leaves
/// nothing behind.
pub async fn upload(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    filename: &str,
    data: Bytes,
    field: Option<&str>,
) -> AppResult<AttachmentView> {
    if !(p.has(Permission::AffairApply) || p.has(Permission::TaskHandle)) {
        return Err(AppError::forbidden());
    }
    let field = match field.map(str::trim) {
        None | Some("") => None,
        Some(f) if valid_field(f) => Some(f.to_owned()),
        Some(_) => {
            return Err(AppError::field("field", "invalid", "表单字段名无效", "Not a valid form field key"));
        }
    };
    let unattached = file::Entity::find()
        .filter(file::Column::OwnerId.eq(p.user_id))
        .filter(file::Column::Purpose.eq(PURPOSE))
        .filter(file::Column::AffairId.is_null())
        .filter(file::Column::DeletedAt.is_null())
        .count(st.db.conn())
        .await?;
    if unattached >= MAX_UNATTACHED {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            format!("未提交的上传文件已达 {MAX_UNATTACHED} 个，请先提交或删除"),
            format!("You hold {MAX_UNATTACHED} uploads not yet submitted; submit or delete some first"),
        ));
    }
    let stored = st.storage.put(PREFIX, filename, data).await?;
    let key = stored.key.clone();
    let saved: AppResult<file::Model> = async {
        let txn = st.db.write().await?;
        let row = file::ActiveModel {
            id: Set(Uuid::now_v7()),
            purpose: Set(PURPOSE.to_owned()),
            owner_id: Set(p.user_id),
            guide_id: Set(None),
            draft_id: Set(None),
            affair_id: Set(None),
            field_key: Set(field),
            filename: Set(stored.filename.clone()),
            content_type: Set(stored.content_type.clone()),
            size: Set(stored.size),
            sha256: Set(stored.sha256.clone()),
            storage_key: Set(stored.key.clone()),
            created_at: Set(now()),
            deleted_at: Set(None),
        }
        .insert(&*txn)
        .await?;
        audit::record(
            &*txn,
            ctx,
            Entry::new("attachment.upload", "file", row.id).after(&json!({
                "filename": row.filename, "content_type": row.content_type, "size": row.size, "sha256": row.sha256
            })),
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }
    .await;
    match saved {
        Ok(row) => Ok(row.into()),
        Err(e) => {
            if let Err(d) = st.storage.delete(&key).await {
                tracing::warn!(key, error = ?d, "could not remove an upload whose row was not written");
            }
            Err(e)
        }
    }
}

/// The file if the caller may read it: its owner, or someone who may see the affair it is
/// attached to and the field it is attached under.
async fn readable(st: &AppState, p: &Principal, id: Uuid) -> AppResult<file::Model> {
    let f = find_live(st, id).await?;
    let rule = access::rule(Op::AttachmentDownload);
    if rule.allows(Relation::Own) && f.owner_id == p.user_id {
        return Ok(f);
    }
    // The other relations of the row are the affair's (`may_read_file` asks the AffairRead row),
    // narrowed by what the handler's node may see of the form.
    match f.affair_id {
        Some(a) if affairs::may_read_file(st, p, a, f.id).await? => Ok(f),
        _ => Err(AppError::not_found()),
    }
}

/// An attachment's metadata.
pub async fn meta(st: &AppState, p: &Principal, id: Uuid) -> AppResult<AttachmentView> {
    Ok(readable(st, p, id).await?.into())
}

/// An attachment's contents; a read of someone else's file is audited.
pub async fn download(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<(file::Model, Bytes)> {
    let f = readable(st, p, id).await?;
    let data = st.storage.get(&f.storage_key).await?;
    if f.owner_id != p.user_id {
        let txn = st.db.write().await?;
        audit::record(
            &*txn,
            ctx,
            Entry::new("attachment.read", "file", f.id).after(&json!({ "affair_id": f.affair_id })),
        )
        .await?;
        txn.commit().await?;
    }
    Ok((f, data))
}

/// Delete an upload of the caller's that no submitted form names yet.
pub async fn delete(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<()> {
    let f = find_live(st, id).await?;
    if f.owner_id != p.user_id {
        return Err(AppError::not_found());
    }
    if f.affair_id.is_some() {
        return Err(AppError::detail(
            ErrorCode::InUse,
            "文件已作为申请材料提交，不能删除",
            "The file was submitted with an application and cannot be deleted",
        ));
    }
    let txn = st.db.write().await?;
    // Conditional, so a submission attaching it at the same moment wins or loses cleanly.
    let done = file::Entity::update_many()
        .col_expr(file::Column::DeletedAt, Expr::value(now()))
        .filter(file::Column::Id.eq(id))
        .filter(file::Column::AffairId.is_null())
        .filter(file::Column::DeletedAt.is_null())
        .exec(&*txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::code(ErrorCode::InUse));
    }
    audit::record(&*txn, ctx, Entry::new("attachment.delete", "file", id).before(&json!({ "filename": f.filename })))
        .await?;
    txn.commit().await?;
    st.storage.delete(&f.storage_key).await
}

fn refusal(path: &str, code: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(format!("form.{path}"), code, Msg::new(zh, en))
}

/// Attach the files the form's `file` fields name to `affair_id`, in the caller's transaction.
/// Each id must be an undeleted upload of `actor` that is not attached elsewhere (or a file
/// already attached to this affair), within the field's size limit and accepted types, and named
/// once. Files of other people are reported as not found, so nobody learns they exist.
pub async fn bind<C: ConnectionTrait>(
    db: &C,
    def: &FormDefinition,
    data: &Value,
    actor: Uuid,
    affair_id: Uuid,
) -> AppResult<()> {
    let refs: Vec<_> =
        form::references(def, data).into_iter().filter(|r| matches!(r.field.kind, FieldKind::File { .. })).collect();
    if refs.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = refs.iter().filter_map(|r| r.id.parse().ok()).collect();
    let rows: HashMap<Uuid, file::Model> = file::Entity::find()
        .filter(file::Column::Id.is_in(ids))
        .filter(file::Column::Purpose.eq(PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut accepted = Vec::new();
    for r in &refs {
        let FieldKind::File { max_size_mb, accept, .. } = &r.field.kind else { continue };
        let f =
            r.id.parse::<Uuid>()
                .ok()
                .and_then(|id| rows.get(&id))
                .filter(|f| f.affair_id == Some(affair_id) || (f.owner_id == actor && f.affair_id.is_none()));
        let Some(f) = f else {
            let in_use = r.id.parse::<Uuid>().ok().and_then(|id| rows.get(&id)).is_some_and(|f| f.owner_id == actor);
            errors.push(if in_use {
                refusal(&r.path, "attachment_in_use", "该文件已用于其他申请", "The file belongs to another application")
            } else {
                refusal(&r.path, "attachment_not_found", "文件不存在或不可用", "No such file of yours")
            });
            continue;
        };
        if !seen.insert(f.id) {
            errors.push(refusal(&r.path, "duplicate_value", "同一文件只能提交一次", "The same file is attached twice"));
            continue;
        }
        let max_mb = max_size_mb.unwrap_or(FILE_DEFAULT_MAX_SIZE_MB);
        if f.size > i64::from(max_mb) * 1024 * 1024 {
            errors.push(refusal(
                &r.path,
                "attachment_too_large",
                format!("文件“{}”超过 {max_mb} MiB", f.filename),
                format!("“{}” exceeds {max_mb} MiB", f.filename),
            ));
            continue;
        }
        if !storage::accepts(accept, &f.filename, &f.content_type) {
            errors.push(refusal(
                &r.path,
                "attachment_type",
                format!("文件“{}”的类型不符合要求（可上传：{}）", f.filename, accept.join("、")),
                format!("“{}” is not of an accepted type ({})", f.filename, accept.join(", ")),
            ));
            continue;
        }
        accepted.push((f.id, r.path.clone()));
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    for (id, path) in accepted {
        let done = file::Entity::update_many()
            .col_expr(file::Column::AffairId, Expr::value(affair_id))
            .col_expr(file::Column::FieldKey, Expr::value(path.chars().take(64).collect::<String>()))
            .col_expr(file::Column::DraftId, Expr::value(Option::<Uuid>::None))
            .filter(file::Column::Id.eq(id))
            .filter(file::Column::DeletedAt.is_null())
            .filter(Condition::any().add(file::Column::AffairId.is_null()).add(file::Column::AffairId.eq(affair_id)))
            .exec(db)
            .await?;
        if done.rows_affected != 1 {
            return Err(AppError::fields(vec![refusal(
                &path,
                "attachment_not_found",
                "文件不存在或不可用",
                "No such file of yours",
            )]));
        }
    }
    Ok(())
}

/// The files attached to an affair, by id.
pub async fn of_affair<C: ConnectionTrait>(db: &C, affair_id: Uuid) -> AppResult<HashMap<Uuid, file::Model>> {
    Ok(file::Entity::find()
        .filter(file::Column::AffairId.eq(affair_id))
        .filter(file::Column::Purpose.eq(PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect())
}

/// How long an upload may stay unattached before [`sweep_orphans`] removes it.
pub const ORPHAN_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Remove uploads that were never submitted: unattached for [`ORPHAN_AFTER`] and named by none of
/// their owner's drafts. Rows are marked deleted (audited as the system) before their objects are
/// removed, so a submission racing the sweep either attaches the file or finds it gone. Returns
/// how many were removed; meant to run now and then from the job runner.
pub async fn sweep_orphans(st: &AppState) -> AppResult<u64> {
    use sea_orm::{QueryOrder, QuerySelect};

    let cutoff = now() - ORPHAN_AFTER;
    let candidates = file::Entity::find()
        .filter(file::Column::Purpose.eq(PURPOSE))
        .filter(file::Column::AffairId.is_null())
        .filter(file::Column::DeletedAt.is_null())
        .filter(file::Column::CreatedAt.lt(cutoff))
        .order_by_asc(file::Column::CreatedAt)
        .limit(500)
        .all(st.db.conn())
        .await?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let owners: HashSet<Uuid> = candidates.iter().map(|f| f.owner_id).collect();
    let mut in_drafts = HashSet::new();
    for d in crate::entity::affair_draft::Entity::find()
        .filter(crate::entity::affair_draft::Column::ApplicantId.is_in(owners))
        .all(st.db.conn())
        .await?
    {
        collect_strings(&d.form, &mut in_drafts);
    }
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let mut removed = 0;
    for f in candidates.into_iter().filter(|f| !in_drafts.contains(&f.id.to_string())) {
        let txn = st.db.write().await?;
        let done = file::Entity::update_many()
            .col_expr(file::Column::DeletedAt, Expr::value(now()))
            .filter(file::Column::Id.eq(f.id))
            .filter(file::Column::AffairId.is_null())
            .filter(file::Column::DeletedAt.is_null())
            .exec(&*txn)
            .await?;
        if done.rows_affected != 1 {
            continue;
        }
        audit::record(
            &*txn,
            &ctx,
            Entry::new("attachment.expire", "file", f.id)
                .before(&json!({ "filename": f.filename, "owner_id": f.owner_id })),
        )
        .await?;
        txn.commit().await?;
        st.storage.delete(&f.storage_key).await?;
        removed += 1;
    }
    Ok(removed)
}

fn collect_strings(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}
