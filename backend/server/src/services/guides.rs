//! Service guides (办事指南, 第十条): versioned content edited and published by the owning department,
//! sample texts and blank forms in the object store, and the public read API the hall and the
//! departments' own websites use.
//!
//! A guide's row holds what lists, the hall and search need, copied from the published version
//! (or, before the first publication, from the draft so managers' lists show it). Each edit is a
//! row in `guide_versions`: `PUT` edits the latest draft or, when the latest is published, starts
//! the next one; publishing makes the latest draft the published version and the previous one
//! `superseded`.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tongban_engine::model::ProcessDefinition;
use uuid::Uuid;

use super::{like_pattern, unique_to_conflict};
use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::Page;
use crate::dto::hall::{
    Audience, Channel, FlowEdge, FlowNode, GuideContent, GuideFileView, GuideQuery, GuideStatus, GuideSummary,
    GuideVersionDetail, GuideVersionStatus, GuideVersionView, GuideView, ProcessFlow, SetRecommendation, UpdateGuide,
};
use crate::dto::hall::{CreateGuide, GuideVersionCheck};
use crate::entity::{category, department, file, guide, guide_version, process, process_version};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::services::hall::{self, CachedGuide};
use crate::services::search::GuideQuery as SearchQuery;
use crate::state::AppState;
use crate::time::now;

/// The `files.purpose` of a guide's sample texts and blank forms.
pub const SAMPLE_PURPOSE: &str = "guide_sample";

fn list_of<T: serde::de::DeserializeOwned>(v: &Value) -> Vec<T> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn json_of<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// A guide row in list form.
pub(crate) fn summary(g: &guide::Model, department_name: &str, online: bool) -> GuideSummary {
    GuideSummary {
        id: g.id,
        code: g.code.clone(),
        name: g.name.clone(),
        name_en: g.name_en.clone(),
        summary: g.summary.clone(),
        department_id: g.department_id,
        department_name: department_name.to_owned(),
        category_id: g.category_id,
        process_id: g.process_id,
        online,
        audiences: list_of(&g.audiences),
        channels: list_of(&g.channels),
        status: GuideStatus::parse(&g.status).unwrap_or(GuideStatus::Draft),
        published_version: g.published_version,
        latest_version: g.latest_version,
        recommended: g.recommended,
        recommend_rank: g.recommend_rank,
        protected: g.protected,
        version: g.version,
        updated_at: g.updated_at,
        published_at: g.published_at,
    }
}

fn target(g: &guide::Model) -> Target {
    Target { owner_id: None, department_id: Some(g.department_id) }
}

/// Whether the caller may edit, publish and take the guide offline: `guide.manage` reaching its
/// department; a protected guide (the built-in requirement-plan guide) only with `process.manage`
/// over everything.
pub(crate) fn can_manage(p: &Principal, g: &guide::Model) -> bool {
    if g.protected {
        p.scope(Permission::ProcessManage) == Some(DataScope::All)
    } else {
        p.may(Op::GuideUpdate, &Facts { owner_id: None, departments: &[Some(g.department_id)] })
    }
}

/// Whether the caller may read drafts, history and every uploaded file of the guide.
pub(crate) fn can_read_drafts(p: &Principal, g: &guide::Model) -> bool {
    can_manage(p, g) || p.can_on(Permission::GuideManage, target(g))
}

/// 403 for a guide the caller can see in the hall, 404 for one they may not know about.
fn refuse(g: &guide::Model) -> AppError {
    if g.status == GuideStatus::Published.as_str() { AppError::forbidden() } else { AppError::not_found() }
}

async fn load<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<guide::Model> {
    guide::Entity::find_by_id(id).one(db).await?.ok_or_else(AppError::not_found)
}

/// The guide, for a caller who may manage it.
async fn load_managed<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<guide::Model> {
    let g = load(db, id).await?;
    if can_manage(p, &g) {
        Ok(g)
    } else if can_read_drafts(p, &g) {
        Err(AppError::forbidden())
    } else {
        Err(refuse(&g))
    }
}

async fn version_row<C: ConnectionTrait>(db: &C, guide_id: Uuid, number: i32) -> AppResult<guide_version::Model> {
    guide_version::Entity::find()
        .filter(guide_version::Column::GuideId.eq(guide_id))
        .filter(guide_version::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)
}

fn content_of(v: &guide_version::Model) -> AppResult<GuideContent> {
    serde_json::from_value(v.content.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("guide version {} content: {e}", v.id)))
}

fn field_err(field: &str, code: &str, zh: &str, en: &str) -> FieldError {
    FieldError::new(field, code, Msg::new(zh, en))
}

/// Check what the content refers to: the theme exists, the process belongs to the guide's
/// department or is one the caller manages, and every file was uploaded to this guide.
async fn check_refs<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    department_id: Uuid,
    guide_id: Option<Uuid>,
    c: &GuideContent,
) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Some(cat) = c.category_id
        && category::Entity::find_by_id(cat).one(db).await?.is_none()
    {
        errors.push(field_err("content.category_id", "not_found", "办事主题不存在", "No such category"));
    }
    if let Some(pid) = c.process_id {
        let ok = match process::Entity::find_by_id(pid).one(db).await? {
            None => false,
            Some(pr) => {
                let t = Target { owner_id: None, department_id: pr.department_id };
                pr.department_id == Some(department_id)
                    || p.can_on(Permission::GuideManage, t)
                    || p.can_on(Permission::ProcessManage, t)
            }
        };
        if !ok {
            errors.push(field_err(
                "content.process_id",
                "not_found",
                "流程不存在，或不属于本部门",
                "No such process of this department",
            ));
        }
    }
    let ids = c.file_ids();
    if !ids.is_empty() {
        let found: HashSet<Uuid> = match guide_id {
            None => HashSet::new(),
            Some(gid) => file::Entity::find()
                .filter(file::Column::Id.is_in(ids.clone()))
                .filter(file::Column::GuideId.eq(gid))
                .filter(file::Column::Purpose.eq(SAMPLE_PURPOSE))
                .filter(file::Column::DeletedAt.is_null())
                .all(db)
                .await?
                .into_iter()
                .map(|f| f.id)
                .collect(),
        };
        if ids.iter().any(|id| !found.contains(id)) {
            errors.push(field_err(
                "content.sample_files",
                "not_found",
                "引用的文件不存在，须先上传到本指南",
                "A referenced file does not exist; upload it to this guide first",
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
}

/// The 网上办理流程 of a process: its online version's nodes and arrows.
async fn flow<C: ConnectionTrait>(db: &C, process_id: Uuid) -> AppResult<Option<ProcessFlow>> {
    let Some(pr) = process::Entity::find_by_id(process_id).one(db).await? else {
        return Ok(None);
    };
    let Some(v) = process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(process_id))
        .filter(process_version::Column::Status.eq("online"))
        .order_by_desc(process_version::Column::Number)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let def: ProcessDefinition = serde_json::from_value(v.definition.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("process version {} definition: {e}", v.id)))?;
    let nodes = def
        .nodes
        .iter()
        .map(|n| FlowNode {
            id: n.id.to_string(),
            name: n.name.clone(),
            kind: serde_json::to_value(&n.kind)
                .ok()
                .and_then(|k| k["type"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        })
        .collect();
    let flows = def
        .flows
        .iter()
        .map(|f| FlowEdge { from: f.from.to_string(), to: f.to.to_string(), label: f.name.clone() })
        .collect();
    Ok(Some(ProcessFlow { process_key: pr.key, process_version: v.number, nodes, flows }))
}

fn file_view(f: &file::Model) -> GuideFileView {
    GuideFileView {
        id: f.id,
        filename: f.filename.clone(),
        content_type: f.content_type.clone(),
        size: f.size,
        sha256: f.sha256.clone(),
        created_at: f.created_at,
        url: format!("/api/v1/guides/{}/files/{}", f.guide_id.unwrap_or_default(), f.id),
    }
}

async fn build_view<C: ConnectionTrait>(db: &C, g: &guide::Model, v: &guide_version::Model) -> AppResult<GuideView> {
    let content = content_of(v)?;
    let dept = department::Entity::find_by_id(g.department_id).one(db).await?.map(|d| d.name).unwrap_or_default();
    let category_name = match content.category_id {
        Some(c) => category::Entity::find_by_id(c).one(db).await?.map(|c| c.name),
        None => None,
    };
    let ids = content.file_ids();
    let files = if ids.is_empty() {
        Vec::new()
    } else {
        file::Entity::find()
            .filter(file::Column::Id.is_in(ids))
            .filter(file::Column::GuideId.eq(g.id))
            .filter(file::Column::DeletedAt.is_null())
            .order_by_asc(file::Column::CreatedAt)
            .all(db)
            .await?
            .iter()
            .map(file_view)
            .collect()
    };
    let flow = match content.process_id {
        Some(pid) => flow(db, pid).await?,
        None => None,
    };
    Ok(GuideView {
        guide: summary(g, &dept, flow.is_some()),
        category_name,
        shown_version: v.number,
        shown_status: GuideVersionStatus::parse(&v.status).unwrap_or(GuideVersionStatus::Draft),
        content,
        files,
        flow,
    })
}

/// What `GET /guides/{id}` answers.
pub enum GuideRead {
    /// The published page, the same for everyone: cacheable.
    Public(Arc<CachedGuide>),
    /// A draft or an older version, for the guide's managers only.
    Private(Box<GuideView>),
}

fn render(view: &GuideView) -> AppResult<CachedGuide> {
    let body = serde_json::to_vec(view).map_err(|e| AppError::Internal(e.into()))?;
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    Ok(CachedGuide { etag, body: crate::encoded::Encoded::new(Bytes::from(body)) })
}

async fn visited(st: &AppState, who: Option<&Principal>, id: Uuid) {
    if let Some(p) = who
        && let Err(e) = hall::record_visit(st, p.user_id, id).await
    {
        tracing::warn!(error = %e, guide = %id, "could not record a guide visit");
    }
}

/// Read a guide: its published version for everyone (from memory while fresh); drafts and other
/// versions (`version`) for its managers only. A signed-in reader's visit is remembered.
pub async fn read(st: &AppState, who: Option<&Principal>, id: Uuid, version: Option<i32>) -> AppResult<GuideRead> {
    if version.is_none()
        && let Some(c) = st.hall.guide(id)
    {
        visited(st, who, id).await;
        return Ok(GuideRead::Public(c));
    }
    let generation = st.hall.generation();
    let g = load(st.db.conn(), id).await?;
    let published = g.status == GuideStatus::Published.as_str();
    if published && (version.is_none() || version == g.published_version) {
        let n = g.published_version.ok_or_else(AppError::not_found)?;
        let v = version_row(st.db.conn(), id, n).await?;
        let page = Arc::new(render(&build_view(st.db.conn(), &g, &v).await?)?);
        if version.is_none() {
            st.hall.store_guide(generation, id, page.clone());
        }
        visited(st, who, id).await;
        return Ok(GuideRead::Public(page));
    }
    if !who.is_some_and(|p| can_read_drafts(p, &g)) {
        return Err(AppError::not_found());
    }
    let v = version_row(st.db.conn(), id, version.unwrap_or(g.latest_version)).await?;
    Ok(GuideRead::Private(Box::new(build_view(st.db.conn(), &g, &v).await?)))
}

/// `GET /guides`: published guides (searched with `q`, else recommended first, then by name);
/// with `include_unpublished` a guide manager also gets the drafts and offline guides they manage.
pub async fn list(st: &AppState, who: Option<&Principal>, q: &GuideQuery) -> AppResult<Page<GuideSummary>> {
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if q.include_unpublished == Some(true) {
        let p = who.ok_or_else(|| AppError::code(ErrorCode::Unauthenticated))?;
        return list_managed(st, p, q, text).await;
    }
    let s = hall::snapshot(st).await?;
    let keep = |g: &&hall::PublishedGuide| {
        q.category_id.is_none_or(|c| g.model.category_id == Some(c))
            && q.department_id.is_none_or(|d| g.model.department_id == d)
            && q.audience.is_none_or(|a| g.for_audience(a))
            && q.channel.is_none_or(|c| g.on_channel(c))
    };
    let items: Vec<GuideSummary> = match text {
        Some(t) => {
            let hits = st.search.search_guides(&SearchQuery {
                q: t.to_owned(),
                category_id: q.category_id,
                department_id: q.department_id,
                audience: q.audience.map(|a| a.as_str().to_owned()),
                offset: 0,
                limit: 1000,
            })?;
            hits.hits.iter().filter_map(|(id, _)| s.guide(*id)).filter(keep).map(|g| g.summary.clone()).collect()
        }
        None => s.published.iter().filter(keep).map(|g| g.summary.clone()).collect(),
    };
    Ok(hall::paged(items, &q.paging()))
}

async fn list_managed(
    st: &AppState,
    p: &Principal,
    q: &GuideQuery,
    text: Option<&str>,
) -> AppResult<Page<GuideSummary>> {
    let mut find = guide::Entity::find();
    match p.scope(Permission::GuideManage) {
        None => return Err(AppError::forbidden()),
        Some(DataScope::All) => {}
        Some(DataScope::Limited { departments, .. }) => {
            find = find.filter(guide::Column::DepartmentId.is_in(departments));
        }
    }
    if let Some(c) = q.category_id {
        find = find.filter(guide::Column::CategoryId.eq(c));
    }
    if let Some(d) = q.department_id {
        find = find.filter(guide::Column::DepartmentId.eq(d));
    }
    if let Some(t) = text {
        let pat = like_pattern(t);
        find = find.filter(
            Condition::any()
                .add(Expr::col(guide::Column::Name).like(LikeExpr::new(&pat).escape('\\')))
                .add(Expr::col(guide::Column::Code).like(LikeExpr::new(&pat).escape('\\'))),
        );
    }
    let rows = find.order_by_desc(guide::Column::UpdatedAt).all(st.db.conn()).await?;
    let s = hall::snapshot(st).await?;
    let depts: std::collections::HashMap<Uuid, String> =
        department::Entity::find().all(st.db.conn()).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let items: Vec<GuideSummary> = rows
        .iter()
        .map(|g| {
            let online = s.guide(g.id).is_some_and(|pg| pg.summary.online);
            summary(g, depts.get(&g.department_id).map(String::as_str).unwrap_or_default(), online)
        })
        .filter(|g| q.audience.is_none_or(|a| g.audiences.is_empty() || g.audiences.contains(&a)))
        .filter(|g| q.channel.is_none_or(|c| g.channels.is_empty() || g.channels.contains(&c)))
        .collect();
    Ok(hall::paged(items, &q.paging()))
}

/// Copy the list fields of `c` onto the row.
fn denormalise(m: &mut guide::ActiveModel, c: &GuideContent) -> AppResult<()> {
    m.name = Set(c.name.trim().to_owned());
    m.name_en = Set(c.name_en.clone());
    m.summary = Set(c.summary.clone());
    m.keywords = Set(c.keywords.clone());
    m.category_id = Set(c.category_id);
    m.process_id = Set(c.process_id);
    m.audiences = Set(json_of(&dedup(&c.audiences))?);
    m.channels = Set(json_of(&dedup(&c.channels))?);
    Ok(())
}

fn dedup<T: Copy + PartialEq>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(x) {
            out.push(*x);
        }
    }
    out
}

fn normalise(mut c: GuideContent) -> GuideContent {
    c.name = c.name.trim().to_owned();
    c.audiences = dedup::<Audience>(&c.audiences);
    c.channels = dedup::<Channel>(&c.channels);
    c
}

async fn after_change(st: &AppState, id: Uuid) {
    st.hall.invalidate();
    if let Err(e) = st.search.refresh_guide(&st.db, id).await {
        tracing::warn!(error = %e, guide = %id, "could not refresh the search index for a guide");
    }
}

/// Create a guide in a department the caller manages, with version 1 as a draft.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateGuide) -> AppResult<GuideView> {
    p.require(Permission::GuideManage)?;
    if department::Entity::find_by_id(req.department_id).one(st.db.conn()).await?.is_none() {
        return Err(AppError::field("department_id", "not_found", "部门不存在", "No such department"));
    }
    p.require_on(Permission::GuideManage, Target { owner_id: None, department_id: Some(req.department_id) })?;
    let content = normalise(req.content);
    check_refs(st.db.conn(), p, req.department_id, None, &content).await?;
    let txn = st.db.write().await?;
    if guide::Entity::find().filter(guide::Column::Code.eq(&req.code)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("code", "指南编码已被使用", "The code is already in use"));
    }
    let t = now();
    let id = Uuid::now_v7();
    let mut m = guide::ActiveModel {
        id: Set(id),
        code: Set(req.code),
        department_id: Set(req.department_id),
        status: Set(GuideStatus::Draft.as_str().into()),
        published_version: Set(None),
        latest_version: Set(1),
        recommended: Set(false),
        recommend_rank: Set(0),
        protected: Set(false),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
        published_at: Set(None),
        ..Default::default()
    };
    denormalise(&mut m, &content)?;
    let g = m.insert(&*txn).await.map_err(unique_to_conflict)?;
    let v = guide_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        guide_id: Set(id),
        number: Set(1),
        status: Set(GuideVersionStatus::Draft.as_str().into()),
        content: Set(json_of(&content)?),
        created_by: Set(p.user_id),
        created_at: Set(t),
        published_by: Set(None),
        published_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("guide.create", "guide", id).after(&serde_json::json!({ "code": g.code, "content": content })),
    )
    .await?;
    let view = build_view(&*txn, &g, &v).await?;
    txn.commit().await?;
    Ok(view)
}

/// Edit the latest draft, or start a new draft when the latest version is published.
pub async fn update(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: UpdateGuide) -> AppResult<GuideView> {
    let content = normalise(req.content);
    let g = load_managed(st.db.conn(), p, id).await?;
    check_refs(st.db.conn(), p, g.department_id, Some(id), &content).await?;
    let txn = st.db.write().await?;
    let latest = version_row(&*txn, id, g.latest_version).await?;
    let is_draft = latest.status == GuideVersionStatus::Draft.as_str();
    let number = if is_draft { latest.number } else { latest.number + 1 };
    let t = now();
    let mut upd = guide::Entity::update_many()
        .col_expr(guide::Column::LatestVersion, Expr::value(number))
        .col_expr(guide::Column::Version, Expr::col(guide::Column::Version).add(1))
        .col_expr(guide::Column::UpdatedAt, Expr::value(t));
    if g.published_version.is_none() {
        // Never published: the row shows the draft to its managers.
        upd = upd
            .col_expr(guide::Column::Name, Expr::value(content.name.clone()))
            .col_expr(guide::Column::NameEn, Expr::value(content.name_en.clone()))
            .col_expr(guide::Column::Summary, Expr::value(content.summary.clone()))
            .col_expr(guide::Column::Keywords, Expr::value(content.keywords.clone()))
            .col_expr(guide::Column::CategoryId, Expr::value(content.category_id))
            .col_expr(guide::Column::ProcessId, Expr::value(content.process_id))
            .col_expr(guide::Column::Audiences, Expr::value(json_of(&content.audiences)?))
            .col_expr(guide::Column::Channels, Expr::value(json_of(&content.channels)?));
    }
    let r = upd
        .filter(guide::Column::Id.eq(id))
        .filter(guide::Column::Version.eq(req.version))
        .filter(guide::Column::LatestVersion.eq(g.latest_version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let before = latest.content.clone();
    let v = if is_draft {
        guide_version::Entity::update_many()
            .col_expr(guide_version::Column::Content, Expr::value(json_of(&content)?))
            .filter(guide_version::Column::Id.eq(latest.id))
            .exec(&*txn)
            .await?;
        version_row(&*txn, id, number).await?
    } else {
        guide_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            guide_id: Set(id),
            number: Set(number),
            status: Set(GuideVersionStatus::Draft.as_str().into()),
            content: Set(json_of(&content)?),
            created_by: Set(p.user_id),
            created_at: Set(t),
            published_by: Set(None),
            published_at: Set(None),
        }
        .insert(&*txn)
        .await
        .map_err(unique_to_conflict)?
    };
    audit::record(
        &*txn,
        ctx,
        Entry::new("guide.update", "guide", id)
            .before(&serde_json::json!({ "number": latest.number, "content": before }))
            .after(&serde_json::json!({ "number": number, "content": content })),
    )
    .await?;
    let g = load(&*txn, id).await?;
    let view = build_view(&*txn, &g, &v).await?;
    txn.commit().await?;
    after_change(st, id).await;
    Ok(view)
}

/// What a guide must say before it goes into the hall.
fn check_complete(c: &GuideContent) -> AppResult<()> {
    let mut missing = Vec::new();
    if c.conditions.trim().is_empty() {
        missing.push(field_err("content.conditions", "required", "请填写办理条件", "State the conditions"));
    }
    if c.contact.phone.trim().is_empty() && c.contact.location.trim().is_empty() {
        missing.push(field_err(
            "content.contact",
            "required",
            "请填写咨询电话或办理地点",
            "Give a phone number or a location",
        ));
    }
    if !c.fee.free && c.fee.standard.trim().is_empty() {
        missing.push(field_err("content.fee.standard", "required", "收费事项须写明收费标准", "State the fee"));
    }
    if c.process_id.is_none() && c.offline_steps.is_empty() && c.contact.location.trim().is_empty() {
        missing.push(field_err(
            "content.offline_steps",
            "required",
            "线下办理的事项须写明办理流程或地点",
            "A service handled offline needs its steps or location",
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::Client {
            code: ErrorCode::RuleViolation,
            detail: Some(Msg::new("指南内容不完整，不能发布", "The guide is incomplete and cannot be published")),
            errors: missing,
            retry_after: None,
        })
    }
}

/// Publish the latest draft (the previously published version becomes `superseded`), or put an
/// offline guide back into the hall when there is no newer draft.
pub async fn publish(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: GuideVersionCheck,
) -> AppResult<GuideView> {
    let g = load_managed(st.db.conn(), p, id).await?;
    let txn = st.db.write().await?;
    let latest = version_row(&*txn, id, g.latest_version).await?;
    let t = now();
    let v = if latest.status == GuideVersionStatus::Draft.as_str() {
        let content = content_of(&latest)?;
        check_complete(&content)?;
        check_refs(&*txn, p, g.department_id, Some(id), &content).await?;
        let mut m = guide::ActiveModel {
            status: Set(GuideStatus::Published.as_str().into()),
            published_version: Set(Some(latest.number)),
            updated_at: Set(t),
            published_at: Set(Some(t)),
            ..Default::default()
        };
        denormalise(&mut m, &content)?;
        let r = guide::Entity::update_many()
            .set(m)
            .col_expr(guide::Column::Version, Expr::col(guide::Column::Version).add(1))
            .filter(guide::Column::Id.eq(id))
            .filter(guide::Column::Version.eq(req.version))
            .filter(guide::Column::LatestVersion.eq(latest.number))
            .exec(&*txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(AppError::stale());
        }
        guide_version::Entity::update_many()
            .col_expr(guide_version::Column::Status, Expr::value(GuideVersionStatus::Superseded.as_str()))
            .filter(guide_version::Column::GuideId.eq(id))
            .filter(guide_version::Column::Status.eq(GuideVersionStatus::Published.as_str()))
            .exec(&*txn)
            .await?;
        guide_version::Entity::update_many()
            .col_expr(guide_version::Column::Status, Expr::value(GuideVersionStatus::Published.as_str()))
            .col_expr(guide_version::Column::PublishedBy, Expr::value(Some(p.user_id)))
            .col_expr(guide_version::Column::PublishedAt, Expr::value(Some(t)))
            .filter(guide_version::Column::Id.eq(latest.id))
            .exec(&*txn)
            .await?;
        version_row(&*txn, id, latest.number).await?
    } else if g.status == GuideStatus::Offline.as_str() && g.published_version.is_some() {
        let r = guide::Entity::update_many()
            .col_expr(guide::Column::Status, Expr::value(GuideStatus::Published.as_str()))
            .col_expr(guide::Column::Version, Expr::col(guide::Column::Version).add(1))
            .col_expr(guide::Column::UpdatedAt, Expr::value(t))
            .col_expr(guide::Column::PublishedAt, Expr::value(Some(t)))
            .filter(guide::Column::Id.eq(id))
            .filter(guide::Column::Version.eq(req.version))
            .exec(&*txn)
            .await?;
        if r.rows_affected != 1 {
            return Err(AppError::stale());
        }
        version_row(&*txn, id, g.published_version.unwrap_or(latest.number)).await?
    } else if req.version != g.version {
        return Err(AppError::stale());
    } else {
        return Err(AppError::detail(ErrorCode::RuleViolation, "没有待发布的草稿", "There is no draft to publish"));
    };
    audit::record(
        &*txn,
        ctx,
        Entry::new("guide.publish", "guide", id)
            .before(&serde_json::json!({ "status": g.status, "published_version": g.published_version }))
            .after(&serde_json::json!({ "status": "published", "published_version": v.number })),
    )
    .await?;
    let g = load(&*txn, id).await?;
    let view = build_view(&*txn, &g, &v).await?;
    txn.commit().await?;
    after_change(st, id).await;
    Ok(view)
}

/// Take a published guide off the hall (it keeps its versions; publishing brings it back).
pub async fn offline(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: GuideVersionCheck,
) -> AppResult<GuideSummary> {
    let g = load_managed(st.db.conn(), p, id).await?;
    if g.status != GuideStatus::Published.as_str() {
        return Err(AppError::detail(ErrorCode::RuleViolation, "指南未发布", "The guide is not published"));
    }
    let txn = st.db.write().await?;
    let r = guide::Entity::update_many()
        .col_expr(guide::Column::Status, Expr::value(GuideStatus::Offline.as_str()))
        .col_expr(guide::Column::Version, Expr::col(guide::Column::Version).add(1))
        .col_expr(guide::Column::UpdatedAt, Expr::value(now()))
        .filter(guide::Column::Id.eq(id))
        .filter(guide::Column::Version.eq(req.version))
        .filter(guide::Column::Status.eq(GuideStatus::Published.as_str()))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("guide.offline", "guide", id)
            .before(&serde_json::json!({ "status": g.status }))
            .after(&serde_json::json!({ "status": "offline" })),
    )
    .await?;
    let g = load(&*txn, id).await?;
    let dept = department::Entity::find_by_id(g.department_id).one(&*txn).await?.map(|d| d.name).unwrap_or_default();
    txn.commit().await?;
    after_change(st, id).await;
    Ok(summary(&g, &dept, false))
}

/// Curate the hall's recommended services (`settings.manage`: the hall is the IT office's).
pub async fn recommend(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: SetRecommendation,
) -> AppResult<GuideSummary> {
    p.require(Permission::SettingsManage)?;
    let g = load(st.db.conn(), id).await?;
    let txn = st.db.write().await?;
    let r = guide::Entity::update_many()
        .col_expr(guide::Column::Recommended, Expr::value(req.recommended))
        .col_expr(guide::Column::RecommendRank, Expr::value(req.recommend_rank))
        .col_expr(guide::Column::Version, Expr::col(guide::Column::Version).add(1))
        .col_expr(guide::Column::UpdatedAt, Expr::value(now()))
        .filter(guide::Column::Id.eq(id))
        .filter(guide::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("guide.recommend", "guide", id)
            .before(&serde_json::json!({ "recommended": g.recommended, "recommend_rank": g.recommend_rank }))
            .after(&serde_json::json!({ "recommended": req.recommended, "recommend_rank": req.recommend_rank })),
    )
    .await?;
    let g = load(&*txn, id).await?;
    let dept = department::Entity::find_by_id(g.department_id).one(&*txn).await?.map(|d| d.name).unwrap_or_default();
    txn.commit().await?;
    after_change(st, id).await;
    let online = hall::snapshot(st).await?.guide(id).is_some_and(|pg| pg.summary.online);
    Ok(summary(&g, &dept, online))
}

fn version_view(v: &guide_version::Model) -> GuideVersionView {
    GuideVersionView {
        number: v.number,
        status: GuideVersionStatus::parse(&v.status).unwrap_or(GuideVersionStatus::Draft),
        created_by: v.created_by,
        created_at: v.created_at,
        published_by: v.published_by,
        published_at: v.published_at,
    }
}

async fn load_readable(st: &AppState, p: &Principal, id: Uuid) -> AppResult<guide::Model> {
    let g = load(st.db.conn(), id).await?;
    if can_read_drafts(p, &g) { Ok(g) } else { Err(refuse(&g)) }
}

/// The versions of a guide, newest first (its managers).
pub async fn versions(st: &AppState, p: &Principal, id: Uuid) -> AppResult<Vec<GuideVersionView>> {
    load_readable(st, p, id).await?;
    let rows = guide_version::Entity::find()
        .filter(guide_version::Column::GuideId.eq(id))
        .order_by_desc(guide_version::Column::Number)
        .all(st.db.conn())
        .await?;
    Ok(rows.iter().map(version_view).collect())
}

/// One version with its content (its managers).
pub async fn version(st: &AppState, p: &Principal, id: Uuid, number: i32) -> AppResult<GuideVersionDetail> {
    load_readable(st, p, id).await?;
    let v = version_row(st.db.conn(), id, number).await?;
    Ok(GuideVersionDetail { version: version_view(&v), content: content_of(&v)? })
}

// ---------------------------------------------------------------------------------------------
// Sample texts and blank forms

/// Check, before reading an upload, that the caller may add files to the guide.
pub async fn authorize_upload(st: &AppState, p: &Principal, id: Uuid) -> AppResult<()> {
    load_managed(st.db.conn(), p, id).await.map(|_| ())
}

/// Store a sample text or blank form for the guide. The content refers to it by id once added
/// to a draft; it is public when a published version refers to it.
pub async fn add_file(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    filename: &str,
    data: Bytes,
) -> AppResult<GuideFileView> {
    load_managed(st.db.conn(), p, id).await?;
    let stored = st.storage.put("guides", filename, data).await?;
    let key = stored.key.clone();
    let saved = async {
        let txn = st.db.write().await?;
        let f = file::ActiveModel {
            id: Set(Uuid::now_v7()),
            purpose: Set(SAMPLE_PURPOSE.into()),
            owner_id: Set(p.user_id),
            guide_id: Set(Some(id)),
            draft_id: Set(None),
            affair_id: Set(None),
            field_key: Set(None),
            filename: Set(stored.filename),
            content_type: Set(stored.content_type),
            size: Set(stored.size),
            sha256: Set(stored.sha256),
            storage_key: Set(stored.key),
            created_at: Set(now()),
            deleted_at: Set(None),
        }
        .insert(&*txn)
        .await?;
        let view = file_view(&f);
        audit::record(&*txn, ctx, Entry::new("guide.file_upload", "file", f.id).after(&view)).await?;
        txn.commit().await?;
        Ok::<_, AppError>(view)
    }
    .await;
    if saved.is_err() {
        // Nothing may be left behind when the record could not be written.
        let _ = st.storage.delete(&key).await;
    }
    saved
}

/// Every file uploaded to the guide (its managers).
pub async fn files(st: &AppState, p: &Principal, id: Uuid) -> AppResult<Vec<GuideFileView>> {
    load_readable(st, p, id).await?;
    let rows = file::Entity::find()
        .filter(file::Column::GuideId.eq(id))
        .filter(file::Column::Purpose.eq(SAMPLE_PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .order_by_asc(file::Column::CreatedAt)
        .all(st.db.conn())
        .await?;
    Ok(rows.iter().map(file_view).collect())
}

/// A file's record and contents: for everyone when the published version refers to it, for the
/// guide's managers always.
pub async fn download(
    st: &AppState,
    who: Option<&Principal>,
    id: Uuid,
    file_id: Uuid,
) -> AppResult<(GuideFileView, Bytes)> {
    let g = load(st.db.conn(), id).await?;
    let f = file::Entity::find_by_id(file_id)
        .filter(file::Column::GuideId.eq(id))
        .filter(file::Column::Purpose.eq(SAMPLE_PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    let manager = who.is_some_and(|p| can_read_drafts(p, &g));
    if !manager {
        let public = match (g.status == GuideStatus::Published.as_str(), g.published_version) {
            (true, Some(n)) => content_of(&version_row(st.db.conn(), id, n).await?)?.file_ids().contains(&file_id),
            _ => false,
        };
        if !public {
            return Err(AppError::not_found());
        }
    }
    let data = st.storage.get(&f.storage_key).await?;
    Ok((file_view(&f), data))
}

/// Remove a file no current version refers to (the published one or the latest draft).
pub async fn delete_file(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, file_id: Uuid) -> AppResult<()> {
    let g = load_managed(st.db.conn(), p, id).await?;
    let f = file::Entity::find_by_id(file_id)
        .filter(file::Column::GuideId.eq(id))
        .filter(file::Column::Purpose.eq(SAMPLE_PURPOSE))
        .filter(file::Column::DeletedAt.is_null())
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    let mut numbers = vec![g.latest_version];
    numbers.extend(g.published_version);
    for n in numbers {
        if content_of(&version_row(st.db.conn(), id, n).await?)?.file_ids().contains(&file_id) {
            return Err(AppError::detail(
                ErrorCode::InUse,
                "指南的当前版本引用了该文件，请先在草稿中移除",
                "A current version of the guide refers to the file; remove it from the draft first",
            ));
        }
    }
    let txn = st.db.write().await?;
    let r = file::Entity::update_many()
        .col_expr(file::Column::DeletedAt, Expr::value(Some(now())))
        .filter(file::Column::Id.eq(file_id))
        .filter(file::Column::DeletedAt.is_null())
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::not_found());
    }
    audit::record(&*txn, ctx, Entry::new("guide.file_delete", "file", file_id).before(&file_view(&f))).await?;
    txn.commit().await?;
    // Older versions may still name the file; they show it as gone.
    st.storage.delete(&f.storage_key).await?;
    Ok(())
}
