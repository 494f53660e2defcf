//! Requirement plans (网上办事流程建设需求计划审批, 第六条~第九条) and their change requests (第八条).
//!
//! The approval chain runs on the workflow engine as the built-in process
//! [`builtin::REQUIREMENT_PLAN`]; this module adds what the regulation asks beyond the chain, in the
//! transaction of each command on such an affair ([`after_command`]):
//! - at submission: the applicant must belong to (or administer) the applying department, a
//!   flowchart drawn as BPMN must name each node's owner, and one form requests one process: a
//!   second open request for the same process name from the same department is refused (注2);
//! - at approval: the request turns into a draft process, linked both ways;
//! - then the IT office and the department build, trial-run and put it online, each step
//!   recorded with who and when, and the duties of 第九条 shown as a checklist;
//! - a change to an approved requirement is the built-in [`builtin::REQUIREMENT_CHANGE`] process,
//!   assessed for technical feasibility before approval, and kept with the request and the
//!   process's history.
//!
//! Trial-run affairs of the built-in processes themselves (a new version being tested) are left
//! alone: they create no plans and no processes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};
use tongban_engine::bpmn;
use tongban_engine::exec::{HistoryAction, HistoryEntry, Instance, InstanceStatus};
use tongban_engine::form::{FieldAccess, FormDefinition};
use tongban_engine::model::{NodeKind, ProcessDefinition, UserId};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::builtin::{REQUIREMENT_CHANGE, REQUIREMENT_PLAN};
use crate::dto::affair::PersonRef;
use crate::dto::common::Page;
use crate::dto::process::{LifecycleRequest, VersionStatus};
use crate::dto::requirement::{
    ChangeStatus, ChangeView, ChecklistItem, DepartmentRef, OpinionView, OwnersRequest, Party, PlanAction,
    PlanEventKind, PlanEventView, PlanFile, PlanProcess, PlanQuery, PlanRef, PlanStatus, PlanStepRequest, PlanSummary,
    PlanVersion, PlanView, SchemeRequest, TestersRequest,
};
use crate::entity::{
    affair, department, file, position, process, process_version, requirement_change, requirement_plan,
    requirement_plan_event, user,
};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::services::{affairs, notifications, processes};
use crate::state::AppState;
use crate::time::{china_day, now};

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

fn text(form: &Value, key: &str) -> String {
    form.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned()
}

fn ids(form: &Value, key: &str) -> Vec<Uuid> {
    match form.get(key) {
        Some(Value::String(s)) => s.parse().ok().into_iter().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).filter_map(|s| s.parse().ok()).collect(),
        _ => Vec::new(),
    }
}

/// The key that makes "the same process from the same department" one open request: the
/// department and the name with white space collapsed and Latin letters in lower case.
fn open_key(department: Uuid, name: &str) -> String {
    let name: String = name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    format!("{department}:{name}")
}

fn status_of(m: &requirement_plan::Model) -> PlanStatus {
    PlanStatus::parse(&m.status).unwrap_or(PlanStatus::InApproval)
}

fn is_approved(s: PlanStatus) -> bool {
    matches!(s, PlanStatus::Building | PlanStatus::Trial | PlanStatus::Online)
}

async fn event<C: ConnectionTrait>(
    db: &C,
    plan: Uuid,
    kind: PlanEventKind,
    actor: Option<Uuid>,
    note: &str,
    data: Value,
) -> AppResult<()> {
    requirement_plan_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        plan_id: Set(plan),
        kind: Set(kind.as_str().to_owned()),
        actor_id: Set(actor.filter(|a| !a.is_nil())),
        at: Set(now()),
        note: Set(note.to_owned()),
        data: Set(data),
    }
    .insert(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hooks on the approval affairs

/// What a command did to a built-in affair, for [`after_command`].
pub(crate) struct Change<'a> {
    /// The affair as stored after the command.
    pub affair: &'a affair::Model,
    /// Its process.
    pub process: &'a process::Model,
    /// The version's definition.
    pub def: &'a ProcessDefinition,
    /// The engine state before the command (`None` for a new affair) and after it.
    pub before: Option<&'a Instance>,
    pub after: &'a Instance,
}

/// Run in the transaction of every command on an affair: the requirement-plan rules for the
/// built-in processes, nothing for any other.
pub(crate) async fn after_command<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    p: &Principal,
    c: &Change<'_>,
) -> AppResult<()> {
    let key = c.process.key.as_str();
    if (key != REQUIREMENT_PLAN && key != REQUIREMENT_CHANGE) || c.affair.is_test {
        return Ok(());
    }
    let was = c.before.map(|b| b.status);
    let submitted = matches!(was, None | Some(InstanceStatus::Draft) | Some(InstanceStatus::Returned))
        && c.after.status == InstanceStatus::Running;
    let finished = c.after.status.is_finished() && !was.is_some_and(InstanceStatus::is_finished);
    match (key, submitted, finished) {
        (REQUIREMENT_PLAN, true, _) => plan_submitted(db, st, p, c).await,
        (REQUIREMENT_PLAN, _, true) => plan_finished(db, st, c).await,
        (REQUIREMENT_CHANGE, true, _) => change_submitted(db, p, c).await,
        (REQUIREMENT_CHANGE, _, true) => change_finished(db, c).await,
        _ => Ok(()),
    }
}

/// Whether `p` speaks for `department`: one of its members (its sub-departments included), or
/// an administrator of its guides (事项主体部门管理员) — not a college-wide administrator.
async fn speaks_for<C: ConnectionTrait>(db: &C, p: &Principal, department: Uuid) -> AppResult<bool> {
    if p.holds_for_department(Permission::GuideManage, department) {
        return Ok(true);
    }
    let Some(own) = p.department_id else { return Ok(false) };
    Ok(crate::auth::principal::subtree(db, &[department]).await?.contains(&own))
}

async fn plan_submitted<C: ConnectionTrait>(db: &C, st: &AppState, p: &Principal, c: &Change<'_>) -> AppResult<()> {
    let form = &c.after.form;
    let name = text(form, "process_name");
    let Some(dept) = ids(form, "applying_department").first().copied() else {
        return Err(AppError::field(
            "form.applying_department",
            "required",
            "请选择申请建设部门",
            "Choose the department",
        ));
    };
    let me = user::Entity::find_by_id(c.affair.applicant_id).one(db).await?.ok_or_else(AppError::not_found)?;
    if me.kind == "student" {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "流程建设需求由事项主体部门申报，学生不能申报",
            "Process requests are made by departments, not by students",
        ));
    }
    if !speaks_for(db, p, dept).await? {
        return Err(AppError::field(
            "form.applying_department",
            "not_your_department",
            "只能为本人所在部门或本人管理的部门申报",
            "You can apply only for your own department or one you administer",
        ));
    }
    if ids(form, "related_departments").contains(&dept) {
        return Err(AppError::field(
            "form.related_departments",
            "applying_department",
            "相关职能部门不应包括申请建设部门本身",
            "The related departments must not include the applying department",
        ));
    }
    check_flowchart(db, st, form).await?;
    let key = open_key(dept, &name);
    let existing =
        requirement_plan::Entity::find().filter(requirement_plan::Column::AffairId.eq(c.affair.id)).one(db).await?;
    if let Some(other) = requirement_plan::Entity::find()
        .filter(requirement_plan::Column::OpenKey.eq(&key))
        .filter(requirement_plan::Column::AffairId.ne(c.affair.id))
        .one(db)
        .await?
    {
        return Err(duplicate(&other));
    }
    let leader_steps = text(form, "has_leader_steps") == "yes";
    let t = now();
    let (plan_id, kind) = match existing {
        Some(m) => {
            requirement_plan::Entity::update_many()
                .col_expr(requirement_plan::Column::DepartmentId, Expr::value(dept))
                .col_expr(requirement_plan::Column::ProcessName, Expr::value(name.clone()))
                .col_expr(requirement_plan::Column::OpenKey, Expr::value(Some(key)))
                .col_expr(requirement_plan::Column::HasLeaderSteps, Expr::value(leader_steps))
                .col_expr(requirement_plan::Column::Status, Expr::value(PlanStatus::InApproval.as_str()))
                .col_expr(requirement_plan::Column::Version, Expr::col(requirement_plan::Column::Version).add(1))
                .col_expr(requirement_plan::Column::UpdatedAt, Expr::value(t))
                .filter(requirement_plan::Column::Id.eq(m.id))
                .exec(db)
                .await
                .map_err(|e| duplicate_on_race(e, &name))?;
            (m.id, PlanEventKind::Resubmitted)
        }
        None => {
            let id = Uuid::now_v7();
            requirement_plan::ActiveModel {
                id: Set(id),
                affair_id: Set(c.affair.id),
                number: Set(c.affair.number.clone()),
                applicant_id: Set(c.affair.applicant_id),
                department_id: Set(dept),
                process_name: Set(name.clone()),
                open_key: Set(Some(key)),
                status: Set(PlanStatus::InApproval.as_str().to_owned()),
                has_leader_steps: Set(leader_steps),
                process_id: Set(None),
                testers: Set(json!([])),
                scheme: Set(None),
                planned_online_on: Set(None),
                business_owner_id: Set(None),
                technical_owner_id: Set(None),
                version: Set(1),
                created_at: Set(t),
                updated_at: Set(t),
                approved_at: Set(None),
            }
            .insert(db)
            .await
            .map_err(|e| duplicate_on_race(e, &name))?;
            (id, PlanEventKind::Submitted)
        }
    };
    event(db, plan_id, kind, Some(p.user_id), "", Value::Null).await
}

fn duplicate(other: &requirement_plan::Model) -> AppError {
    let (zh_state, en_state) = if status_of(other) == PlanStatus::InApproval {
        ("正在审批", "is in approval")
    } else {
        ("已审批通过，需求如需调整请提交需求变更申请", "was approved; submit a change request to change it")
    };
    AppError::detail(
        ErrorCode::AlreadyExists,
        format!(
            "本部门已申报流程「{}」（{}），{zh_state}。一张表只申报一个流程，同一流程不能重复申报。",
            other.process_name, other.number
        ),
        format!(
            "Your department already requested the process \"{}\" ({}), which {en_state}. One form requests one process.",
            other.process_name, other.number
        ),
    )
}

/// A unique violation of `open_key` means a concurrent request for the same process won.
fn duplicate_on_race(e: sea_orm::DbErr, name: &str) -> AppError {
    match crate::services::unique_to_conflict(e) {
        AppError::Client { code: ErrorCode::AlreadyExists, .. } => AppError::detail(
            ErrorCode::AlreadyExists,
            format!("本部门已申报流程「{name}」，一张表只申报一个流程，同一流程不能重复申报。"),
            format!("Your department already requested the process \"{name}\". One form requests one process."),
        ),
        other => other,
    }
}

/// Flowcharts drawn in a BPMN modeller must name each node's owner (注1⑵), and one with the
/// president's or the secretary's step needs their approval (注3).
async fn check_flowchart<C: ConnectionTrait>(db: &C, st: &AppState, form: &Value) -> AppResult<()> {
    let files = file::Entity::find().filter(file::Column::Id.is_in(ids(form, "flowchart"))).all(db).await?;
    let mut errors = Vec::new();
    let mut leader_steps = Vec::new();
    for f in files.iter().filter(|f| f.filename.to_ascii_lowercase().ends_with(".bpmn")) {
        let bytes = st.storage.get(&f.storage_key).await?;
        let xml = String::from_utf8_lossy(&bytes);
        match bpmn::check_flowchart(&xml) {
            Err(e) => errors.push(FieldError::new(
                "form.flowchart",
                "invalid_bpmn",
                Msg::new(
                    format!("业务流程图「{}」不是可读的 BPMN 文件：{e}", f.filename),
                    format!("The flowchart {} is not a readable BPMN file: {e}", f.filename),
                ),
            )),
            Ok(r) if r.tasks == 0 => errors.push(FieldError::new(
                "form.flowchart",
                "no_nodes",
                Msg::new(
                    format!("业务流程图「{}」中没有任何办理环节", f.filename),
                    format!("The flowchart {} has no steps", f.filename),
                ),
            )),
            Ok(r) => {
                if !r.unowned.is_empty() {
                    let list: Vec<String> = r
                        .unowned
                        .iter()
                        .map(|u| if u.name.is_empty() { u.id.clone() } else { format!("{}（{}）", u.name, u.id) })
                        .collect();
                    errors.push(FieldError::new(
                        "form.flowchart",
                        "node_owner_missing",
                        Msg::new(
                            format!(
                                "业务流程图「{}」需明确每个节点的负责人，以下节点未写明：{}",
                                f.filename,
                                list.join("、")
                            ),
                            format!(
                                "The flowchart {} must name each node's owner; missing: {}",
                                f.filename,
                                list.join(", ")
                            ),
                        ),
                    ));
                }
                if r.leader_steps {
                    leader_steps.push(f.filename.clone());
                }
            }
        }
    }
    if !leader_steps.is_empty() && text(form, "has_leader_steps") != "yes" {
        errors.push(FieldError::new(
            "form.has_leader_steps",
            "leader_steps_in_flowchart",
            Msg::new(
                format!("业务流程图「{}」中有院长或书记签署意见的环节，此项应选「是」（注3）", leader_steps.join("、")),
                format!("The flowchart {} has a president or secretary step; answer yes", leader_steps.join(", ")),
            ),
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
}

async fn plan_of_affair<C: ConnectionTrait>(db: &C, affair_id: Uuid) -> AppResult<requirement_plan::Model> {
    requirement_plan::Entity::find()
        .filter(requirement_plan::Column::AffairId.eq(affair_id))
        .one(db)
        .await?
        .ok_or_else(|| internal(format!("no requirement plan for affair {affair_id}")))
}

async fn plan_finished<C: ConnectionTrait>(db: &C, st: &AppState, c: &Change<'_>) -> AppResult<()> {
    let plan = plan_of_affair(db, c.affair.id).await?;
    let t = now();
    let (status, kind) = match c.after.status {
        InstanceStatus::Completed => (PlanStatus::Building, PlanEventKind::Approved),
        InstanceStatus::Rejected => (PlanStatus::Rejected, PlanEventKind::Rejected),
        _ => (PlanStatus::Withdrawn, PlanEventKind::Withdrawn),
    };
    let last = c
        .after
        .history
        .iter()
        .rev()
        .find(|h| matches!(h.action, HistoryAction::Approved | HistoryAction::Rejected | HistoryAction::Withdrawn));
    let actor = last.and_then(|h| h.actor.as_ref()).and_then(|u| u.as_str().parse().ok());
    let mut update = requirement_plan::Entity::update_many()
        .col_expr(requirement_plan::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            requirement_plan::Column::HasLeaderSteps,
            Expr::value(text(&c.after.form, "has_leader_steps") == "yes"),
        )
        .col_expr(requirement_plan::Column::Version, Expr::col(requirement_plan::Column::Version).add(1))
        .col_expr(requirement_plan::Column::UpdatedAt, Expr::value(t));
    if status == PlanStatus::Building {
        let built = create_draft(db, st, &plan, c).await?;
        update = update
            .col_expr(requirement_plan::Column::ProcessId, Expr::value(Some(built.id)))
            .col_expr(requirement_plan::Column::ApprovedAt, Expr::value(Some(t)));
        event(db, plan.id, kind, actor, "", Value::Null).await?;
        event(db, plan.id, PlanEventKind::DraftCreated, None, &built.key, json!({ "process_id": built.id })).await?;
        notifications::send(
            db,
            [plan.applicant_id],
            "requirement_plan",
            &format!("流程建设需求已批准：{}", plan.process_name),
            "已生成流程草稿，信息化管理办公室将制定建设方案并与你部门沟通确认。",
            Some(plan.affair_id),
            None,
        )
        .await?;
    } else {
        // A refused or withdrawn request no longer holds the process name (注2 applies to open ones).
        update = update.col_expr(requirement_plan::Column::OpenKey, Expr::value(Option::<String>::None));
        event(db, plan.id, kind, actor, last.and_then(|h| h.comment.as_deref()).unwrap_or_default(), Value::Null)
            .await?;
    }
    update.filter(requirement_plan::Column::Id.eq(plan.id)).exec(db).await?;
    Ok(())
}

/// The draft process an approved request becomes (第六条㈡): the flowchart itself when it was drawn
/// in a BPMN modeller and Tongban can run it, else a start → end skeleton for the IT office to
/// build; administered by the requirement-plan process's administrators (the IT office).
async fn create_draft<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    plan: &requirement_plan::Model,
    c: &Change<'_>,
) -> AppResult<process::Model> {
    let mut key = format!("rp_{}", plan.number.to_ascii_lowercase());
    let mut n = 1;
    while process::Entity::find().filter(process::Column::Key.eq(&key)).one(db).await?.is_some() {
        n += 1;
        key = format!("rp_{}_{n}", plan.number.to_ascii_lowercase());
    }
    let name: String = plan.process_name.chars().take(128).collect();
    let admins: Vec<UserId> = c.def.admins.clone();
    let mut imported = None;
    let files = file::Entity::find().filter(file::Column::Id.is_in(ids(&c.after.form, "flowchart"))).all(db).await?;
    for f in files.iter().filter(|f| f.filename.to_ascii_lowercase().ends_with(".bpmn")) {
        let bytes = st.storage.get(&f.storage_key).await?;
        if let Ok(def) = bpmn::import(&String::from_utf8_lossy(&bytes)) {
            imported = Some(def);
            break;
        }
    }
    let mut def: ProcessDefinition = match imported {
        Some(d) => d,
        None => serde_json::from_value(processes::skeleton(&key, &name, Uuid::nil())).map_err(internal)?,
    };
    if def.admins.is_empty() || imported_admins_unknown(&def) {
        def.admins = admins;
    }
    let draft = processes::normalise(def, &key, &name)?;
    let t = now();
    let m = process::ActiveModel {
        id: Set(Uuid::now_v7()),
        key: Set(key.clone()),
        name: Set(name),
        department_id: Set(Some(plan.department_id)),
        description: Set(text(&c.after.form, "summary").chars().take(4000).collect()),
        draft: Set(draft),
        draft_form: Set(json!({ "fields": [] })),
        draft_diagram: Set(None),
        created_by: Set(None),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    audit::record(
        db,
        &ctx,
        Entry::new("process.create", "process", m.id)
            .after(&json!({ "key": m.key, "name": m.name, "requirement_plan": plan.number })),
    )
    .await?;
    Ok(m)
}

/// Administrators in an imported flowchart are whatever the modeller wrote: keep them only when
/// every one is a user id.
fn imported_admins_unknown(def: &ProcessDefinition) -> bool {
    def.admins.iter().any(|a| a.as_str().parse::<Uuid>().is_err())
}

async fn change_submitted<C: ConnectionTrait>(db: &C, p: &Principal, c: &Change<'_>) -> AppResult<()> {
    let form = &c.after.form;
    let number = text(form, "requirement_number");
    let not_found = || {
        AppError::field(
            "form.requirement_number",
            "not_found",
            "没有这个编号的流程建设需求计划审批表",
            "No requirement plan has this number",
        )
    };
    let plan = requirement_plan::Entity::find()
        .filter(requirement_plan::Column::Number.eq(&number))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    if !speaks_for(db, p, plan.department_id).await? && plan.applicant_id != p.user_id {
        return Err(not_found());
    }
    if !is_approved(status_of(&plan)) {
        return Err(AppError::field(
            "form.requirement_number",
            "not_approved",
            "该需求尚未审批通过，无需提交变更申请，可退回修改或撤回后重新申报",
            "This requirement is not approved; it needs no change request",
        ));
    }
    if ids(form, "applying_department").first() != Some(&plan.department_id) {
        return Err(AppError::field(
            "form.applying_department",
            "not_plan_department",
            "申请变更部门须为原需求的申请建设部门",
            "The change must come from the department that requested the process",
        ));
    }
    if let Some(open) = requirement_change::Entity::find()
        .filter(requirement_change::Column::PlanId.eq(plan.id))
        .filter(requirement_change::Column::Status.eq(ChangeStatus::InApproval.as_str()))
        .filter(requirement_change::Column::AffairId.ne(c.affair.id))
        .one(db)
        .await?
    {
        return Err(AppError::detail(
            ErrorCode::AlreadyExists,
            format!("该需求已有变更申请（{}）正在办理，请待其办结后再提交", open.number),
            format!("A change request ({}) for this requirement is already in progress", open.number),
        ));
    }
    let existing =
        requirement_change::Entity::find().filter(requirement_change::Column::AffairId.eq(c.affair.id)).one(db).await?;
    let t = now();
    match existing {
        Some(m) => {
            let mut a: requirement_change::ActiveModel = m.into();
            a.plan_id = Set(plan.id);
            a.status = Set(ChangeStatus::InApproval.as_str().to_owned());
            a.change_content = Set(text(form, "change_content"));
            a.change_reason = Set(text(form, "change_reason"));
            a.update(db).await?;
        }
        None => {
            requirement_change::ActiveModel {
                id: Set(Uuid::now_v7()),
                plan_id: Set(plan.id),
                affair_id: Set(c.affair.id),
                number: Set(c.affair.number.clone()),
                applicant_id: Set(c.affair.applicant_id),
                status: Set(ChangeStatus::InApproval.as_str().to_owned()),
                change_content: Set(text(form, "change_content")),
                change_reason: Set(text(form, "change_reason")),
                feasibility: Set(None),
                assessment: Set(None),
                estimated_days: Set(None),
                assessed_by: Set(None),
                assessed_at: Set(None),
                created_at: Set(t),
                finished_at: Set(None),
            }
            .insert(db)
            .await?;
            event(
                db,
                plan.id,
                PlanEventKind::ChangeRequested,
                Some(p.user_id),
                &c.affair.number,
                json!({ "affair_id": c.affair.id }),
            )
            .await?;
        }
    }
    Ok(())
}

/// The approval of the node that requires the feasibility assessment: who assessed, and when.
fn assessment_entry<'h>(c: &'h Change<'_>) -> Option<&'h HistoryEntry> {
    let nodes: HashSet<&str> = c
        .def
        .nodes
        .iter()
        .filter(|n| n.access("feasibility") == FieldAccess::Required)
        .map(|n| n.id.as_str())
        .collect();
    c.after.history.iter().rev().find(|h| {
        matches!(h.action, HistoryAction::Approved | HistoryAction::Rejected)
            && h.node.as_ref().is_some_and(|n| nodes.contains(n.as_str()))
    })
}

async fn change_finished<C: ConnectionTrait>(db: &C, c: &Change<'_>) -> AppResult<()> {
    let Some(m) =
        requirement_change::Entity::find().filter(requirement_change::Column::AffairId.eq(c.affair.id)).one(db).await?
    else {
        return Err(internal(format!("no change request for affair {}", c.affair.id)));
    };
    let form = &c.after.form;
    let (status, kind) = match c.after.status {
        InstanceStatus::Completed => (ChangeStatus::Approved, PlanEventKind::ChangeApproved),
        InstanceStatus::Rejected => (ChangeStatus::Rejected, PlanEventKind::ChangeRejected),
        _ => (ChangeStatus::Withdrawn, PlanEventKind::ChangeWithdrawn),
    };
    let assessed = assessment_entry(c);
    let feasibility = Some(text(form, "feasibility")).filter(|s| !s.is_empty());
    let assessment = Some(text(form, "assessment")).filter(|s| !s.is_empty());
    let estimated = form.get("estimated_days").and_then(Value::as_f64).map(|d| d as i32);
    let plan_id = m.plan_id;
    let mut a: requirement_change::ActiveModel = m.clone().into();
    a.status = Set(status.as_str().to_owned());
    a.feasibility = Set(feasibility.clone());
    a.assessment = Set(assessment.clone());
    a.estimated_days = Set(estimated);
    a.assessed_by = Set(assessed.and_then(|h| h.actor.as_ref()).and_then(|u| u.as_str().parse().ok()));
    a.assessed_at = Set(assessed.map(|h| h.at));
    a.finished_at = Set(Some(now()));
    a.update(db).await?;
    let actor = c
        .after
        .history
        .iter()
        .rev()
        .find(|h| matches!(h.action, HistoryAction::Approved | HistoryAction::Rejected | HistoryAction::Withdrawn))
        .and_then(|h| h.actor.as_ref())
        .and_then(|u| u.as_str().parse().ok());
    let data = json!({ "affair_id": c.affair.id, "feasibility": feasibility, "assessment": assessment });
    event(db, plan_id, kind, actor, &m.number, data.clone()).await?;
    // The change and its assessment are kept with the process's own history (第八条).
    if let Some(plan) = requirement_plan::Entity::find_by_id(plan_id).one(db).await?
        && let Some(process_id) = plan.process_id
    {
        let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
        audit::record(
            db,
            &ctx,
            Entry::new("process.requirement_change", "process", process_id).after(&json!({
                "change": m.number, "status": status.as_str(), "change_content": m.change_content,
                "change_reason": m.change_reason, "feasibility": data["feasibility"], "assessment": data["assessment"],
            })),
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading

/// How the caller stands to a plan.
struct Access {
    /// Speaks for the applying department (the applicant, its guide administrators, its head).
    department: bool,
    /// The IT office: manages the requirement-plan process.
    it: bool,
}

struct Loaded {
    plan: requirement_plan::Model,
    affair: affair::Model,
    access: Access,
}

async fn is_head<C: ConnectionTrait>(db: &C, user: Uuid, department: Uuid) -> AppResult<bool> {
    Ok(position::Entity::find()
        .filter(position::Column::UserId.eq(user))
        .filter(position::Column::Kind.eq("department_head"))
        .filter(position::Column::DepartmentId.eq(department))
        .count(db)
        .await?
        > 0)
}

/// Load a plan the caller may read: its department's side, the IT office, and whoever may see
/// its approval affair (those who signed it, supervisors). Anybody else gets 404.
async fn load<C: ConnectionTrait>(db: &C, p: &Principal, id: Uuid) -> AppResult<Loaded> {
    let plan = requirement_plan::Entity::find_by_id(id).one(db).await?.ok_or_else(AppError::not_found)?;
    let affair = affair::Entity::find_by_id(plan.affair_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let process = process::Entity::find_by_id(affair.process_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let it = p.can_on(Permission::ProcessManage, Target { owner_id: None, department_id: process.department_id });
    let department = plan.applicant_id == p.user_id
        || p.holds_for_department(Permission::GuideManage, plan.department_id)
        || is_head(db, p.user_id, plan.department_id).await?;
    if !(it || department || affairs::can_view(db, p, &affair, &process).await?) {
        return Err(AppError::not_found());
    }
    Ok(Loaded { plan, affair, access: Access { department, it } })
}

async fn names<C: ConnectionTrait>(db: &C, ids: impl IntoIterator<Item = Uuid>) -> AppResult<HashMap<Uuid, String>> {
    affairs::names(db, ids).await
}

fn person(names: &HashMap<Uuid, String>, id: Uuid) -> PersonRef {
    PersonRef { id, name: names.get(&id).cloned().unwrap_or_default() }
}

async fn department_names<C: ConnectionTrait>(db: &C) -> AppResult<HashMap<Uuid, String>> {
    Ok(department::Entity::find().all(db).await?.into_iter().map(|d| (d.id, d.name)).collect())
}

fn summary_of(
    m: &requirement_plan::Model,
    people: &HashMap<Uuid, String>,
    depts: &HashMap<Uuid, String>,
) -> PlanSummary {
    PlanSummary {
        id: m.id,
        number: m.number.clone(),
        affair_id: m.affair_id,
        status: status_of(m),
        department: DepartmentRef {
            id: m.department_id,
            name: depts.get(&m.department_id).cloned().unwrap_or_default(),
        },
        process_name: m.process_name.clone(),
        applicant: person(people, m.applicant_id),
        process_id: m.process_id,
        created_at: m.created_at,
        approved_at: m.approved_at,
    }
}

/// Requests the caller may see: the IT office all of them; others those of the departments
/// whose guides or affairs they administer or read, and their own.
pub async fn list(st: &AppState, p: &Principal, q: &PlanQuery) -> AppResult<Page<PlanSummary>> {
    let db = st.db.conn();
    let plan_process = process::Entity::find().filter(process::Column::Key.eq(REQUIREMENT_PLAN)).one(db).await?;
    let it = plan_process.as_ref().is_some_and(|pp| {
        p.can_on(Permission::ProcessManage, Target { owner_id: None, department_id: pp.department_id })
    });
    let mut find = requirement_plan::Entity::find();
    if !it {
        let mut depts: HashSet<Uuid> = HashSet::new();
        let mut all = false;
        for perm in [Permission::GuideManage, Permission::AffairRead] {
            match p.scope(perm) {
                Some(DataScope::All) => all = true,
                Some(DataScope::Limited { departments, .. }) => depts.extend(departments),
                None => {}
            }
        }
        if !all {
            let heads: Vec<Uuid> = position::Entity::find()
                .filter(position::Column::UserId.eq(p.user_id))
                .filter(position::Column::Kind.eq("department_head"))
                .all(db)
                .await?
                .into_iter()
                .filter_map(|h| h.department_id)
                .collect();
            depts.extend(heads);
            find = find.filter(
                Condition::any()
                    .add(requirement_plan::Column::ApplicantId.eq(p.user_id))
                    .add(requirement_plan::Column::DepartmentId.is_in(depts)),
            );
        }
    }
    if let Some(s) = q.status {
        find = find.filter(requirement_plan::Column::Status.eq(s.as_str()));
    }
    if let Some(d) = q.department_id {
        find = find.filter(requirement_plan::Column::DepartmentId.eq(d));
    }
    let paging = q.paging();
    let pages = find.order_by_desc(requirement_plan::Column::CreatedAt).paginate(db, paging.size());
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(paging.page() - 1).await?;
    let people = names(db, rows.iter().map(|r| r.applicant_id)).await?;
    let depts = department_names(db).await?;
    Ok(Page {
        items: rows.iter().map(|r| summary_of(r, &people, &depts)).collect(),
        total,
        page: paging.page(),
        page_size: paging.size(),
    })
}

/// The state of the lifecycle read from the events: when the scheme was last proposed and
/// confirmed, the last trial started and testing confirmed.
#[derive(Default)]
struct Steps {
    proposed: Option<(DateTime<Utc>, Option<Uuid>)>,
    confirmed: Option<(DateTime<Utc>, Option<Uuid>)>,
    trial: Option<(DateTime<Utc>, Option<Uuid>)>,
    tested: Option<(DateTime<Utc>, Option<Uuid>)>,
    online: Option<(DateTime<Utc>, Option<Uuid>)>,
    approved: Option<(DateTime<Utc>, Option<Uuid>)>,
    draft: Option<(DateTime<Utc>, Option<Uuid>)>,
    business: Option<(DateTime<Utc>, Option<Uuid>)>,
    technical: Option<(DateTime<Utc>, Option<Uuid>)>,
}

impl Steps {
    fn of(events: &[requirement_plan_event::Model]) -> Steps {
        let mut s = Steps::default();
        for e in events {
            let at = Some((e.at, e.actor_id));
            match PlanEventKind::parse(&e.kind) {
                Some(PlanEventKind::Approved) => s.approved = at,
                Some(PlanEventKind::DraftCreated) => s.draft = at,
                Some(PlanEventKind::SchemeProposed) => {
                    s.proposed = at;
                    s.confirmed = None;
                }
                Some(PlanEventKind::SchemeConfirmed) => s.confirmed = at,
                Some(PlanEventKind::TrialStarted) => {
                    s.trial = at;
                    s.tested = None;
                }
                Some(PlanEventKind::TestingDone) => s.tested = at,
                Some(PlanEventKind::Online) => s.online = at,
                Some(PlanEventKind::OwnersNamed) => {
                    if e.data.get("business_owner_id").is_some_and(|v| !v.is_null()) {
                        s.business = at;
                    }
                    if e.data.get("technical_owner_id").is_some_and(|v| !v.is_null()) {
                        s.technical = at;
                    }
                }
                _ => {}
            }
        }
        s
    }
}

/// The versions of the built process with their finished trial affairs.
async fn versions<C: ConnectionTrait>(db: &C, process_id: Uuid) -> AppResult<Vec<(process_version::Model, u64)>> {
    let mut out = Vec::new();
    for v in process_version::Entity::find()
        .filter(process_version::Column::ProcessId.eq(process_id))
        .order_by_desc(process_version::Column::Number)
        .all(db)
        .await?
    {
        let n = affair::Entity::find()
            .filter(affair::Column::ProcessVersionId.eq(v.id))
            .filter(affair::Column::IsTest.eq(true))
            .filter(affair::Column::Status.is_in(["completed", "rejected"]))
            .count(db)
            .await?;
        out.push((v, n));
    }
    Ok(out)
}

fn latest_trial(vs: &[(process_version::Model, u64)]) -> Option<&(process_version::Model, u64)> {
    vs.iter().find(|(v, _)| v.status == VersionStatus::Trial.as_str())
}

fn testers_of(m: &requirement_plan::Model) -> Vec<Uuid> {
    serde_json::from_value(m.testers.clone()).unwrap_or_default()
}

fn allowed(l: &Loaded, steps: &Steps, vs: &[(process_version::Model, u64)], open_change: bool) -> Vec<PlanAction> {
    let s = status_of(&l.plan);
    let (dept, it) = (l.access.department, l.access.it);
    let building = s == PlanStatus::Building;
    let trial = s == PlanStatus::Trial;
    let mut out = Vec::new();
    let mut allow = |cond: bool, a: PlanAction| {
        if cond {
            out.push(a);
        }
    };
    allow(it && building, PlanAction::Scheme);
    allow(dept && building && steps.proposed.is_some() && steps.confirmed.is_none(), PlanAction::ConfirmScheme);
    allow(dept && (building || trial), PlanAction::Testers);
    allow(it && (building || trial) && steps.confirmed.is_some() && !testers_of(&l.plan).is_empty(), PlanAction::Trial);
    allow(
        dept && trial && steps.tested.is_none() && latest_trial(vs).is_some_and(|(_, n)| *n > 0),
        PlanAction::TestingDone,
    );
    allow(it && trial && steps.tested.is_some(), PlanAction::Online);
    allow(dept && is_approved(s), PlanAction::BusinessOwner);
    allow(it && is_approved(s), PlanAction::TechnicalOwner);
    allow(dept && is_approved(s) && !open_change, PlanAction::RequestChange);
    out
}

/// The opinions of the approval chain from the affair's history, in order.
fn opinions(
    def: &ProcessDefinition,
    inst: &Instance,
    people: &HashMap<Uuid, String>,
    user_depts: &HashMap<Uuid, (Uuid, String)>,
) -> Vec<OpinionView> {
    inst.history
        .iter()
        .filter(|h| matches!(h.action, HistoryAction::Approved | HistoryAction::Rejected | HistoryAction::Returned))
        .filter_map(|h| {
            let node = def.node(h.node.as_ref()?)?;
            if !matches!(node.kind, NodeKind::UserTask { .. }) {
                return None;
            }
            let by: Uuid = h.actor.as_ref()?.as_str().parse().ok()?;
            let decision = match h.action {
                HistoryAction::Approved => "approved",
                HistoryAction::Rejected => "rejected",
                _ => "returned",
            };
            Some(OpinionView {
                node_id: node.id.to_string(),
                node_name: node.name.clone(),
                by: person(people, by),
                department: user_depts.get(&by).map(|d| d.1.clone()),
                department_id: user_depts.get(&by).map(|d| d.0),
                decision: decision.into(),
                text: h.comment.clone().unwrap_or_default(),
                at: h.at,
            })
        })
        .collect()
}

struct Built {
    view: PlanView,
    inst: Instance,
}

async fn build<C: ConnectionTrait>(db: &C, l: Loaded) -> AppResult<Built> {
    let version = process_version::Entity::find_by_id(l.affair.process_version_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let def: ProcessDefinition = serde_json::from_value(version.definition).map_err(internal)?;
    let form_def: FormDefinition = serde_json::from_value(version.form).map_err(internal)?;
    let inst: Instance = serde_json::from_value(l.affair.state.clone()).map_err(internal)?;
    let events = requirement_plan_event::Entity::find()
        .filter(requirement_plan_event::Column::PlanId.eq(l.plan.id))
        .order_by_asc(requirement_plan_event::Column::At)
        .all(db)
        .await?;
    let changes = requirement_change::Entity::find()
        .filter(requirement_change::Column::PlanId.eq(l.plan.id))
        .order_by_asc(requirement_change::Column::CreatedAt)
        .all(db)
        .await?;
    let form = &inst.form;
    let testers = testers_of(&l.plan);
    let signers: Vec<Uuid> =
        inst.history.iter().filter_map(|h| h.actor.as_ref()).filter_map(|u| u.as_str().parse().ok()).collect();
    let mut who: Vec<Uuid> = vec![l.plan.applicant_id];
    who.extend(signers.iter().copied());
    who.extend(testers.iter().copied());
    who.extend(events.iter().filter_map(|e| e.actor_id));
    who.extend(l.plan.business_owner_id);
    who.extend(l.plan.technical_owner_id);
    who.extend(changes.iter().flat_map(|c| [Some(c.applicant_id), c.assessed_by]).flatten());
    let people = names(db, who.clone()).await?;
    let depts = department_names(db).await?;
    let user_depts: HashMap<Uuid, (Uuid, String)> = user::Entity::find()
        .filter(user::Column::Id.is_in(signers.clone()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|u| {
            let d = u.department_id?;
            Some((u.id, (d, depts.get(&d)?.clone())))
        })
        .collect();
    let (process, vs) = match l.plan.process_id {
        Some(pid) => match process::Entity::find_by_id(pid).one(db).await? {
            Some(pm) => {
                let vs = versions(db, pid).await?;
                let view = PlanProcess {
                    id: pm.id,
                    key: pm.key,
                    name: pm.name,
                    versions: vs
                        .iter()
                        .map(|(v, n)| PlanVersion {
                            number: v.number,
                            status: VersionStatus::parse(&v.status).unwrap_or(VersionStatus::Offline),
                            finished_test_affairs: *n,
                        })
                        .collect(),
                };
                (Some(view), vs)
            }
            None => (None, Vec::new()),
        },
        None => (None, Vec::new()),
    };
    let steps = Steps::of(&events);
    let open_change = changes.iter().any(|c| c.status == ChangeStatus::InApproval.as_str());
    let allowed_actions = allowed(&l, &steps, &vs, open_change);
    let file_ids: Vec<Uuid> = ["reasons_attachment", "process_description", "flowchart"]
        .iter()
        .flat_map(|k| ids(form, k).into_iter().map(move |id| (*k, id)))
        .map(|(_, id)| id)
        .collect();
    let stored: HashMap<Uuid, file::Model> = file::Entity::find()
        .filter(file::Column::Id.is_in(file_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut files = Vec::new();
    for key in ["reasons_attachment", "process_description", "flowchart"] {
        let label = form_def.field(key).map(|f| f.label.clone()).unwrap_or_default();
        for id in ids(form, key) {
            if let Some(f) = stored.get(&id) {
                files.push(PlanFile { field: key.into(), label: label.clone(), id, filename: f.filename.clone() });
            }
        }
    }
    let at_by = |s: Option<(DateTime<Utc>, Option<Uuid>)>| {
        (s.map(|(t, _)| t), s.and_then(|(_, a)| a).map(|a| person(&people, a)))
    };
    let item =
        |code: &str, party: Party, article: &str, zh: &str, en: &str, s: Option<(DateTime<Utc>, Option<Uuid>)>| {
            let (done_at, done_by) = at_by(s);
            ChecklistItem {
                code: code.into(),
                party,
                article: article.into(),
                title: zh.into(),
                title_en: en.into(),
                done: s.is_some(),
                done_at,
                done_by,
            }
        };
    let checklist = vec![
        item(
            "plan",
            Party::Department,
            "第九条㈠1",
            "确定部门业务流程建设需求计划",
            "Requirement plan approved",
            steps.approved,
        ),
        item(
            "implementation_plan",
            Party::ItOffice,
            "第九条㈡1–2",
            "统一安排实施计划，与主体部门沟通建设方案",
            "Implementation plan and scheme proposed",
            steps.proposed,
        ),
        item(
            "scheme_confirmed",
            Party::Department,
            "第九条㈠2",
            "完成建设方案的沟通和确认",
            "Scheme confirmed",
            steps.confirmed,
        ),
        item(
            "build",
            Party::ItOffice,
            "第九条㈡3",
            "组织业务流程建设（试运行版本）",
            "Process built and in trial",
            steps.trial,
        ),
        item("testing_done", Party::Department, "第九条㈠3", "完成流程测试相关工作", "Testing done", steps.tested),
        item("online", Party::ItOffice, "第六条㈢", "流程上线", "Process online", steps.online),
        item(
            "business_owner",
            Party::Department,
            "第九条㈠4",
            "明确上线后的管理和运维负责人",
            "Business owner after going online",
            steps.business.filter(|_| l.plan.business_owner_id.is_some()),
        ),
        item(
            "technical_owner",
            Party::ItOffice,
            "第九条㈡4",
            "明确后期技术维护负责人",
            "Technical maintainer",
            steps.technical.filter(|_| l.plan.technical_owner_id.is_some()),
        ),
    ];
    let change_views = changes.iter().map(|c| change_view(c, &people)).collect();
    let view = PlanView {
        summary: summary_of(&l.plan, &people, &depts),
        summary_text: text(form, "summary"),
        reasons: text(form, "reasons"),
        applied_on: NaiveDate::parse_from_str(&text(form, "applied_on"), "%Y-%m-%d").ok(),
        contact_name: text(form, "contact_name"),
        contact_phone: text(form, "contact_phone"),
        has_leader_steps: text(form, "has_leader_steps") == "yes",
        related_departments: ids(form, "related_departments")
            .into_iter()
            .map(|id| DepartmentRef { id, name: depts.get(&id).cloned().unwrap_or_default() })
            .collect(),
        files,
        opinions: opinions(&def, &inst, &people, &user_depts),
        process,
        scheme: l.plan.scheme.clone(),
        planned_online_on: l
            .plan
            .planned_online_on
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        testers: testers.iter().map(|t| person(&people, *t)).collect(),
        business_owner: l.plan.business_owner_id.map(|u| person(&people, u)),
        technical_owner: l.plan.technical_owner_id.map(|u| person(&people, u)),
        checklist,
        events: events
            .iter()
            .filter_map(|e| {
                Some(PlanEventView {
                    kind: PlanEventKind::parse(&e.kind)?,
                    actor: e.actor_id.map(|a| person(&people, a)),
                    at: e.at,
                    note: e.note.clone(),
                })
            })
            .collect(),
        changes: change_views,
        allowed_actions,
        version: l.plan.version,
    };
    Ok(Built { view, inst })
}

fn change_view(c: &requirement_change::Model, people: &HashMap<Uuid, String>) -> ChangeView {
    ChangeView {
        id: c.id,
        affair_id: c.affair_id,
        number: c.number.clone(),
        status: ChangeStatus::parse(&c.status).unwrap_or(ChangeStatus::InApproval),
        applicant: person(people, c.applicant_id),
        change_content: c.change_content.clone(),
        change_reason: c.change_reason.clone(),
        feasibility: c.feasibility.clone(),
        assessment: c.assessment.clone(),
        estimated_days: c.estimated_days,
        assessed_by: c.assessed_by.map(|u| person(people, u)),
        assessed_at: c.assessed_at,
        created_at: c.created_at,
        finished_at: c.finished_at,
    }
}

/// One request with everything about it.
pub async fn get(st: &AppState, p: &Principal, id: Uuid) -> AppResult<PlanView> {
    let db = st.db.conn();
    let l = load(db, p, id).await?;
    Ok(build(db, l).await?.view)
}

/// What a process keeps of the request it was built from.
pub(crate) async fn plan_ref<C: ConnectionTrait>(db: &C, process_id: Uuid) -> AppResult<Option<PlanRef>> {
    let Some(plan) =
        requirement_plan::Entity::find().filter(requirement_plan::Column::ProcessId.eq(process_id)).one(db).await?
    else {
        return Ok(None);
    };
    let changes = requirement_change::Entity::find()
        .filter(requirement_change::Column::PlanId.eq(plan.id))
        .order_by_asc(requirement_change::Column::CreatedAt)
        .all(db)
        .await?;
    let people = names(db, changes.iter().flat_map(|c| [Some(c.applicant_id), c.assessed_by]).flatten()).await?;
    Ok(Some(PlanRef {
        id: plan.id,
        number: plan.number.clone(),
        status: status_of(&plan),
        changes: changes.iter().map(|c| change_view(c, &people)).collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// The PDF

fn chinese_day(t: DateTime<Utc>) -> String {
    let d = china_day(t);
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The filled form as a PDF in the attachment's layout.
pub async fn pdf(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<(String, Vec<u8>)> {
    use crate::pdf::requirement::{Opinion, OpinionBox, RequirementForm, render};
    let db = st.db.conn();
    let l = load(db, p, id).await?;
    let number = l.plan.number.clone();
    let Built { view, inst } = build(db, l).await?;
    let school = department::Entity::find()
        .filter(department::Column::ParentId.is_null())
        .order_by_asc(department::Column::SortOrder)
        .one(db)
        .await?
        .map(|d| d.name)
        .unwrap_or_default();
    let decision = |d: &str| match d {
        "approved" => "同意",
        "rejected" => "不同意",
        _ => "退回",
    };
    let reached: HashSet<&str> =
        inst.tasks.iter().map(|t| t.node.as_str()).chain(view.opinions.iter().map(|o| o.node_id.as_str())).collect();
    let boxed = |node: &str, title: &str| {
        let opinions: Vec<Opinion> = view
            .opinions
            .iter()
            .filter(|o| o.node_id == node)
            .map(|o| Opinion {
                by: match (&o.department, node) {
                    (Some(d), "related_depts") => format!("{d} {}", o.by.name),
                    _ => o.by.name.clone(),
                },
                decision: decision(&o.decision).into(),
                text: o.text.clone(),
                date: chinese_day(o.at),
            })
            .collect();
        let leader_box = node == "president" || node == "secretary";
        let empty_note = if leader_box && !view.has_leader_steps {
            "（无需签署，见注3）"
        } else if reached.contains(node) {
            "（待签署）"
        } else if inst.status.is_finished() {
            "（未签署）"
        } else {
            "（尚未到达此环节）"
        };
        OpinionBox { title: title.into(), opinions, empty_note: empty_note.into() }
    };
    let state = match view.summary.status {
        PlanStatus::InApproval => "审批中",
        PlanStatus::Rejected => "不予批准",
        PlanStatus::Withdrawn => "已撤回",
        PlanStatus::Building => "已批准（建设中）",
        PlanStatus::Trial => "已批准（试运行）",
        PlanStatus::Online => "已批准（已上线）",
    };
    let materials: Vec<String> = view.files.iter().map(|f| format!("{}：{}", f.label, f.filename)).collect();
    let contact = format!("{} {}", view.contact_name, view.contact_phone);
    let form = RequirementForm {
        school,
        number: number.clone(),
        applied_on: view.applied_on.map(|d| (d.year(), d.month(), d.day())),
        department: view.summary.department.name.clone(),
        process_name: view.summary.process_name.clone(),
        summary: view.summary_text.clone(),
        reasons: view.reasons.clone(),
        reasons_files: view
            .files
            .iter()
            .filter(|f| f.field == "reasons_attachment")
            .map(|f| f.filename.clone())
            .collect(),
        materials,
        contact: contact.trim().to_owned(),
        applying: [boxed("applying_dept", "申请部门意见"), boxed("applying_leader", "申请部门分管院领导意见")],
        related: boxed("related_depts", "流程相关职能部门意见"),
        it: [boxed("it_office", "信息化管理办公室意见"), boxed("it_leader", "分管院领导意见")],
        leaders: [boxed("president", "院长意见"), boxed("secretary", "书记意见")],
        state: state.to_owned(),
        created: now(),
    };
    let fonts = st.fonts.clone();
    let bytes = tokio::task::spawn_blocking(move || render(&fonts, &form))
        .await
        .map_err(internal)?
        .map_err(|e| AppError::Internal(e.context("requirement plan PDF")))?;
    audit::record(db, ctx, Entry::new("requirement_plan.pdf", "requirement_plan", id)).await?;
    Ok((format!("{number}-需求计划审批表.pdf"), bytes))
}

// ---------------------------------------------------------------------------------------------
// The lifecycle after approval

/// Run a step on a plan at the version the caller read, in one transaction with its event.
async fn step<F>(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, version: i32, f: F) -> AppResult<PlanView>
where
    F: for<'a> AsyncFnOnce(
        &'a DatabaseTransaction,
        &'a Loaded,
        &'a Steps,
        &'a [(process_version::Model, u64)],
    ) -> AppResult<(PlanEventKind, String, Value)>,
{
    let txn = st.db.write().await?;
    let l = load(&*txn, p, id).await?;
    if l.plan.version != version {
        return Err(AppError::stale());
    }
    let events = requirement_plan_event::Entity::find()
        .filter(requirement_plan_event::Column::PlanId.eq(id))
        .order_by_asc(requirement_plan_event::Column::At)
        .all(&*txn)
        .await?;
    let steps = Steps::of(&events);
    let vs = match l.plan.process_id {
        Some(pid) => versions(&*txn, pid).await?,
        None => Vec::new(),
    };
    let (kind, note, data) = f(&*txn, &l, &steps, &vs).await?;
    let bumped = requirement_plan::Entity::update_many()
        .col_expr(requirement_plan::Column::Version, Expr::col(requirement_plan::Column::Version).add(1))
        .col_expr(requirement_plan::Column::UpdatedAt, Expr::value(now()))
        .filter(requirement_plan::Column::Id.eq(id))
        .filter(requirement_plan::Column::Version.eq(version))
        .exec(&*txn)
        .await?;
    if bumped.rows_affected != 1 {
        return Err(AppError::stale());
    }
    event(&*txn, id, kind, Some(p.user_id), &note, data.clone()).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new(audit_action(kind), "requirement_plan", id).after(&json!({ "note": note, "data": data })),
    )
    .await?;
    let l = load(&*txn, p, id).await?;
    let view = build(&*txn, l).await?.view;
    txn.commit().await?;
    Ok(view)
}

/// The audit action of a lifecycle step.
fn audit_action(kind: PlanEventKind) -> &'static str {
    match kind {
        PlanEventKind::SchemeProposed => "requirement_plan.scheme",
        PlanEventKind::SchemeConfirmed => "requirement_plan.confirm_scheme",
        PlanEventKind::TestersNamed => "requirement_plan.testers",
        PlanEventKind::TrialStarted => "requirement_plan.trial",
        PlanEventKind::TestingDone => "requirement_plan.testing_done",
        PlanEventKind::Online => "requirement_plan.online",
        PlanEventKind::OwnersNamed => "requirement_plan.owners",
        _ => "requirement_plan.step",
    }
}

fn refuse(zh: &str, en: &str) -> AppError {
    AppError::detail(ErrorCode::RuleViolation, zh, en)
}

fn need(cond: bool, zh: &str, en: &str) -> AppResult<()> {
    if cond { Ok(()) } else { Err(refuse(zh, en)) }
}

fn side(ok: bool) -> AppResult<()> {
    if ok { Ok(()) } else { Err(AppError::forbidden()) }
}

async fn tell<C: ConnectionTrait>(
    db: &C,
    to: impl IntoIterator<Item = Uuid>,
    l: &Loaded,
    title: &str,
    body: &str,
) -> AppResult<()> {
    notifications::send(db, to, "requirement_plan", title, body, Some(l.plan.affair_id), None).await
}

/// The IT office's construction scheme (第六条㈡, 第九条㈡1–2); a new one awaits confirmation again.
pub async fn scheme(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: SchemeRequest) -> AppResult<PlanView> {
    step(st, p, ctx, id, req.version, async |db, l, _, _| {
        side(l.access.it)?;
        need(
            status_of(&l.plan) == PlanStatus::Building,
            "只有建设中的需求可以制定建设方案",
            "Only a plan being built takes a scheme",
        )?;
        requirement_plan::Entity::update_many()
            .col_expr(requirement_plan::Column::Scheme, Expr::value(Some(req.scheme.clone())))
            .col_expr(
                requirement_plan::Column::PlannedOnlineOn,
                Expr::value(req.planned_online_on.map(|d| d.format("%Y-%m-%d").to_string())),
            )
            .filter(requirement_plan::Column::Id.eq(l.plan.id))
            .exec(db)
            .await?;
        tell(
            db,
            [l.plan.applicant_id],
            l,
            &format!("请确认建设方案：{}", l.plan.process_name),
            "信息化管理办公室已提交建设方案，请沟通并确认。",
        )
        .await?;
        Ok((PlanEventKind::SchemeProposed, String::new(), json!({ "planned_online_on": req.planned_online_on })))
    })
    .await
}

/// The applying department confirms the scheme (第九条㈠2).
pub async fn confirm_scheme(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: PlanStepRequest,
) -> AppResult<PlanView> {
    step(st, p, ctx, id, req.version, async |_, l, steps, _| {
        side(l.access.department)?;
        need(
            status_of(&l.plan) == PlanStatus::Building,
            "只有建设中的需求可以确认方案",
            "Only a plan being built confirms a scheme",
        )?;
        need(
            steps.proposed.is_some(),
            "信息化管理办公室尚未提交建设方案",
            "The IT office has not proposed a scheme yet",
        )?;
        need(steps.confirmed.is_none(), "建设方案已确认", "The scheme is confirmed already")?;
        Ok((PlanEventKind::SchemeConfirmed, req.note.clone(), Value::Null))
    })
    .await
}

/// The applying department names the trial run's testers (第六条㈢, 第九条㈠3); during a trial
/// the running trial version takes them at once.
pub async fn testers(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: TestersRequest,
) -> AppResult<PlanView> {
    let mut wanted = req.user_ids.clone();
    wanted.dedup();
    if !crate::services::directory::all_active(st.db.conn(), &wanted).await? {
        return Err(AppError::field("user_ids", "not_found", "所选人员不存在或已停用", "A chosen user does not exist"));
    }
    step(st, p, ctx, id, req.version, async |db, l, _, vs| {
        side(l.access.department)?;
        let s = status_of(&l.plan);
        need(
            s == PlanStatus::Building || s == PlanStatus::Trial,
            "上线前才能指定测试人员",
            "Testers are named before going online",
        )?;
        requirement_plan::Entity::update_many()
            .col_expr(requirement_plan::Column::Testers, Expr::value(json!(wanted)))
            .filter(requirement_plan::Column::Id.eq(l.plan.id))
            .exec(db)
            .await?;
        if let (Some(pid), Some((v, _))) = (l.plan.process_id, latest_trial(vs)) {
            let req =
                LifecycleRequest { number: v.number, status: VersionStatus::Trial, testers: Some(wanted.clone()) };
            processes::lifecycle_in(db, p, ctx, pid, req).await?;
        }
        Ok((PlanEventKind::TestersNamed, String::new(), json!({ "user_ids": wanted })))
    })
    .await
}

/// The IT office publishes the draft as a trial version with the department's testers (第六条㈢).
pub async fn trial(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: PlanStepRequest,
) -> AppResult<PlanView> {
    step(st, p, ctx, id, req.version, async |db, l, steps, _| {
        side(l.access.it)?;
        let s = status_of(&l.plan);
        need(
            s == PlanStatus::Building || s == PlanStatus::Trial,
            "只有建设中或试运行的需求可以发布试运行版本",
            "Only a plan being built or tried starts a trial",
        )?;
        need(
            steps.confirmed.is_some(),
            "建设方案尚未经申请部门确认（第九条㈠2）",
            "The department has not confirmed the scheme",
        )?;
        let testers = testers_of(&l.plan);
        need(!testers.is_empty(), "申请部门尚未指定测试人员", "The department has named no testers")?;
        let pid = l.plan.process_id.ok_or_else(|| internal("approved plan without a process"))?;
        let proc = process::Entity::find_by_id(pid).one(db).await?.ok_or_else(AppError::not_found)?;
        let report = processes::check(&proc.draft, &proc.draft_form);
        if !report.valid {
            let first: Vec<String> = report.problems.iter().take(3).map(|pr| pr.message.clone()).collect();
            return Err(AppError::detail(
                ErrorCode::RuleViolation,
                format!("流程草稿有 {} 处问题，请先在流程设计器中修正：{}", report.problems.len(), first.join("；")),
                format!(
                    "The draft has {} problems; fix them in the designer: {}",
                    report.problems.len(),
                    first.join("; ")
                ),
            ));
        }
        let v = processes::publish_in(db, p, ctx, &proc, proc.version, VersionStatus::Trial, &testers).await?;
        requirement_plan::Entity::update_many()
            .col_expr(requirement_plan::Column::Status, Expr::value(PlanStatus::Trial.as_str()))
            .filter(requirement_plan::Column::Id.eq(l.plan.id))
            .exec(db)
            .await?;
        tell(
            db,
            testers.iter().copied().chain([l.plan.applicant_id]),
            l,
            &format!("流程试运行：{}", l.plan.process_name),
            &format!("第 {} 版已试运行，请测试人员在办事大厅发起测试，测试数据与正式数据分开保存。", v.number),
        )
        .await?;
        Ok((PlanEventKind::TrialStarted, req.note.clone(), json!({ "version": v.number })))
    })
    .await
}

/// The applying department confirms the tests are done (第九条㈠3): at least one trial affair
/// on the current trial version must have run to its end.
pub async fn testing_done(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: PlanStepRequest,
) -> AppResult<PlanView> {
    step(st, p, ctx, id, req.version, async |_, l, steps, vs| {
        side(l.access.department)?;
        need(
            status_of(&l.plan) == PlanStatus::Trial,
            "只有试运行中的流程可以确认测试完成",
            "Only a process in trial can be confirmed tested",
        )?;
        need(steps.tested.is_none(), "已确认测试完成", "Testing is confirmed already")?;
        let (v, n) = latest_trial(vs).ok_or_else(|| refuse("没有试运行版本", "No trial version"))?;
        need(
            *n > 0,
            "试运行版本还没有办结的测试事务，请测试人员先发起并办完测试",
            "No trial affair has finished on the trial version yet",
        )?;
        Ok((PlanEventKind::TestingDone, req.note.clone(), json!({ "version": v.number, "finished_test_affairs": n })))
    })
    .await
}

/// The IT office puts the tested trial version online (第六条㈢).
pub async fn online(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: PlanStepRequest,
) -> AppResult<PlanView> {
    step(st, p, ctx, id, req.version, async |db, l, steps, vs| {
        side(l.access.it)?;
        need(
            status_of(&l.plan) == PlanStatus::Trial,
            "只有试运行中的流程可以上线",
            "Only a process in trial goes online",
        )?;
        need(
            steps.tested.is_some(),
            "申请部门尚未确认测试完成（第九条㈠3）",
            "The department has not confirmed the tests",
        )?;
        let (v, _) = latest_trial(vs).ok_or_else(|| refuse("没有试运行版本", "No trial version"))?;
        let pid = l.plan.process_id.ok_or_else(|| internal("approved plan without a process"))?;
        let number = v.number;
        processes::lifecycle_in(
            db,
            p,
            ctx,
            pid,
            LifecycleRequest { number, status: VersionStatus::Online, testers: None },
        )
        .await?;
        requirement_plan::Entity::update_many()
            .col_expr(requirement_plan::Column::Status, Expr::value(PlanStatus::Online.as_str()))
            .filter(requirement_plan::Column::Id.eq(l.plan.id))
            .exec(db)
            .await?;
        tell(
            db,
            [l.plan.applicant_id],
            l,
            &format!("流程已上线：{}", l.plan.process_name),
            "流程已正式上线。请在办事指南中发布或更新该事项的指南，并明确上线后的管理和运维负责人。",
        )
        .await?;
        Ok((PlanEventKind::Online, req.note.clone(), json!({ "version": number })))
    })
    .await
}

/// Who looks after the process once online: the department names the business owner
/// (第九条㈠4), the IT office the technical maintainer (第九条㈡4).
pub async fn owners(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: OwnersRequest) -> AppResult<PlanView> {
    let named: Vec<Uuid> = req.business_owner_id.into_iter().chain(req.technical_owner_id).collect();
    if named.is_empty() {
        return Err(AppError::field("business_owner_id", "required", "请指定负责人", "Name an owner"));
    }
    if !crate::services::directory::all_active(st.db.conn(), &named).await? {
        return Err(AppError::field(
            "business_owner_id",
            "not_found",
            "所选人员不存在或已停用",
            "A chosen user does not exist",
        ));
    }
    step(st, p, ctx, id, req.version, async |db, l, _, _| {
        need(
            is_approved(status_of(&l.plan)),
            "需求审批通过后才能指定负责人",
            "Owners are named once the plan is approved",
        )?;
        let mut update = requirement_plan::Entity::update_many();
        if let Some(b) = req.business_owner_id {
            side(l.access.department)?;
            update = update.col_expr(requirement_plan::Column::BusinessOwnerId, Expr::value(Some(b)));
        }
        if let Some(t) = req.technical_owner_id {
            side(l.access.it)?;
            update = update.col_expr(requirement_plan::Column::TechnicalOwnerId, Expr::value(Some(t)));
        }
        update.filter(requirement_plan::Column::Id.eq(l.plan.id)).exec(db).await?;
        Ok((
            PlanEventKind::OwnersNamed,
            String::new(),
            json!({ "business_owner_id": req.business_owner_id, "technical_owner_id": req.technical_owner_id }),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_name_is_one_key_whatever_the_spacing_or_case() {
        let d = Uuid::from_u128(7);
        assert_eq!(open_key(d, " 学生 请假 "), open_key(d, "学生  请假"));
        assert_eq!(open_key(d, "VPN 申请"), open_key(d, "vpn 申请"));
        assert_ne!(open_key(d, "学生请假"), open_key(Uuid::from_u128(8), "学生请假"));
        assert_ne!(open_key(d, "学生请假"), open_key(d, "教职工请假"));
    }
}
