//! Process definitions: drafts, validation, immutable published versions and their lifecycle
//! (draft → 试运行 trial → 上线 online → 下线 offline), BPMN import and export.

use std::collections::HashMap;

use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use tongban_engine::form::{FieldKind, FormDefinition};
use tongban_engine::model::{AssigneeRule, LeaderOf, NodeKind, ProcessDefinition};
use uuid::Uuid;

use super::unique_to_conflict;
use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::process::{
    CreateProcess, DefinitionProblem, LifecycleRequest, ProcessDetail, ProcessSummary, PublishRequest, UpdateProcess,
    ValidationReport, VersionDetail, VersionStatus, VersionView,
};
use crate::entity::{department, process, process_version, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::state::AppState;
use crate::time::now;

fn target(p: &process::Model) -> Target {
    Target { owner_id: None, department_id: p.department_id }
}

/// Process administrators manage; the owning department's guide administrators read.
fn can_read(pr: &Principal, p: &process::Model) -> bool {
    pr.can_on(Permission::ProcessManage, target(p)) || pr.can_on(Permission::GuideManage, target(p))
}

async fn find(st: &AppState, pr: &Principal, id: Uuid) -> AppResult<process::Model> {
    let p = process::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if !can_read(pr, &p) {
        return Err(AppError::not_found());
    }
    Ok(p)
}

fn version_view(v: &process_version::Model) -> VersionView {
    VersionView {
        id: v.id,
        number: v.number,
        status: VersionStatus::parse(&v.status).unwrap_or(VersionStatus::Offline),
        testers: serde_json::from_value(v.testers.clone()).unwrap_or_default(),
        published_by: v.published_by,
        published_at: v.published_at,
        status_changed_by: v.status_changed_by,
        status_changed_at: v.status_changed_at,
    }
}

fn summary(p: &process::Model, versions: &[process_version::Model]) -> ProcessSummary {
    ProcessSummary {
        id: p.id,
        key: p.key.clone(),
        name: p.name.clone(),
        department_id: p.department_id,
        description: p.description.clone(),
        online_version: versions.iter().find(|v| v.status == VersionStatus::Online.as_str()).map(|v| v.number),
        latest_version: versions.iter().map(|v| v.number).max(),
        version: p.version,
        updated_at: p.updated_at,
    }
}

async fn versions_of<C: ConnectionTrait>(db: &C, process_id: Uuid) -> AppResult<Vec<process_version::Model>> {
    Ok(process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(process_id))
        .order_by_desc(process_version::Column::Number)
        .all(db)
        .await?)
}

/// Processes the caller manages or whose guides they manage.
pub async fn list(st: &AppState, pr: &Principal) -> AppResult<Vec<ProcessSummary>> {
    let mut find = process::Entity::find();
    let scopes = [pr.scope(Permission::ProcessManage), pr.scope(Permission::GuideManage)];
    if scopes.iter().all(Option::is_none) {
        return Err(AppError::forbidden());
    }
    if !scopes.contains(&Some(DataScope::All)) {
        let mut depts = Vec::new();
        for s in scopes.into_iter().flatten() {
            if let DataScope::Limited { departments, .. } = s {
                depts.extend(departments);
            }
        }
        find = find.filter(process::Column::DepartmentId.is_in(depts));
    }
    let processes = find.order_by_asc(process::Column::Key).all(st.db.conn()).await?;
    let ids: Vec<Uuid> = processes.iter().map(|p| p.id).collect();
    let mut by_process: HashMap<Uuid, Vec<process_version::Model>> = HashMap::new();
    for v in
        process_version::Entity::find().filter(process_version::Column::ProcessId.is_in(ids)).all(st.db.conn()).await?
    {
        by_process.entry(v.process_id).or_default().push(v);
    }
    Ok(processes.iter().map(|p| summary(p, by_process.get(&p.id).map_or(&[], |v| v.as_slice()))).collect())
}

async fn detail<C: ConnectionTrait>(db: &C, p: process::Model) -> AppResult<ProcessDetail> {
    let versions = versions_of(db, p.id).await?;
    Ok(ProcessDetail {
        summary: summary(&p, &versions),
        versions: versions.iter().map(version_view).collect(),
        validation: check(&p.draft, &p.draft_form),
        requirement_plan: crate::services::requirements::plan_ref(db, p.id).await?,
        draft_diagram: p.draft_diagram,
        draft: p.draft,
        draft_form: p.draft_form,
    })
}

/// One process with its draft and versions.
pub async fn get(st: &AppState, pr: &Principal, id: Uuid) -> AppResult<ProcessDetail> {
    let p = find(st, pr, id).await?;
    detail(st.db.conn(), p).await
}

/// Parse the stored or submitted JSON of a definition, naming the part on failure.
fn parse_definition(v: &Value) -> AppResult<ProcessDefinition> {
    serde_json::from_value(v.clone()).map_err(|e| {
        AppError::field("definition", "invalid", format!("流程定义格式错误：{e}"), format!("Malformed definition: {e}"))
    })
}

fn parse_form(v: &Value) -> AppResult<FormDefinition> {
    serde_json::from_value(v.clone()).map_err(|e| {
        AppError::field("form", "invalid", format!("表单定义格式错误：{e}"), format!("Malformed form: {e}"))
    })
}

pub(crate) fn skeleton(key: &str, name: &str, admin: Uuid) -> Value {
    json!({
        "key": key, "name": name,
        "nodes": [
            { "id": "start", "name": "提交申请", "kind": { "type": "start" } },
            { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } }
        ],
        "flows": [ { "id": "flow_start_end", "from": "start", "to": "end" } ],
        "admins": [ admin.to_string() ]
    })
}

/// Keep the definition's key and name equal to the process's.
pub(crate) fn normalise(mut def: ProcessDefinition, key: &str, name: &str) -> AppResult<Value> {
    def.key = key.to_owned();
    def.name = name.to_owned();
    serde_json::to_value(&def).map_err(|e| AppError::Internal(e.into()))
}

async fn check_department(st: &AppState, pr: &Principal, department_id: Option<Uuid>) -> AppResult<()> {
    if let Some(d) = department_id
        && department::Entity::find_by_id(d).one(st.db.conn()).await?.is_none()
    {
        return Err(AppError::field("department_id", "not_found", "部门不存在", "No such department"));
    }
    pr.require_on(Permission::ProcessManage, Target { owner_id: None, department_id })
}

/// Create a process with a draft.
pub async fn create(st: &AppState, pr: &Principal, ctx: &AuditCtx, req: CreateProcess) -> AppResult<ProcessDetail> {
    check_department(st, pr, req.department_id).await?;
    let draft = match &req.definition {
        Some(v) => normalise(parse_definition(v)?, &req.key, &req.name)?,
        None => skeleton(&req.key, &req.name, pr.user_id),
    };
    let form = match &req.form {
        Some(v) => serde_json::to_value(parse_form(v)?).map_err(|e| AppError::Internal(e.into()))?,
        None => json!({ "fields": [] }),
    };
    let txn = st.db.write().await?;
    if process::Entity::find().filter(process::Column::Key.eq(&req.key)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("key", "流程标识已被使用", "The key is already in use"));
    }
    let t = now();
    let m = process::ActiveModel {
        id: Set(Uuid::now_v7()),
        key: Set(req.key),
        name: Set(req.name.trim().to_owned()),
        department_id: Set(req.department_id),
        description: Set(req.description),
        draft: Set(draft),
        draft_form: Set(form),
        draft_diagram: Set(None),
        created_by: Set(Some(pr.user_id)),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("process.create", "process", m.id).after(&json!({ "key": m.key, "name": m.name })),
    )
    .await?;
    let d = detail(&*txn, m).await?;
    txn.commit().await?;
    Ok(d)
}

/// Replace the draft; it may be incomplete, but it must have the engine's shape.
pub async fn update(
    st: &AppState,
    pr: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateProcess,
) -> AppResult<ProcessDetail> {
    let current = find(st, pr, id).await?;
    if !pr.may(Op::ProcessUpdate, &Facts { owner_id: None, departments: &[current.department_id] }) {
        return Err(AppError::forbidden());
    }
    if req.department_id != current.department_id {
        check_department(st, pr, req.department_id).await?;
    }
    let draft = normalise(parse_definition(&req.definition)?, &current.key, req.name.trim())?;
    let form = serde_json::to_value(parse_form(&req.form)?).map_err(|e| AppError::Internal(e.into()))?;
    if let Some(xml) = &req.diagram
        && let Err(e) = tongban_engine::bpmn::check_flowchart(xml)
    {
        return Err(AppError::field(
            "diagram",
            "invalid",
            format!("流程图不是可读的 BPMN：{e}"),
            format!("Not readable BPMN: {e}"),
        ));
    }
    let txn = st.db.write().await?;
    let r = process::Entity::update_many()
        .col_expr(process::Column::Name, Expr::value(req.name.trim()))
        .col_expr(process::Column::DepartmentId, Expr::value(req.department_id))
        .col_expr(process::Column::Description, Expr::value(req.description))
        .col_expr(process::Column::Draft, Expr::value(draft.clone()))
        .col_expr(process::Column::DraftForm, Expr::value(form.clone()))
        .col_expr(process::Column::DraftDiagram, Expr::value(req.diagram.clone()))
        .col_expr(process::Column::Version, Expr::col(process::Column::Version).add(1))
        .col_expr(process::Column::UpdatedAt, Expr::value(now()))
        .filter(process::Column::Id.eq(id))
        .filter(process::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("process.update_draft", "process", id)
            .before(&json!({ "definition": current.draft, "form": current.draft_form }))
            .after(&json!({ "definition": draft, "form": form })),
    )
    .await?;
    let m = process::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let d = detail(&*txn, m).await?;
    txn.commit().await?;
    Ok(d)
}

/// Every problem of a definition and its form, including references between them.
pub fn check(definition: &Value, form: &Value) -> ValidationReport {
    let mut problems = Vec::new();
    let problem =
        |part: &str,
         code: String,
         node: Option<String>,
         flow: Option<String>,
         field: Option<String>,
         message: String| { DefinitionProblem { part: part.into(), code, node, flow, field, message } };
    let def = match serde_json::from_value::<ProcessDefinition>(definition.clone()) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(problem("definition", "malformed".into(), None, None, None, e.to_string()));
            None
        }
    };
    let form = match serde_json::from_value::<FormDefinition>(form.clone()) {
        Ok(f) => Some(f),
        Err(e) => {
            problems.push(problem("form", "malformed".into(), None, None, None, e.to_string()));
            None
        }
    };
    if let Some(def) = &def
        && let Err(errors) = tongban_engine::validate::validate(def)
    {
        for e in errors {
            problems.push(problem(
                "definition",
                e.code.to_string(),
                e.node.map(|n| n.to_string()),
                e.flow.map(|f| f.to_string()),
                None,
                e.message,
            ));
        }
    }
    if let Some(form) = &form
        && let Err(errors) = tongban_engine::form::validate_definition(form)
    {
        for e in errors {
            problems.push(problem(
                "form",
                "invalid_field".into(),
                None,
                None,
                Some(e.field().to_owned()),
                e.to_string(),
            ));
        }
    }
    if let (Some(def), Some(form)) = (&def, &form) {
        problems.extend(crate::builtin::contract_problems(def, form));
        for n in &def.nodes {
            for key in n.field_access.keys() {
                if form.field(key).is_none() {
                    problems.push(problem(
                        "definition",
                        "unknown_field".into(),
                        Some(n.id.to_string()),
                        None,
                        Some(key.clone()),
                        format!("field permission names `{key}`, which the form does not have"),
                    ));
                }
            }
            let rules: &[AssigneeRule] = match &n.kind {
                NodeKind::UserTask { assignees, .. } => assignees,
                NodeKind::Cc { recipients } => recipients,
                _ => &[],
            };
            for r in rules {
                let (field, wanted) = match r {
                    AssigneeRule::FormField { field } => (field, "user"),
                    AssigneeRule::DepartmentHead { of: LeaderOf::Field(field) }
                    | AssigneeRule::SupervisingLeader { of: LeaderOf::Field(field) } => (field, "department"),
                    _ => continue,
                };
                let ok = form.field(field).is_some_and(|f| match f.kind {
                    FieldKind::User { .. } => wanted == "user",
                    FieldKind::Department { .. } => wanted == "department",
                    _ => false,
                });
                if !ok {
                    problems.push(problem(
                        "definition",
                        "assignee_field".into(),
                        Some(n.id.to_string()),
                        None,
                        Some(field.clone()),
                        format!("assignees come from `{field}`, which is not a {wanted} field of the form"),
                    ));
                }
            }
        }
    }
    ValidationReport { valid: problems.is_empty(), problems }
}

/// Validate the draft.
pub async fn validate(st: &AppState, pr: &Principal, id: Uuid) -> AppResult<ValidationReport> {
    let p = find(st, pr, id).await?;
    Ok(check(&p.draft, &p.draft_form))
}

async fn check_testers<C: ConnectionTrait>(db: &C, testers: &[Uuid]) -> AppResult<()> {
    for (i, t) in testers.iter().enumerate() {
        if user::Entity::find_by_id(*t).one(db).await?.is_none() {
            return Err(AppError::field(&format!("testers[{i}]"), "not_found", "用户不存在", "No such user"));
        }
    }
    Ok(())
}

/// Take the online version (if any) offline.
async fn retire_online<C: ConnectionTrait>(db: &C, process_id: Uuid, by: Uuid) -> AppResult<()> {
    process_version::Entity::update_many()
        .col_expr(process_version::Column::Status, Expr::value(VersionStatus::Offline.as_str()))
        .col_expr(process_version::Column::StatusChangedBy, Expr::value(by))
        .col_expr(process_version::Column::StatusChangedAt, Expr::value(now()))
        .filter(process_version::Column::ProcessId.eq(process_id))
        .filter(process_version::Column::Status.eq(VersionStatus::Online.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Publish the draft as a new, immutable version (trial by default).
pub async fn publish(
    st: &AppState,
    pr: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: PublishRequest,
) -> AppResult<VersionDetail> {
    let p = find(st, pr, id).await?;
    pr.require_on(Permission::ProcessManage, target(&p))?;
    if p.version != req.version {
        return Err(AppError::stale());
    }
    let report = check(&p.draft, &p.draft_form);
    if !report.valid {
        let n = report.problems.len();
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            format!("草稿有 {n} 处问题，请先校验并修正"),
            format!("The draft has {n} problems; validate and fix it first"),
        ));
    }
    let status = req.status.unwrap_or(VersionStatus::Trial);
    if status == VersionStatus::Offline {
        return Err(AppError::field("status", "invalid", "新版本只能发布为试运行或上线", "Publish as trial or online"));
    }
    if status == VersionStatus::Trial && req.testers.is_empty() {
        return Err(AppError::field("testers", "required", "试运行须指定测试人员", "A trial needs testers"));
    }
    let txn = st.db.write().await?;
    let v = publish_in(&*txn, pr, ctx, &p, req.version, status, &req.testers).await?;
    txn.commit().await?;
    Ok(VersionDetail { version: version_view(&v), definition: v.definition, diagram: v.diagram, form: v.form })
}

/// Publish the draft `p` (as read at `draft_version`) as a new version in `status`, inside the
/// caller's transaction; the draft must have been validated. Requirement plans start trial runs
/// with it.
pub(crate) async fn publish_in<C: ConnectionTrait>(
    db: &C,
    pr: &Principal,
    ctx: &AuditCtx,
    p: &process::Model,
    draft_version: i32,
    status: VersionStatus,
    testers: &[Uuid],
) -> AppResult<process_version::Model> {
    let id = p.id;
    check_testers(db, testers).await?;
    // The draft must still be the one validated.
    let locked = process::Entity::update_many()
        .col_expr(process::Column::UpdatedAt, Expr::value(now()))
        .filter(process::Column::Id.eq(id))
        .filter(process::Column::Version.eq(draft_version))
        .exec(db)
        .await?;
    if locked.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let number = versions_of(db, id).await?.iter().map(|v| v.number).max().unwrap_or(0) + 1;
    if status == VersionStatus::Online {
        retire_online(db, id, pr.user_id).await?;
    }
    let t = now();
    let v = process_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        process_id: Set(id),
        number: Set(number),
        definition: Set(p.draft.clone()),
        form: Set(p.draft_form.clone()),
        diagram: Set(p.draft_diagram.clone()),
        status: Set(status.as_str().to_owned()),
        testers: Set(json!(testers)),
        published_by: Set(Some(pr.user_id)),
        published_at: Set(t),
        status_changed_by: Set(Some(pr.user_id)),
        status_changed_at: Set(t),
    }
    .insert(db)
    .await
    .map_err(unique_to_conflict)?;
    audit::record(db, ctx, Entry::new("process.publish", "process", id).after(&version_view(&v))).await?;
    Ok(v)
}

/// Move a version through its lifecycle.
pub async fn lifecycle(
    st: &AppState,
    pr: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: LifecycleRequest,
) -> AppResult<VersionView> {
    let p = find(st, pr, id).await?;
    pr.require_on(Permission::ProcessManage, target(&p))?;
    let txn = st.db.write().await?;
    let after = lifecycle_in(&*txn, pr, ctx, id, req).await?;
    txn.commit().await?;
    Ok(after)
}

/// Move a version through its lifecycle inside the caller's transaction (the caller checked
/// `process.manage`).
pub(crate) async fn lifecycle_in<C: ConnectionTrait>(
    db: &C,
    pr: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: LifecycleRequest,
) -> AppResult<VersionView> {
    let v = process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(id))
        .filter(process_version::Column::Number.eq(req.number))
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let before = version_view(&v);
    let testers = match (&req.testers, req.status) {
        (Some(t), _) => t.clone(),
        (None, _) => before.testers.clone(),
    };
    if req.status == VersionStatus::Trial && testers.is_empty() {
        return Err(AppError::field("testers", "required", "试运行须指定测试人员", "A trial needs testers"));
    }
    check_testers(db, &testers).await?;
    if before.status == req.status && req.testers.is_none() {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "版本已处于该状态",
            "The version already has this status",
        ));
    }
    if req.status == VersionStatus::Online {
        retire_online(db, id, pr.user_id).await?;
    }
    let r = process_version::Entity::update_many()
        .col_expr(process_version::Column::Status, Expr::value(req.status.as_str()))
        .col_expr(process_version::Column::Testers, Expr::value(json!(testers)))
        .col_expr(process_version::Column::StatusChangedBy, Expr::value(pr.user_id))
        .col_expr(process_version::Column::StatusChangedAt, Expr::value(now()))
        .filter(process_version::Column::Id.eq(v.id))
        .filter(process_version::Column::Status.eq(v.status.as_str()))
        .exec(db)
        .await?;
    if r.rows_affected != 1 && req.status != VersionStatus::Online {
        return Err(AppError::stale());
    }
    let after =
        version_view(&process_version::Entity::find_by_id(v.id).one(db).await?.ok_or_else(AppError::not_found)?);
    audit::record(db, ctx, Entry::new("process.lifecycle", "process", id).before(&before).after(&after)).await?;
    Ok(after)
}

/// One published version with its definition.
pub async fn version(st: &AppState, pr: &Principal, id: Uuid, number: i32) -> AppResult<VersionDetail> {
    find(st, pr, id).await?;
    let v = process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(id))
        .filter(process_version::Column::Number.eq(number))
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(VersionDetail { version: version_view(&v), definition: v.definition, diagram: v.diagram, form: v.form })
}

/// BPMN 2.0 XML of the draft, or of a published version.
pub async fn export_bpmn(st: &AppState, pr: &Principal, id: Uuid, number: Option<i32>) -> AppResult<String> {
    let (definition, diagram) = match number {
        Some(n) => {
            let v = version(st, pr, id, n).await?;
            (v.definition, v.diagram)
        }
        None => {
            let p = find(st, pr, id).await?;
            (p.draft, p.draft_diagram)
        }
    };
    let def = parse_definition(&definition)?;
    // The kept diagram (the designer's layout, an imported document) when it still says exactly
    // what the definition says; otherwise the definition laid out anew.
    if let Some(xml) = diagram
        && tongban_engine::bpmn::import(&xml).is_ok_and(|d| d == def)
    {
        return Ok(xml);
    }
    Ok(tongban_engine::bpmn::export(&def))
}

/// Import a BPMN 2.0 document into the draft of the process with the document's process id
/// (created when new, in the given department). The form is kept.
pub async fn import_bpmn(
    st: &AppState,
    pr: &Principal,
    ctx: &AuditCtx,
    xml: &str,
    department_id: Option<Uuid>,
) -> AppResult<ProcessDetail> {
    let def = tongban_engine::bpmn::import(xml).map_err(|e| {
        AppError::detail(ErrorCode::RuleViolation, format!("无法导入 BPMN：{e}"), format!("Cannot import BPMN: {e}"))
    })?;
    if crate::dto::org::validate_code(&def.key).is_err() {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "BPMN 流程 id 须为 1–64 位字母、数字、_ 或 -",
            "The BPMN process id must be 1–64 letters, digits, _ or -",
        ));
    }
    let existing = process::Entity::find().filter(process::Column::Key.eq(&def.key)).one(st.db.conn()).await?;
    let name = if def.name.trim().is_empty() { def.key.clone() } else { def.name.trim().to_owned() };
    let definition = serde_json::to_value(&def).map_err(|e| AppError::Internal(e.into()))?;
    match existing {
        None => {
            let req = CreateProcess {
                key: def.key.clone(),
                name,
                department_id,
                description: String::new(),
                definition: Some(definition),
                form: None,
            };
            crate::dto::org::validate_text(&req.name).map_err(|_| {
                AppError::detail(
                    ErrorCode::RuleViolation,
                    "流程名称含控制字符",
                    "The process name has control characters",
                )
            })?;
            create(st, pr, ctx, req).await
        }
        Some(p) => {
            if !can_read(pr, &p) {
                return Err(AppError::taken("key", "流程标识已被使用", "The key is already in use"));
            }
            let req = UpdateProcess {
                name,
                department_id: p.department_id,
                description: p.description.clone(),
                definition,
                form: p.draft_form.clone(),
                // A modeller's file with its layout is the diagram of the draft it becomes.
                diagram: xml.contains("BPMNDiagram").then(|| xml.to_owned()),
                version: p.version,
            };
            update(st, pr, ctx, p.id, req).await
        }
    }
}

/// Move running affairs of one version to another where their state maps onto the new graph;
/// with `dry_run`, only report.
pub async fn migrate(
    st: &AppState,
    pr: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: crate::dto::process::MigrateRequest,
) -> AppResult<crate::dto::process::MigrationReport> {
    use crate::dto::process::{MigrationItem, MigrationProblemView, MigrationReport};
    use crate::entity::{affair, task};
    use tongban_engine::exec::Instance;

    let p = find(st, pr, id).await?;
    pr.require_on(Permission::ProcessManage, target(&p))?;
    if req.from_version == req.to_version {
        return Err(AppError::field("to_version", "same", "目标版本与原版本相同", "The target is the same version"));
    }
    let from = version(st, pr, id, req.from_version).await?;
    let to = version(st, pr, id, req.to_version).await?;
    let old_def = parse_definition(&from.definition)?;
    let new_def = parse_definition(&to.definition)?;
    let mut find_affairs = affair::Entity::find()
        .filter(affair::Column::ProcessVersionId.eq(from.version.id))
        .filter(affair::Column::FinishedAt.is_null());
    if let Some(ids) = &req.affair_ids {
        find_affairs = find_affairs.filter(affair::Column::Id.is_in(ids.clone()));
    }
    let affairs = find_affairs.order_by_asc(affair::Column::CreatedAt).all(st.db.conn()).await?;
    let mut report = MigrationReport { dry_run: req.dry_run, movable: Vec::new(), blocked: Vec::new(), moved: 0 };
    let txn = if req.dry_run { None } else { Some(st.db.write().await?) };
    for a in affairs {
        let inst: Instance = serde_json::from_value(a.state.clone()).map_err(|e| AppError::Internal(e.into()))?;
        let problems: Vec<MigrationProblemView> = tongban_engine::migrate::check(&old_def, &new_def, &inst)
            .into_iter()
            .map(|p| MigrationProblemView { node: p.node.to_string(), code: p.code, message: p.message })
            .collect();
        let item = MigrationItem { affair_id: a.id, number: a.number.clone(), problems };
        if !item.problems.is_empty() {
            report.blocked.push(item);
            continue;
        }
        if let Some(txn) = &txn {
            let r = affair::Entity::update_many()
                .col_expr(affair::Column::ProcessVersionId, Expr::value(to.version.id))
                .col_expr(affair::Column::Version, Expr::col(affair::Column::Version).add(1))
                .col_expr(affair::Column::UpdatedAt, Expr::value(now()))
                .filter(affair::Column::Id.eq(a.id))
                .filter(affair::Column::Version.eq(a.version))
                .exec(&**txn)
                .await?;
            if r.rows_affected != 1 {
                // Acted on meanwhile: report it as blocked rather than move a state not checked.
                report.blocked.push(MigrationItem {
                    problems: vec![MigrationProblemView {
                        node: "-".into(),
                        code: "changed_meanwhile".into(),
                        message: "the affair changed during the migration; run it again".into(),
                    }],
                    ..item
                });
                continue;
            }
            for n in &new_def.nodes {
                task::Entity::update_many()
                    .col_expr(task::Column::NodeName, Expr::value(n.name.clone()))
                    .filter(task::Column::AffairId.eq(a.id))
                    .filter(task::Column::NodeId.eq(n.id.as_str()))
                    .exec(&**txn)
                    .await?;
            }
            audit::record(
                &**txn,
                ctx,
                Entry::new("affair.migrate", "affair", a.id)
                    .before(&json!({ "version": req.from_version }))
                    .after(&json!({ "version": req.to_version })),
            )
            .await?;
            report.moved += 1;
        }
        report.movable.push(item);
    }
    if let Some(txn) = txn {
        audit::record(
            &*txn,
            ctx,
            Entry::new("process.migrate", "process", id).after(&json!({
                "from": req.from_version, "to": req.to_version, "moved": report.moved, "blocked": report.blocked.len()
            })),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(report)
}
