//! Affairs and tasks: starting an affair on a published version, every handling action through
//! the engine, in one transaction each, with optimistic concurrency and idempotency keys.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, NotSet, PaginatorTrait,
    QueryFilter, QueryOrder, Set, Statement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongban_engine::exec::{
    Action, Command, Event, ExecError, Instance, InstanceStatus, ResubmitMode, ReturnTarget, SignerPosition, Task,
    TaskKind, execute,
};
use tongban_engine::form::{self, FieldAccess, FormDefinition};
use tongban_engine::model::{NodeId, ProcessDefinition, TaskId, UserId};
use uuid::Uuid;

use super::directory::{Needs, OrgDirectory, all_active, collect_ids};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::affair::{
    AffairSummary, AffairView, BatchApproveRequest, BatchItemResult, CreateAffair, HistoryView, NoteRequest,
    ResubmitRequest, ReturnTo, TaskAction, TaskActionRequest, TaskListItem, TaskListStatus, TaskView,
};
use crate::dto::common::{Page, PageQuery};
use crate::dto::process::VersionStatus;
use crate::entity::{
    affair, department, idempotency_key, job, notification, process, process_version, task, task_candidate, user,
};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{Permission, Principal, Target};
use crate::services::{calendar, notifications};
use crate::state::AppState;
use crate::time::now;

/// Attempts at an action when another action on the same affair commits first.
const ATTEMPTS: usize = 8;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

fn uid(u: Uuid) -> UserId {
    UserId(u.to_string())
}

fn parse_uid(u: &UserId) -> Option<Uuid> {
    u.as_str().parse().ok()
}

/// The affair status shown to people for an engine status.
fn status_of(i: &Instance) -> &'static str {
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

fn task_kind(k: &TaskKind) -> &'static str {
    match k {
        TaskKind::Normal => "normal",
        TaskKind::Delegated { .. } => "delegated",
        TaskKind::AddedBefore { .. } => "added_before",
        TaskKind::AddedAfter { .. } => "added_after",
        TaskKind::ServiceFailure => "service_failure",
    }
}

fn lower<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Write the engine's tasks that changed into `tasks` and `task_candidates`.
async fn sync_tasks<C: ConnectionTrait>(
    db: &C,
    affair_id: Uuid,
    old: Option<&Instance>,
    new: &Instance,
    def: &ProcessDefinition,
) -> AppResult<()> {
    let existing: HashMap<i32, Uuid> = task::Entity::find()
        .filter(task::Column::AffairId.eq(affair_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.seq, t.id))
        .collect();
    for t in &new.tasks {
        let before = old.and_then(|o| o.task(t.id));
        if before == Some(t) {
            continue;
        }
        let seq = t.id.0 as i32;
        let id = existing.get(&seq).copied().unwrap_or_else(Uuid::now_v7);
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
            task_candidate::Entity::delete_many().filter(task_candidate::Column::TaskId.eq(id)).exec(db).await?;
            for c in t.candidates.iter().filter_map(parse_uid).collect::<HashSet<_>>() {
                task_candidate::ActiveModel { task_id: Set(id), user_id: Set(c) }.insert(db).await?;
            }
        }
    }
    Ok(())
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
            job::ActiveModel {
                id: Set(Uuid::now_v7()),
                kind: Set("service_call".into()),
                affair_id: Set(Some(affair_id)),
                payload: Set(json!({ "call_id": call_id, "node": node, "call": call })),
                run_at: Set(now()),
                attempts: Set(0),
                locked_by: Set(None),
                locked_until: Set(None),
                done_at: Set(None),
                last_error: Set(None),
                created_at: Set(now()),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
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

/// The version a user starts on: a trial version they test, else the online one.
async fn start_version(st: &AppState, p: &Principal, process_id: Uuid) -> AppResult<(process_version::Model, bool)> {
    let versions = process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(process_id))
        .filter(process_version::Column::Status.is_in([VersionStatus::Trial.as_str(), VersionStatus::Online.as_str()]))
        .order_by_desc(process_version::Column::Number)
        .all(st.db.conn())
        .await?;
    let me = json!(p.user_id.to_string());
    if let Some(v) = versions
        .iter()
        .find(|v| v.status == VersionStatus::Trial.as_str() && v.testers.as_array().is_some_and(|t| t.contains(&me)))
    {
        return Ok((v.clone(), true));
    }
    versions.into_iter().find(|v| v.status == VersionStatus::Online.as_str()).map(|v| (v, false)).ok_or_else(|| {
        AppError::detail(ErrorCode::RuleViolation, "该事项暂未开放办理", "This service is not open for applications")
    })
}

fn request_hash<T: serde::Serialize>(scope: &str, body: &T) -> String {
    let bytes = serde_jcs::to_vec(body).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update(&bytes);
    hex::encode(h.finalize())
}

/// The stored response for an idempotency key, if this user sent it before.
async fn replay(st: &AppState, user: Uuid, key: &str, hash: &str) -> AppResult<Option<(u16, Value)>> {
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
    let proc = process::Entity::find()
        .filter(process::Column::Key.eq(&req.process_key))
        .one(st.db.conn())
        .await?
        .ok_or_else(|| AppError::field("process_key", "not_found", "事项不存在", "No such process"))?;
    let (version, is_test) = start_version(st, p, proc.id).await?;
    let def: ProcessDefinition = serde_json::from_value(version.definition.clone()).map_err(internal)?;
    let form_def: FormDefinition = serde_json::from_value(version.form.clone()).map_err(internal)?;
    let me = user::Entity::find_by_id(p.user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let attrs = applicant_attrs(st.db.conn(), &me).await?;
    let data = form::validate_data(&form_def, &req.form, &attrs).map_err(|v| field_violations(v, "form."))?;
    let picks: BTreeMap<String, Vec<UserId>> =
        req.picks.iter().map(|(k, v)| (k.clone(), v.iter().map(|u| uid(*u)).collect())).collect();
    let picked: Vec<Uuid> = req.picks.values().flatten().copied().collect();
    if !all_active(st.db.conn(), &picked).await? {
        return Err(AppError::field("picks", "not_found", "所选人员不存在或已停用", "A picked user does not exist"));
    }

    let txn = st.db.write().await?;
    let mut needs =
        Needs::of(&def, &Instance::new(def.key.clone(), uid(p.user_id), Value::Null)).with(picked.iter().copied());
    collect_ids(&data, &mut needs.users);
    let dir = OrgDirectory::load(&*txn, proc.department_id, needs).await?;
    let cal = calendar::load(&*txn).await?;
    let instance = Instance::new(def.key.clone(), uid(p.user_id), attrs);
    let cmd = Command {
        actor: uid(p.user_id),
        action: Action::Submit { picks },
        comment: None,
        form_patch: data.as_object().cloned(),
        now: now(),
    };
    let out = execute(&def, &instance, &cmd, &dir, &cal).map_err(map_exec)?;
    let t = now();
    let id = Uuid::now_v7();
    let number = next_number(&*txn).await?;
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
        guide_id: Set(None),
    }
    .insert(&*txn)
    .await?;
    sync_tasks(&*txn, id, None, &out.instance, &def).await?;
    enqueue(&*txn, id, &out.events).await?;
    let aref = notifications::AffairRef { id, number: &row.number, title: &row.title };
    notifications::from_events(&*txn, &aref, &out.instance, &def, &out.events, &task_ids(&*txn, id).await?).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("affair.submit", "affair", id).after(
            &json!({ "number": row.number, "process": proc.key, "version": version.number, "is_test": is_test }),
        ),
    )
    .await?;
    let view = view_of(&*txn, p, &row, &proc, &version, &out.instance, &def, &form_def).await?;
    let body = serde_json::to_value(&view).map_err(internal)?;
    if let Some(key) = idempotency_key {
        remember(&*txn, p.user_id, key, &hash, 201, &body).await?;
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
    let Meta { audit_action, comment, idempotency } = meta;
    for _ in 0..ATTEMPTS {
        let txn = st.db.write().await?;
        let l = load(&*txn, affair_id).await?;
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
        let dir = OrgDirectory::load(&*txn, l.process.department_id, needs).await?;
        let cal = calendar::load(&*txn).await?;
        let cmd =
            Command { actor: uid(p.user_id), action: action.clone(), comment: comment.clone(), form_patch, now: now() };
        let out = execute(&l.def, &l.instance, &cmd, &dir, &cal).map_err(map_exec)?;
        let updated = affair::Entity::update_many()
            .col_expr(affair::Column::State, Expr::value(serde_json::to_value(&out.instance).map_err(internal)?))
            .col_expr(affair::Column::Status, Expr::value(status_of(&out.instance)))
            .col_expr(affair::Column::DueAt, Expr::value(out.instance.due_at))
            .col_expr(affair::Column::SubmittedAt, Expr::value(out.instance.submitted_at))
            .col_expr(affair::Column::FinishedAt, Expr::value(out.instance.finished_at))
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
        sync_tasks(&*txn, affair_id, Some(&l.instance), &out.instance, &l.def).await?;
        enqueue(&*txn, affair_id, &out.events).await?;
        let aref = notifications::AffairRef { id: affair_id, number: &l.affair.number, title: &l.affair.title };
        let ids = task_ids(&*txn, affair_id).await?;
        notifications::from_events(&*txn, &aref, &out.instance, &l.def, &out.events, &ids).await?;
        audit::record(
            &*txn,
            ctx,
            Entry::new(audit_action, "affair", affair_id)
                .before(&json!({ "status": status_of(&l.instance) }))
                .after(&json!({ "status": status_of(&out.instance), "action": action, "comment": comment })),
        )
        .await?;
        let mut row = l.affair.clone();
        row.status = status_of(&out.instance).to_owned();
        row.version = row.version.saturating_add(1);
        row.due_at = out.instance.due_at;
        row.submitted_at = out.instance.submitted_at;
        row.finished_at = out.instance.finished_at;
        let view = view_of(&*txn, p, &row, &l.process, &l.version, &out.instance, &l.def, &l.form).await?;
        let body = serde_json::to_value(&view).map_err(internal)?;
        if let Some((key, hash)) = idempotency {
            remember(&*txn, p.user_id, key, hash, 200, &body).await?;
        }
        txn.commit().await?;
        return Ok((200, body));
    }
    Err(AppError::stale())
}

/// Whether the caller may see the affair: the applicant, anyone who has or had a task on it, anyone
/// it was copied to (抄送), and administrators of its process.
async fn can_view<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
) -> AppResult<bool> {
    if a.applicant_id == p.user_id
        || p.can_on(Permission::ProcessManage, Target { owner_id: None, department_id: proc.department_id })
    {
        return Ok(true);
    }
    let mine = task::Entity::find()
        .filter(task::Column::AffairId.eq(a.id))
        .filter(
            Condition::any()
                .add(task::Column::AssigneeId.eq(p.user_id))
                .add(task::Column::OriginalAssigneeId.eq(p.user_id)),
        )
        .count(db)
        .await?;
    if mine > 0 {
        return Ok(true);
    }
    let copied = notification::Entity::find()
        .filter(notification::Column::UserId.eq(p.user_id))
        .filter(notification::Column::AffairId.eq(a.id))
        .filter(notification::Column::Kind.eq("cc"))
        .count(db)
        .await?;
    if copied > 0 {
        return Ok(true);
    }
    let ids: Vec<Uuid> =
        task::Entity::find().filter(task::Column::AffairId.eq(a.id)).all(db).await?.into_iter().map(|t| t.id).collect();
    Ok(task_candidate::Entity::find()
        .filter(task_candidate::Column::TaskId.is_in(ids))
        .filter(task_candidate::Column::UserId.eq(p.user_id))
        .count(db)
        .await?
        > 0)
}

fn task_view(affair_id: Uuid, t: &Task, ids: &HashMap<i32, Uuid>, def: &ProcessDefinition) -> TaskView {
    let now = now();
    TaskView {
        id: ids.get(&(t.id.0 as i32)).copied().unwrap_or_default(),
        affair_id,
        node_id: t.node.to_string(),
        node_name: def.node(&t.node).map(|n| n.name.clone()).unwrap_or_default(),
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

#[allow(clippy::too_many_arguments)]
async fn view_of<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    a: &affair::Model,
    proc: &process::Model,
    version: &process_version::Model,
    i: &Instance,
    def: &ProcessDefinition,
    form_def: &FormDefinition,
) -> AppResult<AffairView> {
    let ids: HashMap<i32, Uuid> = task::Entity::find()
        .filter(task::Column::AffairId.eq(a.id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.seq, t.id))
        .collect();
    let me = uid(p.user_id);
    let is_applicant = a.applicant_id == p.user_id;
    // Handlers see what the nodes they work at show them.
    let form = if is_applicant
        || p.can_on(Permission::ProcessManage, Target { owner_id: None, department_id: proc.department_id })
    {
        i.form.clone()
    } else {
        let mut access: BTreeMap<String, FieldAccess> =
            form_def.fields.iter().map(|f| (f.key.clone(), FieldAccess::Hidden)).collect();
        for t in i.tasks.iter().filter(|t| t.assignee.as_ref() == Some(&me) || t.candidates.contains(&me)) {
            if let Some(n) = def.node(&t.node) {
                for f in &form_def.fields {
                    let a = n.access(&f.key);
                    let cur = access.entry(f.key.clone()).or_insert(FieldAccess::Hidden);
                    if a != FieldAccess::Hidden {
                        *cur = a;
                    }
                }
            }
        }
        form::redact(form_def, &access, &i.form)
    };
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
        form,
        tasks: i.tasks.iter().map(|t| task_view(a.id, t, &ids, def)).collect(),
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
    })
}

/// One affair, as the caller may see it.
pub async fn get(st: &AppState, p: &Principal, id: Uuid) -> AppResult<AffairView> {
    let db = st.db.conn();
    let l = load(db, id).await?;
    if !can_view(db, p, &l.affair, &l.process).await? {
        return Err(AppError::not_found());
    }
    view_of(db, p, &l.affair, &l.process, &l.version, &l.instance, &l.def, &l.form).await
}

/// The caller's own affairs, newest first.
pub async fn list_mine(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<AffairSummary>> {
    let paginator = affair::Entity::find()
        .filter(affair::Column::ApplicantId.eq(p.user_id))
        .order_by_desc(affair::Column::CreatedAt)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    Ok(Page {
        items: items
            .into_iter()
            .map(|a| AffairSummary {
                id: a.id,
                number: a.number,
                title: a.title,
                process_id: a.process_id,
                status: a.status,
                is_test: a.is_test,
                submitted_at: a.submitted_at,
                due_at: a.due_at,
                finished_at: a.finished_at,
            })
            .collect(),
        total,
        page: page.page(),
        page_size: page.size(),
    })
}

async fn ensure_visible(st: &AppState, p: &Principal, id: Uuid) -> AppResult<()> {
    let l = load(st.db.conn(), id).await?;
    if can_view(st.db.conn(), p, &l.affair, &l.process).await? { Ok(()) } else { Err(AppError::not_found()) }
}

/// The applicant withdraws the affair.
pub async fn withdraw(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, note: NoteRequest) -> AppResult<Value> {
    ensure_visible(st, p, id).await?;
    let build = |_: &Loaded| Ok((Action::Withdraw, None));
    Ok(run(st, p, ctx, id, &build, Meta { audit_action: "affair.withdraw", comment: note.comment, idempotency: None })
        .await?
        .1)
}

/// The applicant reminds the current handlers.
pub async fn urge(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, note: NoteRequest) -> AppResult<Value> {
    ensure_visible(st, p, id).await?;
    let build = |_: &Loaded| Ok((Action::Urge, None));
    Ok(run(st, p, ctx, id, &build, Meta { audit_action: "affair.urge", comment: note.comment, idempotency: None })
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
    Ok(run(st, p, ctx, id, &build, Meta { audit_action: "affair.resubmit", comment: req.comment, idempotency: None })
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
    let hash = request_hash(&format!("task_action:{task_id}"), &req);
    if let Some(key) = idempotency_key
        && let Some(stored) = replay(st, p.user_id, key, &hash).await?
    {
        return Ok(stored);
    }
    let row = task_row(st, p, task_id).await?;
    if !all_active(st.db.conn(), &req.user_ids).await? {
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
        let action = match req_ref.action {
            TaskAction::Approve => Action::Approve { task: seq },
            TaskAction::Reject => Action::Reject { task: seq },
            TaskAction::Return => Action::Return {
                task: seq,
                to: match (req_ref.return_to.unwrap_or(ReturnTo::Applicant), &req_ref.target_node_id) {
                    (ReturnTo::Applicant, _) => ReturnTarget::Applicant,
                    (ReturnTo::Previous, _) => ReturnTarget::Previous,
                    (ReturnTo::Node, Some(n)) => ReturnTarget::Node(NodeId(n.clone())),
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
        let patch = match &req_ref.form_patch {
            Some(patch) => {
                let node = l.instance.task(seq).and_then(|t| l.def.node(&t.node));
                let access = node.map(|n| n.field_access.clone()).unwrap_or_default();
                if let Err(v) =
                    form::check_patch(&l.form, &access, &l.instance.form, patch, &l.instance.applicant_attrs)
                    && v.iter().any(|f| lower(&f.code) != "field_not_editable")
                {
                    return Err(field_violations(v, "form_patch."));
                }
                Some(patch.clone())
            }
            None => None,
        };
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
    run(st, p, ctx, row.affair_id, &build, Meta { audit_action, comment: req.comment.clone(), idempotency: idem }).await
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

/// The caller's to-do (pending on them or claimable) or done tasks.
pub async fn list_tasks(
    st: &AppState,
    p: &Principal,
    status: TaskListStatus,
    page: &PageQuery,
) -> AppResult<Page<TaskListItem>> {
    let db = st.db.conn();
    let mut find = task::Entity::find();
    find = match status {
        TaskListStatus::Todo => {
            let claimable: Vec<Uuid> = task_candidate::Entity::find()
                .filter(task_candidate::Column::UserId.eq(p.user_id))
                .all(db)
                .await?
                .into_iter()
                .map(|c| c.task_id)
                .collect();
            find.filter(task::Column::Status.eq("pending")).filter(
                Condition::any().add(task::Column::AssigneeId.eq(p.user_id)).add(
                    Condition::all().add(task::Column::AssigneeId.is_null()).add(task::Column::Id.is_in(claimable)),
                ),
            )
        }
        TaskListStatus::Done => {
            find.filter(task::Column::Status.eq("done")).filter(task::Column::AssigneeId.eq(p.user_id))
        }
    };
    let paginator = find.order_by_desc(task::Column::CreatedAt).paginate(db, page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    let affair_ids: Vec<Uuid> = rows.iter().map(|t| t.affair_id).collect();
    let affairs: HashMap<Uuid, affair::Model> = affair::Entity::find()
        .filter(affair::Column::Id.is_in(affair_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let now = now();
    let items = rows
        .into_iter()
        .filter_map(|t| {
            let a = affairs.get(&t.affair_id)?;
            Some(TaskListItem {
                affair_number: a.number.clone(),
                affair_title: a.title.clone(),
                applicant_id: a.applicant_id,
                task: TaskView {
                    id: t.id,
                    affair_id: t.affair_id,
                    overdue: t.closed_at.is_none() && t.due_at.is_some_and(|d| d < now),
                    node_id: t.node_id,
                    node_name: t.node_name,
                    assignee_id: t.assignee_id,
                    original_assignee_id: t.original_assignee_id,
                    status: t.status,
                    kind: t.kind,
                    result: t.result,
                    created_at: t.created_at,
                    due_at: t.due_at,
                    closed_at: t.closed_at,
                },
            })
        })
        .collect();
    Ok(Page { items, total, page: page.page(), page_size: page.size() })
}

/// One task with its affair.
pub async fn get_task(st: &AppState, p: &Principal, task_id: Uuid) -> AppResult<AffairView> {
    let row = task_row(st, p, task_id).await?;
    get(st, p, row.affair_id).await
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
        Meta { audit_action: "service.result", comment: None, idempotency: None },
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.error_code() == ErrorCode::AffairStateConflict => Ok(()),
        Err(e) => Err(e),
    }
}
