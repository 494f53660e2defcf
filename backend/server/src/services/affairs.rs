//! Affairs and tasks: starting an affair on a published version, every handling action through
//! the engine, in one transaction each, with optimistic concurrency and idempotency keys.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, LikeExpr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, NotSet, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongban_engine::exec::{
    Action, Command, Event, ExecError, Instance, InstanceStatus, ResubmitMode, ReturnTarget, SignerPosition, Task,
    TaskKind, execute,
};
use tongban_engine::form::{self, FieldAccess, FormDefinition};
use tongban_engine::model::{NodeId, NodeKind, ProcessDefinition, TaskId, UserId};
use uuid::Uuid;

use super::directory::{Needs, all_active, collect_ids};
use super::{like_pattern, unique_to_conflict};
use crate::access::{self, Facts, Op, Relation};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::affair::{
    AffairQuery, AffairScope, AffairSort, AffairSummary, AffairView, ApplicationForm, ApplicationFormQuery,
    BatchApproveRequest, BatchItemResult, CreateAffair, HistoryView, MaterialGroup, NoteRequest, PersonRef, PickView,
    RatingRequest, RatingView, ResubmitRequest, ReturnTo, TaskAction, TaskActionRequest, TaskCounts, TaskListItem,
    TaskListStatus, TaskQuery, TaskSort, TaskView, TimelineNode, TimelineRecord,
};
use crate::dto::attachment::AttachmentView;
use crate::dto::common::{DepartmentRef, Page, PageQuery};
use crate::dto::process::VersionStatus;
use crate::entity::{
    affair, affair_draft, affair_rating, department, file, guide, idempotency_key, notification, process,
    process_version, task, task_candidate, user,
};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{DataScope, Permission, Principal};
use crate::services::{attachments, certificates, integrations, notifications, progress, requirements};
use crate::state::AppState;
use crate::time::now;

/// `guides.status` of a guide shown in the hall.
pub(crate) const GUIDE_PUBLISHED: &str = "published";

/// Attempts at an action when another action on the same affair commits first.
const ATTEMPTS: usize = 8;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

fn uid(u: Uuid) -> UserId {
    UserId::from(u.to_string())
}

fn parse_uid(u: &UserId) -> Option<Uuid> {
    u.as_str().parse().ok()
}

/// The affair status shown to people for an engine status.
pub(crate) fn status_of(i: &Instance) -> &'static str {
    match i.status {
        InstanceStatus::Draft => "draft",
        InstanceStatus::Running if i.handled => "in_progress",
        InstanceStatus::Running => "submitted",
        InstanceStatus::Returned => "returned",
        InstanceStatus::Completed => "completed",
        InstanceStatus::Rejected => "rejected",
        InstanceStatus::Withdrawn => "withdrawn",
    }
}

fn map_exec(e: ExecError) -> AppError {
    let code = e.code();
    match e {
        ExecError::TaskNotPending => AppError::code(ErrorCode::TaskAlreadyHandled),
        ExecError::Finished | ExecError::WrongState(_) | ExecError::CannotWithdraw | ExecError::CallNotPending => {
            AppError::detail(
                ErrorCode::AffairStateConflict,
                format!("当前状态不允许此操作（{code}）"),
                format!("Not now ({code})"),
            )
        }
        ExecError::NotAssignee | ExecError::NotApplicant | ExecError::Forbidden | ExecError::DelegatedTask => {
            AppError::detail(ErrorCode::Forbidden, format!("无权执行此操作（{code}）"), format!("Not allowed ({code})"))
        }
        ExecError::UnknownTask | ExecError::UnknownCall => AppError::not_found(),
        ExecError::FieldNotEditable(f) => AppError::Client {
            code: ErrorCode::ValidationFailed,
            detail: None,
            errors: vec![FieldError::new(
                format!("form_patch.{f}"),
                "field_not_editable",
                Msg::new("当前环节不能修改该字段", "This node may not change the field"),
            )],
            retry_after: None,
        },
        ExecError::FormPatchNotAllowed => {
            AppError::field("form_patch", "not_allowed", "此操作不能修改表单", "This action cannot change the form")
        }
        ExecError::CommentRequired => AppError::field("comment", "required", "请填写意见", "A comment is required"),
        other => AppError::detail(
            ErrorCode::RuleViolation,
            format!("流程规则不允许此操作（{}）：{other}", other.code()),
            format!("The process does not allow this ({}): {other}", other.code()),
        ),
    }
}

/// Everything one command needs.
struct Loaded {
    affair: affair::Model,
    process: process::Model,
    version: process_version::Model,
    instance: Instance,
    def: ProcessDefinition,
    form: FormDefinition,
}

async fn load<C: ConnectionTrait>(db: &C, affair_id: Uuid) -> AppResult<Loaded> {
    let affair = affair::Entity::find_by_id(affair_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let version = process_version::Entity::find_by_id(affair.process_version_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let process = process::Entity::find_by_id(affair.process_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let instance: Instance = serde_json::from_value(affair.state.clone()).map_err(internal)?;
    let def: ProcessDefinition = serde_json::from_value(version.definition.clone()).map_err(internal)?;
    let form: FormDefinition = serde_json::from_value(version.form.clone()).map_err(internal)?;
    Ok(Loaded { affair, process, version, instance, def, form })
}

pub(crate) fn task_kind(k: &TaskKind) -> &'static str {
    match k {
        TaskKind::Normal => "normal",
        TaskKind::Delegated { .. } => "delegated",
        TaskKind::AddedBefore { .. } => "added_before",
        TaskKind::AddedAfter { .. } => "added_after",
        TaskKind::ServiceFailure => "service_failure",
    }
}

pub(crate) fn lower<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Write the engine's tasks that changed into `tasks` and `task_candidates`; returns the task
/// ids of the affair by engine sequence number, as [`task_ids`] would read them afterwards. `old`
/// is `None` for a new affair, which has no rows yet.
async fn sync_tasks<C: ConnectionTrait>(
    db: &C,
    affair_id: Uuid,
    old: Option<&Instance>,
    new: &Instance,
    def: &ProcessDefinition,
) -> AppResult<HashMap<i32, Uuid>> {
    let mut ids: HashMap<i32, Uuid> = match old {
        Some(_) => task_ids(db, affair_id).await?,
        None => HashMap::new(),
    };
    for t in &new.tasks {
        let before = old.and_then(|o| o.task(t.id));
        if before == Some(t) {
            continue;
        }
        let seq = t.id.0 as i32;
        let known = ids.get(&seq).copied();
        let id = known.unwrap_or_else(Uuid::now_v7);
        ids.insert(seq, id);
        let row = task::ActiveModel {
            id: Set(id),
            affair_id: Set(affair_id),
            seq: Set(seq),
            node_id: Set(t.node.to_string()),
            node_name: Set(def.node(&t.node).map(|n| n.name.clone()).unwrap_or_default()),
            assignee_id: Set(t.assignee.as_ref().and_then(parse_uid)),
            original_assignee_id: Set(t.original_assignee.as_ref().and_then(parse_uid)),
            status: Set(lower(&t.status)),
            kind: Set(task_kind(&t.kind).to_owned()),
            result: Set(t.result.as_ref().map(lower)),
            created_at: Set(t.created_at),
            due_at: Set(t.due_at),
            closed_at: Set(t.closed_at),
            reminded_at: NotSet,
            overdue_at: NotSet,
        };
        task::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([task::Column::AffairId, task::Column::Seq])
                    .update_columns([
                        task::Column::AssigneeId,
                        task::Column::OriginalAssigneeId,
                        task::Column::Status,
                        task::Column::Kind,
                        task::Column::Result,
                        task::Column::DueAt,
                        task::Column::ClosedAt,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
        if before.map(|b| &b.candidates) != Some(&t.candidates) {
            if known.is_some() {
                task_candidate::Entity::delete_many().filter(task_candidate::Column::TaskId.eq(id)).exec(db).await?;
            }
            let rows: Vec<task_candidate::ActiveModel> = t
                .candidates
                .iter()
                .filter_map(parse_uid)
                .collect::<HashSet<_>>()
                .into_iter()
                .map(|c| task_candidate::ActiveModel { task_id: Set(id), user_id: Set(c) })
                .collect();
            if !rows.is_empty() {
                task_candidate::Entity::insert_many(rows).exec(db).await?;
            }
        }
    }
    Ok(ids)
}

/// The task ids of an affair by engine sequence number.
async fn task_ids<C: ConnectionTrait>(db: &C, affair_id: Uuid) -> AppResult<HashMap<i32, Uuid>> {
    Ok(task::Entity::find()
        .filter(task::Column::AffairId.eq(affair_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.seq, t.id))
        .collect())
}

/// Queue the service calls the engine asked for; a job runner performs them.
async fn enqueue<C: ConnectionTrait>(db: &C, affair_id: Uuid, events: &[Event]) -> AppResult<()> {
    for e in events {
        if let Event::ServiceCall { call_id, node, call } = e {
            let payload = json!({ "call_id": call_id, "node": node, "call": call });
            crate::services::jobs::insert(db, "service_call", Some(affair_id), payload).await?;
        }
        // A finished affair is archived (第十二条) by a job; trial runs are not.
        if let Event::Finished { .. } = e {
            let is_test = affair::Entity::find_by_id(affair_id).one(db).await?.is_some_and(|a| a.is_test);
            if !is_test {
                crate::services::archives::enqueue(db, affair_id).await?;
            }
        }
    }
    Ok(())
}

/// Working days from submission to the end (for supervision), to two decimals; `None` while running.
pub(crate) fn handling_days(cal: &tongban_engine::calendar::WorkCalendar, i: &Instance) -> Option<f64> {
    let (start, end) = (i.submitted_at?, i.finished_at?);
    let per_day = cal.office_hours().per_day().num_seconds() as f64;
    if per_day <= 0.0 {
        return None;
    }
    let days = cal.working_time_between(start, end).num_seconds() as f64 / per_day;
    Some((days * 100.0).round() / 100.0)
}

/// The next human number of the day, e.g. SW2026112800017, unique across instances.
async fn next_number<C: ConnectionTrait>(db: &C) -> AppResult<String> {
    let day = Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| internal("offset"))?);
    let day = day.format("%Y%m%d").to_string();
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO affair_numbers (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = affair_numbers.last + 1 RETURNING last"
        }
        _ => {
            "INSERT INTO affair_numbers (day, last) VALUES (?, 1) \
             ON CONFLICT (day) DO UPDATE SET last = affair_numbers.last + 1 RETURNING last"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [day.clone().into()]))
        .await?
        .ok_or_else(|| internal("no affair number returned"))?;
    let n: i32 = row.try_get("", "last")?;
    Ok(format!("SW{day}{n:05}"))
}

async fn applicant_attrs<C: ConnectionTrait>(db: &C, u: &user::Model) -> AppResult<Value> {
    let code = match u.department_id {
        Some(d) => department::Entity::find_by_id(d).one(db).await?.map(|d| d.code),
        None => None,
    };
    Ok(json!({
        "kind": u.kind,
        "department_id": u.department_id.map(|d| d.to_string()),
        "department_code": code,
    }))
}

fn field_violations(v: Vec<form::FieldViolation>, prefix: &str) -> AppError {
    AppError::fields(
        v.into_iter()
            .map(|f| {
                FieldError::new(
                    format!("{prefix}{}", f.field),
                    lower(&f.code),
                    Msg::new(f.message_zh.clone(), f.message_en.clone()),
                )
            })
            .collect(),
    )
}

/// The users and departments a form names must exist, and the users be active accounts.
async fn check_org_refs<C: ConnectionTrait>(
    db: &C,
    form_def: &FormDefinition,
    data: &Value,
    prefix: &str,
) -> AppResult<()> {
    let mut users: Vec<(String, Option<Uuid>)> = Vec::new();
    let mut depts: Vec<(String, Option<Uuid>)> = Vec::new();
    for r in form::references(form_def, data) {
        match r.field.kind {
            form::FieldKind::User {} => users.push((r.path, r.id.parse().ok())),
            form::FieldKind::Department { .. } => depts.push((r.path, r.id.parse().ok())),
            _ => {}
        }
    }
    let mut errors = Vec::new();
    if !users.is_empty() {
        let found: HashSet<Uuid> = user::Entity::find()
            .filter(user::Column::Id.is_in(users.iter().filter_map(|u| u.1)))
            .filter(user::Column::Status.eq("active"))
            .all(db)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        for (path, id) in &users {
            if !id.is_some_and(|i| found.contains(&i)) {
                let msg = Msg::new("所选人员不存在或已停用", "No such active user");
                errors.push(FieldError::new(format!("{prefix}{path}"), "not_found", msg));
            }
        }
    }
    if !depts.is_empty() {
        let found: HashSet<Uuid> = department::Entity::find()
            .filter(department::Column::Id.is_in(depts.iter().filter_map(|d| d.1)))
            .all(db)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect();
        for (path, id) in &depts {
            if !id.is_some_and(|i| found.contains(&i)) {
                errors.push(FieldError::new(
                    format!("{prefix}{path}"),
                    "not_found",
                    Msg::new("部门不存在", "No such department"),
                ));
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
}

/// The version a user starts on: a trial version they test, else the online one.
async fn start_version(
    st: &AppState,
    user: Option<Uuid>,
    process_id: Uuid,
) -> AppResult<(process_version::Model, bool)> {
    let versions = process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(process_id))
        .filter(process_version::Column::Status.is_in([VersionStatus::Trial.as_str(), VersionStatus::Online.as_str()]))
        .order_by_desc(process_version::Column::Number)
        .all(st.db.conn())
        .await?;
    let me = user.map(|u| json!(u.to_string()));
    if let Some(me) = &me
        && let Some(v) = versions
            .iter()
            .find(|v| v.status == VersionStatus::Trial.as_str() && v.testers.as_array().is_some_and(|t| t.contains(me)))
    {
        return Ok((v.clone(), true));
    }
    versions.into_iter().find(|v| v.status == VersionStatus::Online.as_str()).map(|v| (v, false)).ok_or_else(|| {
        AppError::detail(ErrorCode::RuleViolation, "该事项暂未开放办理", "This service is not open for applications")
    })
}

pub(crate) fn request_hash<T: serde::Serialize>(scope: &str, body: &T) -> String {
    let bytes = serde_jcs::to_vec(body).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update(&bytes);
    hex::encode(h.finalize())
}

/// The stored response for an idempotency key, if this user sent it before.
pub(crate) async fn replay(st: &AppState, user: Uuid, key: &str, hash: &str) -> AppResult<Option<(u16, Value)>> {
    match idempotency_key::Entity::find_by_id((user, key.to_owned())).one(st.db.conn()).await? {
        Some(k) if k.request_hash == hash => Ok(Some((k.status_code as u16, k.body))),
        Some(_) => Err(AppError::detail(
            ErrorCode::RuleViolation,
            "该幂等键已用于另一个请求",
            "This Idempotency-Key was used for a different request",
        )),
        None => Ok(None),
    }
}

async fn remember<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    key: &str,
    hash: &str,
    status: u16,
    body: &Value,
) -> AppResult<()> {
    idempotency_key::ActiveModel {
        user_id: Set(user),
        key: Set(key.to_owned()),
        request_hash: Set(hash.to_owned()),
        status_code: Set(i32::from(status)),
        body: Set(body.clone()),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The process an application names by exactly one of a published guide (its linked process) or
/// a process key, with the guide when there is one.
pub(crate) async fn resolve_source<C: ConnectionTrait>(
    db: &C,
    process_key: Option<&str>,
    guide_id: Option<Uuid>,
) -> AppResult<(process::Model, Option<Uuid>)> {
    match (process_key, guide_id) {
        (Some(key), None) => {
            let proc = process::Entity::find()
                .filter(process::Column::Key.eq(key))
                .one(db)
                .await?
                .ok_or_else(|| AppError::field("process_key", "not_found", "事项不存在", "No such process"))?;
            Ok((proc, None))
        }
        (None, Some(gid)) => {
            let missing = || {
                AppError::field(
                    "guide_id",
                    "not_found",
                    "办事指南不存在、未发布或不支持网上办理",
                    "No published guide with online applying",
                )
            };
            let g = guide::Entity::find_by_id(gid)
                .filter(guide::Column::Status.eq(GUIDE_PUBLISHED))
                .one(db)
                .await?
                .ok_or_else(missing)?;
            let proc = match g.process_id {
                Some(pid) => process::Entity::find_by_id(pid).one(db).await?.ok_or_else(missing)?,
                None => return Err(missing()),
            };
            Ok((proc, Some(g.id)))
        }
        _ => Err(AppError::field(
            "guide_id",
            "exactly_one",
            "请指定办事指南（guide_id）或事项（process_key）之一",
            "Name exactly one of guide_id and process_key",
        )),
    }
}

/// What an applicant needs to apply: the form of the version they would start on (a trial
/// version they test, else the online one), what they fill in, and the handlers they pick.
pub async fn application_form(
    st: &AppState,
    p: Option<&Principal>,
    q: &ApplicationFormQuery,
) -> AppResult<ApplicationForm> {
    let (proc, guide_id) = resolve_source(st.db.conn(), q.process_key.as_deref(), q.guide_id).await?;
    let (version, is_test) = start_version(st, p.map(|p| p.user_id), proc.id).await?;
    let def: ProcessDefinition = serde_json::from_value(version.definition.clone()).map_err(internal)?;
    let mut picks: Vec<PickView> = Vec::new();
    for n in &def.nodes {
        if let NodeKind::UserTask { assignees, mode, .. } = &n.kind {
            for r in assignees {
                if let tongban_engine::model::AssigneeRule::ApplicantPicks { key } = r
                    && !picks.iter().any(|pk| &pk.key == key)
                {
                    picks.push(PickView {
                        key: key.clone(),
                        node_id: n.id.to_string(),
                        node_name: n.name.clone(),
                        multiple: !matches!(mode, tongban_engine::model::HandlingMode::Single),
                    });
                }
            }
        }
    }
    Ok(ApplicationForm {
        process_id: proc.id,
        process_key: proc.key,
        process_name: proc.name,
        guide_id,
        version: version.number,
        is_test,
        form: version.form,
        field_access: def.start().map(|s| s.field_access.clone()).unwrap_or_default(),
        picks,
    })
}

/// Apply for a service: validate the form, start the affair and submit it, in one transaction.
pub async fn create(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: CreateAffair,
    idempotency_key: Option<&str>,
) -> AppResult<(u16, Value)> {
    p.require(Permission::AffairApply)?;
    let hash = request_hash("create_affair", &req);
    if let Some(key) = idempotency_key
        && let Some(stored) = replay(st, p.user_id, key, &hash).await?
    {
        return Ok(stored);
    }
    let (proc, guide_id) = resolve_source(st.db.conn(), req.process_key.as_deref(), req.guide_id).await?;
    let app = NewAffair { process: proc, guide_id, form: &req.form, picks: &req.picks, draft: None };
    submit_new(st, p, ctx, app, idempotency_key.map(|k| (k, hash.as_str()))).await
}

/// What a new affair is made of.
pub(crate) struct NewAffair<'a> {
    /// The process.
    pub process: process::Model,
    /// The guide it is started from.
    pub guide_id: Option<Uuid>,
    /// The form as sent.
    pub form: &'a Value,
    /// The applicant's picks.
    pub picks: &'a BTreeMap<String, Vec<Uuid>>,
    /// The draft it comes from, deleted in the same transaction.
    pub draft: Option<Uuid>,
}

/// Validate and submit a new affair in one transaction: the affair, its first tasks, its
/// attachments, its notifications, the audit record, the idempotency record and (from a draft)
/// the draft's deletion.
pub(crate) async fn submit_new(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    app: NewAffair<'_>,
    idempotency: Option<(&str, &str)>,
) -> AppResult<(u16, Value)> {
    let NewAffair { process: proc, guide_id, form: form_value, picks: req_picks, draft } = app;
    let (version, is_test) = start_version(st, Some(p.user_id), proc.id).await?;
    let def: ProcessDefinition = serde_json::from_value(version.definition.clone()).map_err(internal)?;
    let form_def: FormDefinition = serde_json::from_value(version.form.clone()).map_err(internal)?;
    let me = user::Entity::find_by_id(p.user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let attrs = applicant_attrs(st.db.conn(), &me).await?;
    let data = form::validate_data(&form_def, form_value, &attrs).map_err(|v| field_violations(v, "form."))?;
    let picks: BTreeMap<String, Vec<UserId>> =
        req_picks.iter().map(|(k, v)| (k.clone(), v.iter().map(|u| uid(*u)).collect())).collect();
    let picked: Vec<Uuid> = req_picks.values().flatten().copied().collect();
    if !all_active(st.db.conn(), &picked).await? {
        return Err(AppError::field("picks", "not_found", "所选人员不存在或已停用", "A picked user does not exist"));
    }

    // On PostgreSQL the day's number is taken in a statement of its own, before the transaction:
    // taken inside it, the counter's row stayed locked until commit and every submission of the
    // college waited for the one before. Numbers stay unique and increasing; one whose submission
    // then fails is not reused. On SQLite the single writer serialises submissions anyway, and the
    // number is taken inside the transaction, without gaps.
    let early_number = match st.db.backend() {
        DatabaseBackend::Postgres => Some(next_number(st.db.conn()).await?),
        _ => None,
    };
    let txn = st.db.write().await?;
    if let Some(d) = draft {
        // First, so that of two submissions of one draft exactly one gets through.
        let gone = affair_draft::Entity::delete_many()
            .filter(affair_draft::Column::Id.eq(d))
            .filter(affair_draft::Column::ApplicantId.eq(p.user_id))
            .exec(&*txn)
            .await?;
        if gone.rows_affected != 1 {
            return Err(AppError::not_found());
        }
    }
    let mut needs =
        Needs::of(&def, &Instance::new(def.key.clone(), uid(p.user_id), Value::Null)).with(picked.iter().copied());
    collect_ids(&data, &mut needs.users);
    let (dir, cal) = st.commands.load(&*txn, proc.department_id, needs).await?;
    let instance = Instance::new(def.key.clone(), uid(p.user_id), attrs);
    let cmd = Command {
        actor: uid(p.user_id),
        action: Action::Submit { picks },
        comment: None,
        form_patch: data.as_object().cloned(),
        now: now(),
    };
    let out = execute(&def, &instance, &cmd, &dir, &*cal).map_err(map_exec)?;
    let t = now();
    let id = Uuid::now_v7();
    attachments::bind(&*txn, &form_def, &out.instance.form, p.user_id, id).await?;
    certificates::check_materials(&*txn, &form_def, &out.instance.form, p.user_id).await?;
    check_org_refs(&*txn, &form_def, &out.instance.form, "form.").await?;
    let number = match early_number {
        Some(n) => n,
        None => next_number(&*txn).await?,
    };
    let row = affair::ActiveModel {
        id: Set(id),
        number: Set(number),
        process_id: Set(proc.id),
        process_version_id: Set(version.id),
        applicant_id: Set(p.user_id),
        department_id: Set(me.department_id),
        title: Set(format!("{}（{}）", proc.name, me.display_name).chars().take(200).collect()),
        status: Set(status_of(&out.instance).to_owned()),
        is_test: Set(is_test),
        state: Set(serde_json::to_value(&out.instance).map_err(internal)?),
        due_at: Set(out.instance.due_at),
        submitted_at: Set(out.instance.submitted_at),
        finished_at: Set(out.instance.finished_at),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
        guide_id: Set(guide_id),
        handling_days: Set(handling_days(&cal, &out.instance)),
    }
    .insert(&*txn)
    .await?;
    let ids = sync_tasks(&*txn, id, None, &out.instance, &def).await?;
    enqueue(&*txn, id, &out.events).await?;
    let change = requirements::Change { affair: &row, process: &proc, def: &def, before: None, after: &out.instance };
    requirements::after_command(&*txn, st, p, &change).await?;
    if let Some(event) = integrations::affair_event(None, &row.status) {
        integrations::emit(&*txn, event, proc.department_id, integrations::affair_data(&row, &proc.key)).await?;
    }
    let aref = notifications::AffairRef { id, number: &row.number, title: &row.title };
    notifications::submitted(&*txn, p.user_id, &aref).await?;
    notifications::from_events(&*txn, &aref, &out.instance, &def, &out.events, &ids).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("affair.submit", "affair", id).after(&json!({
            "number": row.number, "process": proc.key, "version": version.number, "is_test": is_test,
            "guide_id": guide_id, "draft_id": draft
        })),
    )
    .await?;
    let view = view_with(&*txn, &st.signing, p, &row, &proc, &version, &out.instance, &def, &form_def, &ids).await?;
    let body = serde_json::to_value(&view).map_err(internal)?;
    if let Some((key, hash)) = idempotency {
        remember(&*txn, p.user_id, key, hash, 201, &body).await?;
    }
    txn.commit().await?;
    Ok((201, body))
}

/// Turns the loaded affair into the engine command's action and form patch.
type Build<'a> = dyn Fn(&Loaded) -> AppResult<(Action, Option<serde_json::Map<String, Value>>)> + Sync + 'a;

/// What a command records besides its action.
struct Meta<'a> {
    audit_action: &'static str,
    comment: Option<String>,
    idempotency: Option<(&'a str, &'a str)>,
    /// A hand-over (离职交接): an administrator moving a leaving user's tasks overrides nobody.
    handover: bool,
    /// Answer 404 unless the caller may see the affair (checked on the state the command loads,
    /// for callers that did not check it before).
    check_visible: bool,
}

/// Run one command on an affair, retrying when another command committed first.
async fn run(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    affair_id: Uuid,
    build: &Build<'_>,
    meta: Meta<'_>,
) -> AppResult<(u16, Value)> {
    let Meta { audit_action, comment, idempotency, handover, check_visible } = meta;
    for _ in 0..ATTEMPTS {
        let txn = st.db.write().await?;
        let l = load(&*txn, affair_id).await?;
        if check_visible && !can_view(&*txn, p, &l.affair, &l.process).await? {
            return Err(AppError::not_found());
        }
        let (action, form_patch) = build(&l)?;
        let named: Vec<Uuid> = match &action {
            Action::Transfer { to, .. } | Action::Delegate { to, .. } => parse_uid(to).into_iter().collect(),
            Action::AddSigner { users, .. } | Action::Cc { users } => users.iter().filter_map(parse_uid).collect(),
            Action::RemoveSigner { user, .. } => parse_uid(user).into_iter().collect(),
            _ => Vec::new(),
        };
        let mut needs = Needs::of(&l.def, &l.instance).with(named);
        if let Some(patch) = &form_patch {
            collect_ids(&Value::Object(patch.clone()), &mut needs.users);
        }
        let (dir, cal) = st.commands.load(&*txn, l.process.department_id, needs).await?;
        let patched = form_patch.is_some();
        let cmd =
            Command { actor: uid(p.user_id), action: action.clone(), comment: comment.clone(), form_patch, now: now() };
        let out = execute(&l.def, &l.instance, &cmd, &dir, &*cal).map_err(map_exec)?;
        if patched {
            // Files newly named by the corrected form or the handler's patch must be the actor's.
            attachments::bind(&*txn, &l.form, &out.instance.form, p.user_id, affair_id).await?;
            certificates::check_materials(&*txn, &l.form, &out.instance.form, l.affair.applicant_id).await?;
            check_org_refs(&*txn, &l.form, &out.instance.form, "form.").await?;
        }
        let updated = affair::Entity::update_many()
            .col_expr(affair::Column::State, Expr::value(serde_json::to_value(&out.instance).map_err(internal)?))
            .col_expr(affair::Column::Status, Expr::value(status_of(&out.instance)))
            .col_expr(affair::Column::DueAt, Expr::value(out.instance.due_at))
            .col_expr(affair::Column::SubmittedAt, Expr::value(out.instance.submitted_at))
            .col_expr(affair::Column::FinishedAt, Expr::value(out.instance.finished_at))
            .col_expr(affair::Column::HandlingDays, Expr::value(handling_days(&cal, &out.instance)))
            .col_expr(affair::Column::Version, Expr::col(affair::Column::Version).add(1))
            .col_expr(affair::Column::UpdatedAt, Expr::value(now()))
            .filter(affair::Column::Id.eq(affair_id))
            .filter(affair::Column::Version.eq(l.affair.version))
            .exec(&*txn)
            .await?;
        if updated.rows_affected != 1 {
            // Someone else's command committed first: start again on the new state.
            drop(txn);
            continue;
        }
        let ids = sync_tasks(&*txn, affair_id, Some(&l.instance), &out.instance, &l.def).await?;
        enqueue(&*txn, affair_id, &out.events).await?;
        let mut row = l.affair.clone();
        row.status = status_of(&out.instance).to_owned();
        row.version = row.version.saturating_add(1);
        row.due_at = out.instance.due_at;
        row.submitted_at = out.instance.submitted_at;
        row.finished_at = out.instance.finished_at;
        let change = requirements::Change {
            affair: &row,
            process: &l.process,
            def: &l.def,
            before: Some(&l.instance),
            after: &out.instance,
        };
        requirements::after_command(&*txn, st, p, &change).await?;
        if let Some(event) = integrations::affair_event(Some(&l.affair.status), &row.status) {
            let data = integrations::affair_data(&row, &l.process.key);
            integrations::emit(&*txn, event, l.process.department_id, data).await?;
        }
        // An administrator handing someone else's task on overrides its handler (第十四条 register).
        if let Action::Transfer { task, .. } = &action
            && !handover
            && let Some(before) = l.instance.task(*task)
            && before.assignee.as_ref() != Some(&uid(p.user_id))
        {
            crate::services::supervision::handler_overridden(
                &*txn,
                &row,
                &l.process,
                ids.get(&(task.0 as i32)).copied(),
                before.assignee.as_ref().and_then(parse_uid),
                p.user_id,
                &l.def.node(&before.node).map(|n| n.name.clone()).unwrap_or_default(),
            )
            .await?;
        }
        let aref = notifications::AffairRef { id: affair_id, number: &l.affair.number, title: &l.affair.title };
        notifications::from_events(&*txn, &aref, &out.instance, &l.def, &out.events, &ids).await?;
        audit::record(
            &*txn,
            ctx,
            Entry::new(audit_action, "affair", affair_id)
                .before(&json!({ "status": status_of(&l.instance) }))
                .after(&json!({ "status": status_of(&out.instance), "action": action, "comment": comment })),
        )
        .await?;
        let view = view_with(&*txn, &st.signing, p, &row, &l.process, &l.version, &out.instance, &l.def, &l.form, &ids)
            .await?;
        let body = serde_json::to_value(&view).map_err(internal)?;
        if let Some((key, hash)) = idempotency {
            remember(&*txn, p.user_id, key, hash, 200, &body).await?;
        }
        txn.commit().await?;
        return Ok((200, body));
    }
    Err(AppError::stale())
}

/// Whether the caller supervises the affair: the scope of a permission of its row in the access
/// matrix (`access::Op::AffairRead`: process administrators, holders of `affair.read`) reaches its
/// handling department (the process's) or the applicant's department. They see the whole form.
fn supervises(p: &Principal, a: &affair::Model, proc: &process::Model) -> bool {
    p.may(Op::AffairRead, &Facts { owner_id: None, departments: &[proc.department_id, a.department_id] })
}

/// Whether the caller may see the affair, by the relations of its row in the access matrix: the
/// applicant, anyone who has or had a task on it (or could claim one), anyone it was copied to
/// (抄送), and its supervisors.
pub(crate) async fn can_view<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
) -> AppResult<bool> {
    let rule = access::rule(Op::AffairRead);
    if p.may(
        Op::AffairRead,
        &Facts { owner_id: Some(a.applicant_id), departments: &[proc.department_id, a.department_id] },
    ) {
        return Ok(true);
    }
    if rule.allows(Relation::Handler) {
        let mine = task::Entity::find()
            .filter(task::Column::AffairId.eq(a.id))
            .filter(
                Condition::any()
                    .add(task::Column::AssigneeId.eq(p.user_id))
                    .add(task::Column::OriginalAssigneeId.eq(p.user_id)),
            )
            .count(db)
            .await?;
        let claimable = || {
            task_candidate::Entity::find()
                .filter(
                    task_candidate::Column::TaskId.in_subquery(
                        task::Entity::find()
                            .select_only()
                            .column(task::Column::Id)
                            .filter(task::Column::AffairId.eq(a.id))
                            .into_query(),
                    ),
                )
                .filter(task_candidate::Column::UserId.eq(p.user_id))
                .count(db)
        };
        if mine > 0 || claimable().await? > 0 {
            return Ok(true);
        }
    }
    if rule.allows(Relation::Copied) {
        let copied = notification::Entity::find()
            .filter(notification::Column::UserId.eq(p.user_id))
            .filter(notification::Column::AffairId.eq(a.id))
            .filter(notification::Column::Kind.eq("cc"))
            .count(db)
            .await?;
        return Ok(copied > 0);
    }
    Ok(false)
}

/// Whether the user has, had or could claim a task of the affair.
fn is_handler(i: &Instance, me: &UserId) -> bool {
    i.tasks.iter().any(|t| {
        t.assignee.as_ref() == Some(me) || t.original_assignee.as_ref() == Some(me) || t.candidates.contains(me)
    })
}

/// How the caller stands to a visible affair.
pub(crate) struct Standing {
    /// The affair.
    pub affair: affair::Model,
    /// Its engine state.
    pub instance: Instance,
    /// The caller applied for it.
    pub applicant: bool,
    /// The caller has, had or could claim a task of it.
    pub handler: bool,
    /// The caller supervises it (process administrator, `affair.read` in scope).
    pub supervisor: bool,
}

/// The affair with the caller's standing; 404 when they may not see it.
pub(crate) async fn standing<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<Standing> {
    let l = load(db, id).await?;
    if !can_view(db, p, &l.affair, &l.process).await? {
        return Err(AppError::not_found());
    }
    let me = uid(p.user_id);
    Ok(Standing {
        applicant: l.affair.applicant_id == p.user_id,
        handler: is_handler(&l.instance, &me),
        supervisor: supervises(p, &l.affair, &l.process),
        affair: l.affair,
        instance: l.instance,
    })
}

fn task_view(affair_id: Uuid, t: &Task, ids: &HashMap<i32, Uuid>, def: &ProcessDefinition) -> TaskView {
    let now = now();
    TaskView {
        id: ids.get(&(t.id.0 as i32)).copied().unwrap_or_default(),
        affair_id,
        node_id: t.node.to_string(),
        node_name: def.node(&t.node).map(|n| n.name.clone()).unwrap_or_default(),
        opinion_required: def
            .node(&t.node)
            .is_some_and(|n| matches!(n.kind, NodeKind::UserTask { opinion_required: true, .. })),
        required_fields: def
            .node(&t.node)
            .map(|n| {
                n.field_access.iter().filter(|(_, a)| **a == FieldAccess::Required).map(|(k, _)| k.clone()).collect()
            })
            .unwrap_or_default(),
        assignee_id: t.assignee.as_ref().and_then(parse_uid),
        original_assignee_id: t.original_assignee.as_ref().and_then(parse_uid),
        status: lower(&t.status),
        kind: task_kind(&t.kind).to_owned(),
        result: t.result.as_ref().map(lower),
        created_at: t.created_at,
        due_at: t.due_at,
        overdue: t.closed_at.is_none() && t.due_at.is_some_and(|d| d < now),
        closed_at: t.closed_at,
    }
}

/// The form as the caller may see it, and whether that is all of it. The applicant and
/// supervisors see everything; handlers what the nodes they work at show them; people it was only
/// copied to (抄送), who work at no node, the fields that no node of the process hides.
fn visible_form(
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
) -> (Value, bool) {
    let (access, full) = visibility(p, a, proc, i, def, form_def);
    if full { (i.form.clone(), true) } else { (form::redact(form_def, &access, &i.form), false) }
}

/// Per field, what the caller sees (see [`visible_form`]), and whether they see everything.
fn visibility(
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
) -> (BTreeMap<String, FieldAccess>, bool) {
    if a.applicant_id == p.user_id || supervises(p, a, proc) {
        return (form_def.fields.iter().map(|f| (f.key.clone(), FieldAccess::ReadOnly)).collect(), true);
    }
    let me = uid(p.user_id);
    let mine: Vec<&Task> = i
        .tasks
        .iter()
        .filter(|t| {
            t.assignee.as_ref() == Some(&me) || t.original_assignee.as_ref() == Some(&me) || t.candidates.contains(&me)
        })
        .collect();
    let access: BTreeMap<String, FieldAccess> = if mine.is_empty() {
        form_def
            .fields
            .iter()
            .map(|f| {
                let hidden = def.nodes.iter().any(|n| n.access(&f.key) == FieldAccess::Hidden);
                (f.key.clone(), if hidden { FieldAccess::Hidden } else { FieldAccess::ReadOnly })
            })
            .collect()
    } else {
        let mut access: BTreeMap<String, FieldAccess> =
            form_def.fields.iter().map(|f| (f.key.clone(), FieldAccess::Hidden)).collect();
        for n in mine.iter().filter_map(|t| def.node(&t.node)) {
            for f in &form_def.fields {
                let a = n.access(&f.key);
                if a != FieldAccess::Hidden {
                    access.insert(f.key.clone(), a);
                }
            }
        }
        access
    };
    (access, false)
}

/// The definition of the fields shown, what the caller may do with each now, and the names of
/// the people and departments the shown form names.
async fn form_for_caller<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    shown: &Value,
    seen: &BTreeMap<String, FieldAccess>,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
) -> AppResult<(Value, BTreeMap<String, FieldAccess>, Vec<PersonRef>, Vec<DepartmentRef>)> {
    let me = uid(p.user_id);
    let acting = i.pending_tasks().find(|t| t.assignee.as_ref() == Some(&me)).and_then(|t| def.node(&t.node));
    let correcting = (i.applicant == me && i.status == InstanceStatus::Returned).then(|| def.start()).flatten();
    let fields: Vec<form::FieldDef> = form_def
        .fields
        .iter()
        .filter(|f| seen.get(&f.key).is_some_and(|a| *a != FieldAccess::Hidden))
        .cloned()
        .collect();
    let access = fields
        .iter()
        .map(|f| {
            let a = match acting.or(correcting) {
                Some(n) if n.access(&f.key).is_editable() => n.access(&f.key),
                _ => FieldAccess::ReadOnly,
            };
            (f.key.clone(), a)
        })
        .collect();
    let definition = serde_json::to_value(FormDefinition { fields }).map_err(internal)?;
    let (mut users, mut depts) = (BTreeSet::new(), BTreeSet::new());
    for r in form::references(form_def, shown) {
        match r.field.kind {
            form::FieldKind::User {} => users.extend(r.id.parse::<Uuid>().ok()),
            form::FieldKind::Department { .. } => depts.extend(r.id.parse::<Uuid>().ok()),
            _ => {}
        }
    }
    let people_names = names(db, users.iter().copied()).await?;
    let people = users.iter().filter_map(|u| Some(PersonRef { id: *u, name: people_names.get(u)?.clone() })).collect();
    let departments = department::Entity::find()
        .filter(department::Column::Id.is_in(depts))
        .all(db)
        .await?
        .into_iter()
        .map(|d| DepartmentRef { id: d.id, name: d.name })
        .collect();
    Ok((definition, access, people, departments))
}

/// Whether the caller may read an attached file: they may see the affair and, unless they see the
/// whole form, the file is named in a field shown to them.
pub(crate) async fn may_read_file(st: &AppState, p: &Principal, affair_id: Uuid, file_id: Uuid) -> AppResult<bool> {
    let db = st.db.conn();
    let l = load(db, affair_id).await?;
    if !can_view(db, p, &l.affair, &l.process).await? {
        return Ok(false);
    }
    let (shown, full) = visible_form(p, &l.affair, &l.process, &l.instance, &l.def, &l.form);
    let id = file_id.to_string();
    Ok(full || form::references(&l.form, &shown).iter().any(|r| r.id == id))
}

/// Display names of users.
pub(crate) async fn names<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = ids.into_iter().filter(|u| !u.is_nil()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

fn person(names: &HashMap<Uuid, String>, id: Uuid) -> PersonRef {
    PersonRef { id, name: names.get(&id).cloned().unwrap_or_default() }
}

/// The files named in the (visible) form, grouped by field in the order of the form.
fn materials(form_def: &FormDefinition, shown: &Value, files: &HashMap<Uuid, file::Model>) -> Vec<MaterialGroup> {
    let mut groups: Vec<MaterialGroup> = Vec::new();
    for r in form::references(form_def, shown) {
        if !matches!(r.field.kind, form::FieldKind::File { .. }) {
            continue;
        }
        let Some(f) = r.id.parse::<Uuid>().ok().and_then(|id| files.get(&id)) else { continue };
        let view = AttachmentView::from(f.clone());
        match groups.iter_mut().find(|g| g.field_key == r.path) {
            Some(g) => g.files.push(view),
            None => groups.push(MaterialGroup {
                field_key: r.path.clone(),
                label: r.field.label.clone(),
                files: vec![view],
            }),
        }
    }
    groups
}

/// Every node with its state, handlers, times and opinions.
fn timeline_view(def: &ProcessDefinition, i: &Instance, names: &HashMap<Uuid, String>) -> Vec<TimelineNode> {
    let now = now();
    progress::timeline(def, i)
        .into_iter()
        .map(|s| {
            let mut assignees: Vec<PersonRef> = Vec::new();
            for t in &s.pending {
                let who: Vec<Uuid> = match &t.assignee {
                    Some(u) => parse_uid(u).into_iter().collect(),
                    None => t.candidates.iter().filter_map(parse_uid).collect(),
                };
                for u in who {
                    if !assignees.iter().any(|a| a.id == u) {
                        assignees.push(person(names, u));
                    }
                }
            }
            TimelineNode {
                node_id: s.node.id.to_string(),
                name: s.node.name.clone(),
                kind: progress::kind_code(s.node).to_owned(),
                state: s.state.as_str().to_owned(),
                records: s
                    .records
                    .iter()
                    .map(|h| TimelineRecord {
                        at: h.at,
                        actor: h.actor.as_ref().and_then(parse_uid).filter(|u| !u.is_nil()).map(|u| person(names, u)),
                        action: lower(&h.action),
                        comment: h.comment.clone(),
                    })
                    .collect(),
                assignees,
                started_at: s.started_at,
                finished_at: s.finished_at,
                due_at: s.due_at,
                overdue: s.due_at.is_some_and(|d| d < now),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn view_of<C: ConnectionTrait>(
    db: &C,
    signing: &crate::signing::KeyRing,
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
    version: &process_version::Model,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
) -> AppResult<AffairView> {
    let ids = task_ids(db, a.id).await?;
    view_with(db, signing, p, a, proc, version, i, def, form_def, &ids).await
}

/// [`view_of`] with the affair's task ids by sequence number already known (a command that just
/// wrote them).
#[allow(clippy::too_many_arguments)]
async fn view_with<C: ConnectionTrait>(
    db: &C,
    signing: &crate::signing::KeyRing,
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
    version: &process_version::Model,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
    ids: &HashMap<i32, Uuid>,
) -> AppResult<AffairView> {
    let me = uid(p.user_id);
    let is_applicant = a.applicant_id == p.user_id;
    let (seen, full) = visibility(p, a, proc, i, def, form_def);
    let form = if full { i.form.clone() } else { form::redact(form_def, &seen, &i.form) };
    let (form_definition, field_access, form_people, form_departments) =
        form_for_caller(db, p, &form, &seen, i, def, form_def).await?;
    let files = attachments::of_affair(db, a.id).await?;
    let rating = affair_rating::Entity::find().filter(affair_rating::Column::AffairId.eq(a.id)).one(db).await?;
    let people = std::iter::once(a.applicant_id)
        .chain(i.history.iter().filter_map(|h| h.actor.as_ref().and_then(parse_uid)))
        .chain(i.pending_tasks().flat_map(|t| t.assignee.iter().chain(t.candidates.iter())).filter_map(parse_uid));
    let names = names(db, people).await?;
    let mut allowed = Vec::new();
    if is_applicant {
        match i.status {
            InstanceStatus::Running => {
                if !i.handled {
                    allowed.push("withdraw");
                }
                allowed.push("urge");
            }
            InstanceStatus::Returned => allowed.extend(["resubmit", "withdraw"]),
            InstanceStatus::Completed if rating.is_none() => allowed.push("rate"),
            _ => {}
        }
    }
    if i.pending_tasks().any(|t| t.assignee.as_ref() == Some(&me)) {
        allowed.extend([
            "approve",
            "reject",
            "return",
            "transfer",
            "delegate",
            "add_signer_before",
            "add_signer_after",
            "cc",
            "comment",
        ]);
    }
    if i.pending_tasks().any(|t| t.assignee.is_none() && t.candidates.contains(&me)) {
        allowed.push("claim");
    }
    if is_applicant || is_handler(i, &me) {
        allowed.push("message");
    }
    Ok(AffairView {
        id: a.id,
        number: a.number.clone(),
        title: a.title.clone(),
        process_id: proc.id,
        process_key: proc.key.clone(),
        process_version: version.number,
        applicant_id: a.applicant_id,
        status: status_of(i).to_owned(),
        is_test: a.is_test,
        materials: materials(form_def, &form, &files),
        certificates: certificates::materials_of(db, signing, form_def, &form, a.applicant_id).await?,
        form,
        form_definition,
        field_access,
        people: form_people,
        departments: form_departments,
        tasks: i.tasks.iter().map(|t| task_view(a.id, t, ids, def)).collect(),
        history: i
            .history
            .iter()
            .map(|h| HistoryView {
                seq: h.seq,
                at: h.at,
                actor_id: h.actor.as_ref().map(|u| u.to_string()),
                action: lower(&h.action),
                node_id: h.node.as_ref().map(|n| n.to_string()),
                comment: h.comment.clone(),
                changed_fields: h.changed_fields.clone(),
                detail: h.detail.clone(),
            })
            .collect(),
        due_at: i.due_at,
        submitted_at: i.submitted_at,
        finished_at: i.finished_at,
        allowed_actions: allowed.into_iter().map(str::to_owned).collect(),
        version: a.version,
        guide_id: a.guide_id,
        process_name: proc.name.clone(),
        applicant_name: names.get(&a.applicant_id).cloned().unwrap_or_default(),
        timeline: timeline_view(def, i, &names),
        rating: rating.map(|r| RatingView { score: r.score, comment: r.comment, created_at: r.created_at }),
    })
}

/// What an archive package holds of an affair: the affair page as its applicant sees it (the
/// whole form), the form's definition for labels, and the department that handles the process.
pub(crate) struct ArchiveSource {
    pub affair: affair::Model,
    pub view: AffairView,
    pub form: FormDefinition,
    pub department_id: Option<Uuid>,
    pub finished: bool,
}

pub(crate) async fn archive_source<C: ConnectionTrait>(
    db: &C,
    signing: &crate::signing::KeyRing,
    id: Uuid,
) -> AppResult<ArchiveSource> {
    let l = load(db, id).await?;
    let applicant = Principal {
        user_id: l.affair.applicant_id,
        username: String::new(),
        display_name: String::new(),
        department_id: None,
        grants: Vec::new(),
    };
    let mut view =
        view_of(db, signing, &applicant, &l.affair, &l.process, &l.version, &l.instance, &l.def, &l.form).await?;
    // A record, not a page anyone acts on.
    view.allowed_actions.clear();
    let finished =
        matches!(l.instance.status, InstanceStatus::Completed | InstanceStatus::Rejected | InstanceStatus::Withdrawn);
    Ok(ArchiveSource { department_id: l.process.department_id, affair: l.affair, view, form: l.form, finished })
}

/// One affair, as the caller may see it. Reads by anyone but the applicant are audited.
pub async fn get(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<AffairView> {
    let db = st.db.conn();
    let l = load(db, id).await?;
    if !can_view(db, p, &l.affair, &l.process).await? {
        return Err(AppError::not_found());
    }
    if l.affair.applicant_id != p.user_id {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("affair.read", "affair", id)).await?;
        txn.commit().await?;
    }
    view_of(db, &st.signing, p, &l.affair, &l.process, &l.version, &l.instance, &l.def, &l.form).await
}

/// Whether a row is past its due time: still open after it, or closed after it.
fn overdue(due: Option<DateTime<Utc>>, closed: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match (due, closed) {
        (Some(d), None) => d < now,
        (Some(d), Some(c)) => c > d,
        (None, _) => false,
    }
}

/// The SQL form of [`overdue`] over a due and a closing column.
fn overdue_condition<C: ColumnTrait>(due: C, closed: C, now: DateTime<Utc>, wanted: bool) -> Condition {
    let c = Condition::all().add(due.is_not_null()).add(
        Condition::any()
            .add(Condition::all().add(closed.is_null()).add(due.lt(now)))
            .add(Expr::col(closed).gt(Expr::col(due))),
    );
    if wanted { c } else { c.not() }
}

/// Affairs whose number or title contains `q`.
fn text_condition(q: &str) -> Condition {
    let pat = like_pattern(q);
    Condition::any()
        .add(Expr::col(affair::Column::Number).like(LikeExpr::new(&pat).escape('\\')))
        .add(Expr::col(affair::Column::Title).like(LikeExpr::new(&pat).escape('\\')))
}

fn nonblank(q: &Option<String>) -> Option<&str> {
    q.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Affairs: the caller's own (`mine`), or those their `affair.read` reaches (`department`, `all`).
pub async fn list(st: &AppState, p: &Principal, q: &AffairQuery, page: &PageQuery) -> AppResult<Page<AffairSummary>> {
    let mut find = affair::Entity::find();
    match q.scope.unwrap_or(AffairScope::Mine) {
        AffairScope::Mine => find = find.filter(affair::Column::ApplicantId.eq(p.user_id)),
        AffairScope::Department | AffairScope::All => {
            let scope = p.scope(Permission::AffairRead).ok_or_else(AppError::forbidden)?;
            if let DataScope::Limited { departments, owner } = scope {
                let handled_by = process::Entity::find()
                    .select_only()
                    .column(process::Column::Id)
                    .filter(process::Column::DepartmentId.is_in(departments.iter().copied()))
                    .into_query();
                let mut c = Condition::any()
                    .add(affair::Column::DepartmentId.is_in(departments))
                    .add(affair::Column::ProcessId.in_subquery(handled_by));
                if let Some(o) = owner {
                    c = c.add(affair::Column::ApplicantId.eq(o));
                }
                find = find.filter(c);
            }
        }
    }
    if let Some(s) = q.status {
        find = find.filter(affair::Column::Status.eq(s.as_str()));
    }
    if let Some(pid) = q.process_id {
        find = find.filter(affair::Column::ProcessId.eq(pid));
    }
    if let Some(text) = nonblank(&q.q) {
        find = find.filter(text_condition(text));
    }
    if let Some(from) = q.from {
        find = find.filter(affair::Column::CreatedAt.gte(from));
    }
    if let Some(to) = q.to {
        find = find.filter(affair::Column::CreatedAt.lt(to));
    }
    find = match q.sort.unwrap_or(AffairSort::CreatedDesc) {
        AffairSort::CreatedAsc => find.order_by_asc(affair::Column::CreatedAt),
        AffairSort::CreatedDesc => find.order_by_desc(affair::Column::CreatedAt),
        AffairSort::SubmittedAsc => find.order_by_asc(affair::Column::SubmittedAt),
        AffairSort::SubmittedDesc => find.order_by_desc(affair::Column::SubmittedAt),
        AffairSort::DueAsc => {
            find.order_by_asc(Expr::col(affair::Column::DueAt).is_null()).order_by_asc(affair::Column::DueAt)
        }
        AffairSort::DueDesc => {
            find.order_by_asc(Expr::col(affair::Column::DueAt).is_null()).order_by_desc(affair::Column::DueAt)
        }
    };
    let paginator = find.order_by_desc(affair::Column::Id).paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    let names = names(st.db.conn(), rows.iter().map(|a| a.applicant_id)).await?;
    let procs = process_names(st.db.conn(), rows.iter().map(|a| a.process_id)).await?;
    let now = now();
    Ok(Page {
        items: rows
            .into_iter()
            .map(|a| AffairSummary {
                overdue: overdue(a.due_at, a.finished_at, now),
                applicant_name: names.get(&a.applicant_id).cloned().unwrap_or_default(),
                process_name: procs.get(&a.process_id).cloned().unwrap_or_default(),
                id: a.id,
                number: a.number,
                title: a.title,
                process_id: a.process_id,
                status: a.status,
                is_test: a.is_test,
                submitted_at: a.submitted_at,
                due_at: a.due_at,
                finished_at: a.finished_at,
                applicant_id: a.applicant_id,
                guide_id: a.guide_id,
            })
            .collect(),
        total,
        page: page.page(),
        page_size: page.size(),
    })
}

/// Names of processes.
async fn process_names<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(process::Entity::find()
        .filter(process::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// The applicant rates a completed affair (评价), once.
pub async fn rate(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: RatingRequest) -> AppResult<RatingView> {
    let s = standing(st.db.conn(), p, id).await?;
    if !s.applicant {
        return Err(AppError::forbidden());
    }
    if s.instance.status != InstanceStatus::Completed {
        return Err(AppError::detail(
            ErrorCode::AffairStateConflict,
            "只能评价已办结的事务",
            "Only completed affairs can be rated",
        ));
    }
    let comment = req.comment.unwrap_or_default().trim().to_owned();
    if comment.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::field(
            "comment",
            "control_characters",
            "不能包含控制字符",
            "Must not contain control characters",
        ));
    }
    let txn = st.db.write().await?;
    let already = affair_rating::Entity::find().filter(affair_rating::Column::AffairId.eq(id)).count(&*txn).await?;
    if already > 0 {
        return Err(AppError::detail(ErrorCode::AlreadyExists, "该事务已评价过", "The affair was already rated"));
    }
    let row = affair_rating::ActiveModel {
        id: Set(Uuid::now_v7()),
        affair_id: Set(id),
        user_id: Set(p.user_id),
        guide_id: Set(s.affair.guide_id),
        score: Set(req.score),
        comment: Set(comment),
        created_at: Set(now()),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    crate::services::supervision::rated(&*txn, &s.affair, row.score, &row.comment).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("affair.rate", "affair", id).after(&json!({ "score": row.score, "comment": row.comment })),
    )
    .await?;
    txn.commit().await?;
    Ok(RatingView { score: row.score, comment: row.comment, created_at: row.created_at })
}

async fn ensure_visible(st: &AppState, p: &Principal, id: Uuid) -> AppResult<affair::Model> {
    let l = load(st.db.conn(), id).await?;
    if can_view(st.db.conn(), p, &l.affair, &l.process).await? { Ok(l.affair) } else { Err(AppError::not_found()) }
}

/// The applicant withdraws the affair (`access::Op::AffairWithdraw`); others who see it get 403.
pub async fn withdraw(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, note: NoteRequest) -> AppResult<Value> {
    let a = ensure_visible(st, p, id).await?;
    if !p.may(Op::AffairWithdraw, &Facts { owner_id: Some(a.applicant_id), departments: &[] }) {
        return Err(AppError::forbidden());
    }
    let build = |_: &Loaded| Ok((Action::Withdraw, None));
    Ok(run(
        st,
        p,
        ctx,
        id,
        &build,
        Meta {
            audit_action: "affair.withdraw",
            comment: note.comment,
            idempotency: None,
            handover: false,
            check_visible: false,
        },
    )
    .await?
    .1)
}

/// The applicant reminds the current handlers.
pub async fn urge(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, note: NoteRequest) -> AppResult<Value> {
    ensure_visible(st, p, id).await?;
    let build = |_: &Loaded| Ok((Action::Urge, None));
    Ok(run(
        st,
        p,
        ctx,
        id,
        &build,
        Meta {
            audit_action: "affair.urge",
            comment: note.comment,
            idempotency: None,
            handover: false,
            check_visible: false,
        },
    )
    .await?
    .1)
}

/// The applicant resubmits a returned affair with a corrected form.
pub async fn resubmit(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: ResubmitRequest,
) -> AppResult<Value> {
    ensure_visible(st, p, id).await?;
    let form_value = req.form.clone();
    let mode = if req.through_flow { ResubmitMode::ThroughFlow } else { ResubmitMode::BackToReturner };
    let build = move |l: &Loaded| {
        let data = form::validate_data(&l.form, &form_value, &l.instance.applicant_attrs)
            .map_err(|v| field_violations(v, "form."))?;
        Ok((Action::Resubmit { mode }, data.as_object().cloned()))
    };
    Ok(run(
        st,
        p,
        ctx,
        id,
        &build,
        Meta {
            audit_action: "affair.resubmit",
            comment: req.comment,
            idempotency: None,
            handover: false,
            check_visible: false,
        },
    )
    .await?
    .1)
}

/// The affair and task seq of a task id.
async fn task_row(st: &AppState, p: &Principal, task_id: Uuid) -> AppResult<task::Model> {
    let t = task::Entity::find_by_id(task_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    ensure_visible(st, p, t.affair_id).await?;
    Ok(t)
}

fn one_user(req: &TaskActionRequest) -> AppResult<UserId> {
    match req.user_ids.as_slice() {
        [u] => Ok(uid(*u)),
        _ => Err(AppError::field("user_ids", "exactly_one", "请选择一位人员", "Choose exactly one user")),
    }
}

/// A handling action on a task.
pub async fn act(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    task_id: Uuid,
    req: TaskActionRequest,
    idempotency_key: Option<&str>,
) -> AppResult<(u16, Value)> {
    act_as(st, p, ctx, task_id, req, idempotency_key, false).await
}

/// A task action; `handover` for the transfers of a hand-over (离职交接), which override nobody.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn act_as(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    task_id: Uuid,
    req: TaskActionRequest,
    idempotency_key: Option<&str>,
    handover: bool,
) -> AppResult<(u16, Value)> {
    let hash = request_hash(&format!("task_action:{task_id}"), &req);
    if let Some(key) = idempotency_key
        && let Some(stored) = replay(st, p.user_id, key, &hash).await?
    {
        return Ok(stored);
    }
    // Whether the caller may see the affair is checked in the command's transaction, on the
    // state it loads anyway.
    let row = task::Entity::find_by_id(task_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if !all_active(st.db.conn(), &req.user_ids).await? {
        // A task the caller may not see stays a 404.
        ensure_visible(st, p, row.affair_id).await?;
        return Err(AppError::field("user_ids", "not_found", "所选人员不存在或已停用", "A chosen user does not exist"));
    }
    let seq = TaskId(row.seq as u32);
    let req_ref = &req;
    let build = move |l: &Loaded| {
        // A task handled meanwhile is reported as such, even when the affair has moved on or ended
        // (withdrawing one's approval and commenting act on handled tasks on purpose).
        if !matches!(req_ref.action, TaskAction::Withdraw | TaskAction::Comment)
            && l.instance.task(seq).is_some_and(|t| t.status != tongban_engine::exec::TaskStatus::Pending)
        {
            return Err(AppError::code(ErrorCode::TaskAlreadyHandled));
        }
        if req_ref.version.is_some_and(|v| v != l.affair.version) {
            return Err(AppError::stale());
        }
        let action = match req_ref.action {
            TaskAction::Approve => Action::Approve { task: seq },
            TaskAction::Reject => Action::Reject { task: seq },
            TaskAction::Return => Action::Return {
                task: seq,
                to: match (req_ref.return_to.unwrap_or(ReturnTo::Applicant), &req_ref.target_node_id) {
                    (ReturnTo::Applicant, _) => ReturnTarget::Applicant,
                    (ReturnTo::Previous, _) => ReturnTarget::Previous,
                    (ReturnTo::Node, Some(n)) => ReturnTarget::Node(NodeId::from(n.as_str())),
                    (ReturnTo::Node, None) => {
                        return Err(AppError::field(
                            "target_node_id",
                            "required",
                            "请选择退回的环节",
                            "Choose the node to return to",
                        ));
                    }
                },
            },
            TaskAction::Transfer => Action::Transfer { task: seq, to: one_user(req_ref)? },
            TaskAction::Delegate => Action::Delegate { task: seq, to: one_user(req_ref)? },
            TaskAction::AddSignerBefore | TaskAction::AddSignerAfter => Action::AddSigner {
                task: seq,
                users: req_ref.user_ids.iter().map(|u| uid(*u)).collect(),
                position: if req_ref.action == TaskAction::AddSignerBefore {
                    SignerPosition::Before
                } else {
                    SignerPosition::After
                },
            },
            TaskAction::RemoveSigner => Action::RemoveSigner { task: seq, user: one_user(req_ref)? },
            TaskAction::Claim => Action::Claim { task: seq },
            TaskAction::Withdraw => Action::WithdrawTask { task: seq },
            TaskAction::Cc => Action::Cc { users: req_ref.user_ids.iter().map(|u| uid(*u)).collect() },
            TaskAction::Comment => Action::Comment { task: Some(seq) },
        };
        // Values of editable fields are checked against the form; which fields are editable is
        // the engine's decision.
        let node = l.instance.task(seq).and_then(|t| l.def.node(&t.node));
        let access = node.map(|n| n.field_access.clone()).unwrap_or_default();
        let attrs = &l.instance.applicant_attrs;
        let (patch, merged) = match &req_ref.form_patch {
            Some(patch) => match form::check_patch(&l.form, &access, &l.instance.form, patch, attrs) {
                Ok(merged) => (Some(patch.clone()), Some(merged)),
                Err(v) if v.iter().any(|f| lower(&f.code) != "field_not_editable") => {
                    return Err(field_violations(v, "form_patch."));
                }
                Err(_) => (Some(patch.clone()), None),
            },
            None => (None, None),
        };
        // An approval fills in every field the node requires (节点必填).
        if req_ref.action == TaskAction::Approve {
            let data = merged.as_ref().unwrap_or(&l.instance.form);
            let missing = form::missing_required(&l.form, &access, data, attrs);
            if !missing.is_empty() {
                return Err(field_violations(missing, "form_patch."));
            }
        }
        Ok((action, patch))
    };
    let audit_action = match req.action {
        TaskAction::Approve => "task.approve",
        TaskAction::Reject => "task.reject",
        TaskAction::Return => "task.return",
        TaskAction::Transfer => "task.transfer",
        TaskAction::Delegate => "task.delegate",
        TaskAction::AddSignerBefore | TaskAction::AddSignerAfter => "task.add_signer",
        TaskAction::RemoveSigner => "task.remove_signer",
        TaskAction::Claim => "task.claim",
        TaskAction::Withdraw => "task.withdraw",
        TaskAction::Cc => "task.cc",
        TaskAction::Comment => "task.comment",
    };
    let idem = idempotency_key.map(|k| (k, hash.as_str()));
    run(
        st,
        p,
        ctx,
        row.affair_id,
        &build,
        Meta { audit_action, comment: req.comment.clone(), idempotency: idem, handover, check_visible: true },
    )
    .await
}

/// Approve several tasks; each in its own transaction, each reported.
pub async fn batch_approve(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: BatchApproveRequest,
) -> AppResult<Vec<BatchItemResult>> {
    let mut out = Vec::new();
    for id in req.task_ids {
        let action = TaskActionRequest {
            action: TaskAction::Approve,
            comment: req.comment.clone(),
            form_patch: None,
            return_to: None,
            target_node_id: None,
            user_ids: Vec::new(),
            version: None,
        };
        match act(st, p, ctx, id, action, None).await {
            Ok(_) => out.push(BatchItemResult { task_id: id, ok: true, code: None }),
            Err(e @ AppError::Client { .. }) => {
                out.push(BatchItemResult { task_id: id, ok: false, code: Some(e.error_code().as_str().to_owned()) })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Tasks pending on the caller or claimable by them (待办).
fn todo_condition(me: Uuid) -> Condition {
    let claimable = task_candidate::Entity::find()
        .select_only()
        .column(task_candidate::Column::TaskId)
        .filter(task_candidate::Column::UserId.eq(me))
        .into_query();
    Condition::all().add(task::Column::Status.eq("pending")).add(
        Condition::any()
            .add(task::Column::AssigneeId.eq(me))
            .add(Condition::all().add(task::Column::AssigneeId.is_null()).add(task::Column::Id.in_subquery(claimable))),
    )
}

/// Tasks the caller handled (已办).
fn done_condition(me: Uuid) -> Condition {
    Condition::all().add(task::Column::Status.eq("done")).add(task::Column::AssigneeId.eq(me))
}

/// Affairs copied to the caller (抄送).
fn cc_condition(me: Uuid) -> Condition {
    let copied = notification::Entity::find()
        .select_only()
        .column(notification::Column::AffairId)
        .filter(notification::Column::UserId.eq(me))
        .filter(notification::Column::Kind.eq("cc"))
        .filter(notification::Column::AffairId.is_not_null())
        .into_query();
    Condition::all().add(affair::Column::Id.in_subquery(copied))
}

/// The caller's workspace: to-do (待办) or done (已办) tasks, affairs copied to them (抄送) or
/// started by them, filtered and sorted.
pub async fn list_tasks(
    st: &AppState,
    p: &Principal,
    q: &TaskQuery,
    page: &PageQuery,
) -> AppResult<Page<TaskListItem>> {
    let status = q.status.unwrap_or(TaskListStatus::Todo);
    match status {
        TaskListStatus::Todo | TaskListStatus::Done => task_rows(st, p, status, q, page).await,
        TaskListStatus::Cc | TaskListStatus::Started => affair_rows(st, p, status, q, page).await,
    }
}

/// Conditions on a task's affair as a subquery (process, text).
fn affair_filter(q: &TaskQuery) -> Option<Condition> {
    let mut c = Condition::all();
    let mut any = false;
    if let Some(pid) = q.process_id {
        c = c.add(affair::Column::ProcessId.eq(pid));
        any = true;
    }
    if let Some(text) = nonblank(&q.q) {
        c = c.add(text_condition(text));
        any = true;
    }
    any.then_some(c)
}

/// What a workspace row shows of its affair.
#[derive(Debug, sea_orm::FromQueryResult)]
struct AffairHead {
    id: Uuid,
    number: String,
    title: String,
    status: String,
    process_id: Uuid,
    applicant_id: Uuid,
}

async fn task_rows(
    st: &AppState,
    p: &Principal,
    status: TaskListStatus,
    q: &TaskQuery,
    page: &PageQuery,
) -> AppResult<Page<TaskListItem>> {
    let db = st.db.conn();
    let now = now();
    let mut find = task::Entity::find().filter(if status == TaskListStatus::Todo {
        todo_condition(p.user_id)
    } else {
        done_condition(p.user_id)
    });
    if let Some(c) = affair_filter(q) {
        let ids = affair::Entity::find().select_only().column(affair::Column::Id).filter(c).into_query();
        find = find.filter(task::Column::AffairId.in_subquery(ids));
    }
    if let Some(o) = q.overdue {
        find = find.filter(overdue_condition(task::Column::DueAt, task::Column::ClosedAt, now, o));
    }
    let default = if status == TaskListStatus::Todo { TaskSort::DueAsc } else { TaskSort::CreatedDesc };
    let find = window_and_order(find, q, default, task::Column::CreatedAt, task::Column::DueAt);
    let paginator = find.order_by_asc(task::Column::Id).paginate(db, page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    // The list shows an affair's head only; its state (the engine instance) stays in the database.
    let affairs: HashMap<Uuid, AffairHead> = affair::Entity::find()
        .select_only()
        .columns([
            affair::Column::Id,
            affair::Column::Number,
            affair::Column::Title,
            affair::Column::Status,
            affair::Column::ProcessId,
            affair::Column::ApplicantId,
        ])
        .filter(affair::Column::Id.is_in(rows.iter().map(|t| t.affair_id).collect::<HashSet<_>>()))
        .into_model::<AffairHead>()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let names = names(db, affairs.values().map(|a| a.applicant_id)).await?;
    let procs = process_names(db, affairs.values().map(|a| a.process_id)).await?;
    let items = rows
        .into_iter()
        .filter_map(|t| {
            let a = affairs.get(&t.affair_id)?;
            Some(TaskListItem {
                id: Some(t.id),
                affair_id: a.id,
                affair_number: a.number.clone(),
                affair_title: a.title.clone(),
                affair_status: a.status.clone(),
                process_id: a.process_id,
                process_name: procs.get(&a.process_id).cloned().unwrap_or_default(),
                applicant_id: a.applicant_id,
                applicant_name: names.get(&a.applicant_id).cloned().unwrap_or_default(),
                overdue: overdue(t.due_at, t.closed_at, now),
                node_id: Some(t.node_id),
                node_name: Some(t.node_name),
                assignee_id: t.assignee_id,
                original_assignee_id: t.original_assignee_id,
                status: Some(t.status),
                kind: Some(t.kind),
                result: t.result,
                created_at: t.created_at,
                due_at: t.due_at,
                closed_at: t.closed_at,
            })
        })
        .collect();
    Ok(Page { items, total, page: page.page(), page_size: page.size() })
}

/// The workspace lists' `from`/`to` window on `created` and their order (due dates first-come, no
/// due date last), for tasks and affairs alike.
fn window_and_order<E: EntityTrait>(
    mut find: Select<E>,
    q: &TaskQuery,
    default: TaskSort,
    created: E::Column,
    due: E::Column,
) -> Select<E> {
    if let Some(from) = q.from {
        find = find.filter(created.gte(from));
    }
    if let Some(to) = q.to {
        find = find.filter(created.lt(to));
    }
    match q.sort.unwrap_or(default) {
        TaskSort::DueAsc => find.order_by_asc(Expr::col(due).is_null()).order_by_asc(due),
        TaskSort::DueDesc => find.order_by_asc(Expr::col(due).is_null()).order_by_desc(due),
        TaskSort::CreatedAsc => find.order_by_asc(created),
        TaskSort::CreatedDesc => find.order_by_desc(created),
    }
}

async fn affair_rows(
    st: &AppState,
    p: &Principal,
    status: TaskListStatus,
    q: &TaskQuery,
    page: &PageQuery,
) -> AppResult<Page<TaskListItem>> {
    let db = st.db.conn();
    let now = now();
    let mut find = affair::Entity::find().filter(if status == TaskListStatus::Cc {
        cc_condition(p.user_id)
    } else {
        Condition::all().add(affair::Column::ApplicantId.eq(p.user_id))
    });
    if let Some(c) = affair_filter(q) {
        find = find.filter(c);
    }
    if let Some(o) = q.overdue {
        find = find.filter(overdue_condition(affair::Column::DueAt, affair::Column::FinishedAt, now, o));
    }
    let find = window_and_order(find, q, TaskSort::CreatedDesc, affair::Column::CreatedAt, affair::Column::DueAt);
    let paginator = find.order_by_asc(affair::Column::Id).paginate(db, page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    let mut waiting: HashMap<Uuid, task::Model> = HashMap::new();
    for t in task::Entity::find()
        .filter(task::Column::AffairId.is_in(rows.iter().map(|a| a.id).collect::<Vec<_>>()))
        .filter(task::Column::Status.eq("pending"))
        .order_by_asc(task::Column::Seq)
        .all(db)
        .await?
    {
        waiting.entry(t.affair_id).or_insert(t);
    }
    let names = names(db, rows.iter().map(|a| a.applicant_id)).await?;
    let procs = process_names(db, rows.iter().map(|a| a.process_id)).await?;
    let items = rows
        .into_iter()
        .map(|a| {
            let w = waiting.get(&a.id);
            TaskListItem {
                id: None,
                affair_id: a.id,
                affair_number: a.number,
                affair_title: a.title,
                affair_status: a.status,
                process_id: a.process_id,
                process_name: procs.get(&a.process_id).cloned().unwrap_or_default(),
                applicant_id: a.applicant_id,
                applicant_name: names.get(&a.applicant_id).cloned().unwrap_or_default(),
                node_id: w.map(|t| t.node_id.clone()),
                node_name: w.map(|t| t.node_name.clone()),
                assignee_id: None,
                original_assignee_id: None,
                status: None,
                kind: None,
                result: None,
                created_at: a.created_at,
                due_at: a.due_at,
                overdue: overdue(a.due_at, a.finished_at, now),
                closed_at: a.finished_at,
            }
        })
        .collect();
    Ok(Page { items, total, page: page.page(), page_size: page.size() })
}

/// The sizes of the caller's workspace lists.
pub async fn task_counts(st: &AppState, p: &Principal) -> AppResult<TaskCounts> {
    let db = st.db.conn();
    let me = p.user_id;
    Ok(TaskCounts {
        todo: task::Entity::find().filter(todo_condition(me)).count(db).await?,
        done: task::Entity::find().filter(done_condition(me)).count(db).await?,
        cc: affair::Entity::find().filter(cc_condition(me)).count(db).await?,
        started: affair::Entity::find().filter(affair::Column::ApplicantId.eq(me)).count(db).await?,
        overdue: task::Entity::find()
            .filter(todo_condition(me))
            .filter(overdue_condition(task::Column::DueAt, task::Column::ClosedAt, now(), true))
            .count(db)
            .await?,
    })
}

/// One task with its affair.
pub async fn get_task(st: &AppState, p: &Principal, ctx: &AuditCtx, task_id: Uuid) -> AppResult<AffairView> {
    let row = task_row(st, p, task_id).await?;
    get(st, p, ctx, row.affair_id).await
}

/// The account-less actor of system actions (service results, timers).
fn system_principal() -> Principal {
    Principal {
        user_id: Uuid::nil(),
        username: "system".into(),
        display_name: "系统".into(),
        department_id: None,
        grants: Vec::new(),
    }
}

/// Report a service call's result to the engine. A call that is no longer pending (reported
/// before, by this or another instance) is not an error: the report is simply not needed.
pub async fn report_service_result(
    st: &AppState,
    affair_id: Uuid,
    call_id: u32,
    ok: bool,
    detail: Value,
) -> AppResult<()> {
    let p = system_principal();
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let build = move |_: &Loaded| Ok((Action::ServiceResult { call_id, ok, detail: detail.clone() }, None));
    match run(
        st,
        &p,
        &ctx,
        affair_id,
        &build,
        Meta {
            audit_action: "service.result",
            comment: None,
            idempotency: None,
            handover: false,
            check_visible: false,
        },
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.error_code() == ErrorCode::AffairStateConflict => Ok(()),
        Err(e) => Err(e),
    }
}
