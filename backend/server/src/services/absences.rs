//! Out-of-office delegation (代理) and hand-over of a leaving user's tasks (离职交接).
//!
//! An absence sends the user's *new* tasks to a deputy while it lasts, for every process or for
//! some; the engine asks [`OrgDirectory`](super::directory::OrgDirectory) for the deputy when it
//! creates a task and records the user as the task's original assignee. Chains are not followed:
//! when the deputy is away too, the task still goes to the deputy (who can transfer it), so a
//! task never wanders along a chain of absences nobody planned. Tasks created before an absence
//! stay where they are.
//!
//! A hand-over moves every pending task of a leaving user to another user with the engine's
//! `Transfer` action, one affair at a time (each transfer is its own audited transaction, exactly
//! as if handled by hand), and records the whole hand-over in one `user.handover` audit record.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde_json::json;
use tongban_engine::model::{ProcessDefinition, UserId};
use uuid::Uuid;

use super::affairs;
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::absence::{
    AbsenceStatus, AbsenceView, CreateAbsence, HandedOverTask, HandoverReport, HandoverRequest, SkippedTask,
    UnclaimedTask,
};
use crate::dto::affair::{TaskAction, TaskActionRequest};
use crate::dto::common::{Page, PageQuery};
use crate::entity::{absence, affair, process, process_version, task, task_candidate, user};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{Permission, Principal, Target};
use crate::state::AppState;
use crate::time::now;

/// The longest absence: a year (a leap year's worth).
const MAX_LENGTH: TimeDelta = TimeDelta::days(366);

fn status_at(a: &absence::Model, t: DateTime<Utc>) -> AbsenceStatus {
    if t < a.starts_at {
        AbsenceStatus::Scheduled
    } else if t < a.ends_at {
        AbsenceStatus::Active
    } else {
        AbsenceStatus::Ended
    }
}

async fn views<C: ConnectionTrait>(db: &C, rows: Vec<absence::Model>) -> AppResult<Vec<AbsenceView>> {
    let deputies: HashSet<Uuid> = rows.iter().map(|a| a.deputy_id).collect();
    let names: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(deputies))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let t = now();
    Ok(rows
        .into_iter()
        .map(|a| AbsenceView {
            id: a.id,
            user_id: a.user_id,
            deputy_id: a.deputy_id,
            deputy_name: names.get(&a.deputy_id).cloned().unwrap_or_default(),
            status: status_at(&a, t),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            process_keys: serde_json::from_value(a.process_keys).unwrap_or_default(),
            note: a.note,
            version: a.version,
            created_by: a.created_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
        .collect())
}

async fn view<C: ConnectionTrait>(db: &C, a: absence::Model) -> AppResult<AbsenceView> {
    views(db, vec![a]).await?.pop().ok_or_else(AppError::not_found)
}

/// A user the caller administers (`user.manage` over the user's department): 404 when the caller
/// may not even see the user, 403 when they may see but not manage them.
async fn managed_user(st: &AppState, p: &Principal, id: Uuid) -> AppResult<user::Model> {
    let u = user::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let target = Target { owner_id: Some(u.id), department_id: u.department_id };
    if p.can_on(Permission::UserManage, target) {
        Ok(u)
    } else if p.can_on(Permission::OrgRead, target) {
        Err(AppError::forbidden())
    } else {
        Err(AppError::not_found())
    }
}

async fn list_of(st: &AppState, user_id: Uuid, page: &PageQuery) -> AppResult<Page<AbsenceView>> {
    let paginator = absence::Entity::find()
        .filter(absence::Column::UserId.eq(user_id))
        .order_by_desc(absence::Column::StartsAt)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page() - 1).await?;
    Ok(Page { items: views(st.db.conn(), rows).await?, total, page: page.page(), page_size: page.size() })
}

/// Check a new absence of `user_id` against the rules that need no lock.
async fn check_new(st: &AppState, user_id: Uuid, req: &CreateAbsence, t: DateTime<Utc>) -> AppResult<()> {
    let mut errors = Vec::new();
    if req.deputy_id == user_id {
        errors.push(FieldError::new(
            "deputy_id",
            "self",
            Msg::new("不能指定自己为代理人", "You cannot be your own deputy"),
        ));
    } else {
        match user::Entity::find_by_id(req.deputy_id).one(st.db.conn()).await? {
            None => errors.push(FieldError::new("deputy_id", "not_found", Msg::new("代理人不存在", "No such user"))),
            Some(d) if d.status != "active" => errors.push(FieldError::new(
                "deputy_id",
                "inactive",
                Msg::new("代理人账号已停用", "The deputy's account is not active"),
            )),
            Some(_) => {}
        }
    }
    if req.ends_at <= req.starts_at {
        errors.push(FieldError::new(
            "ends_at",
            "before_start",
            Msg::new("结束时间须晚于开始时间", "The end must be after the start"),
        ));
    } else if req.ends_at - req.starts_at > MAX_LENGTH {
        errors.push(FieldError::new("ends_at", "too_long", Msg::new("代理期限不能超过一年", "At most a year long")));
    }
    if req.ends_at <= t {
        errors.push(FieldError::new("ends_at", "in_past", Msg::new("结束时间须晚于当前时间", "The end has passed")));
    }
    if !req.process_keys.is_empty() {
        let known: HashSet<String> = process::Entity::find()
            .filter(process::Column::Key.is_in(req.process_keys.clone()))
            .all(st.db.conn())
            .await?
            .into_iter()
            .map(|p| p.key)
            .collect();
        for (i, k) in req.process_keys.iter().enumerate() {
            if !known.contains(k) {
                errors.push(FieldError::new(
                    format!("process_keys[{i}]"),
                    "not_found",
                    Msg::new("事项不存在", "No such process"),
                ));
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::fields(errors)) }
}

/// Serialise writers of one user's absences on PostgreSQL (SQLite has one writer anyway), so two
/// concurrent requests cannot both pass the overlap check.
async fn lock_user<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            [user_id.into()],
        ))
        .await?;
    }
    Ok(())
}

async fn create_for_user(
    st: &AppState,
    ctx: &AuditCtx,
    user_id: Uuid,
    created_by: Uuid,
    req: CreateAbsence,
) -> AppResult<AbsenceView> {
    let t = now();
    let starts_at = chrono::SubsecRound::trunc_subsecs(req.starts_at, 6);
    let ends_at = chrono::SubsecRound::trunc_subsecs(req.ends_at, 6);
    check_new(st, user_id, &req, t).await?;
    let txn = st.db.write().await?;
    lock_user(&*txn, user_id).await?;
    if let Some(other) = absence::Entity::find()
        .filter(absence::Column::UserId.eq(user_id))
        .filter(absence::Column::StartsAt.lt(ends_at))
        .filter(absence::Column::EndsAt.gt(starts_at))
        .one(&*txn)
        .await?
    {
        return Err(AppError::Client {
            code: ErrorCode::AlreadyExists,
            detail: Some(Msg::new(
                format!("与已有的代理（{} 至 {}）时间重叠", other.starts_at, other.ends_at),
                format!("Overlaps the absence from {} to {}", other.starts_at, other.ends_at),
            )),
            errors: vec![FieldError::new(
                "starts_at",
                "overlap",
                Msg::new("与已有的代理时间重叠", "Overlaps another absence"),
            )],
            retry_after: None,
        });
    }
    let row = absence::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        deputy_id: Set(req.deputy_id),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        process_keys: Set(json!(req.process_keys)),
        note: Set(req.note.trim().to_owned()),
        version: Set(1),
        created_by: Set(Some(created_by)),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    let v = view(&*txn, row).await?;
    audit::record(&*txn, ctx, Entry::new("absence.create", "absence", v.id).after(&v)).await?;
    txn.commit().await?;
    Ok(v)
}

/// Cancel: a scheduled absence is deleted; an active one ends now, so the record keeps saying
/// when tasks went to the deputy; an ended one cannot be cancelled.
async fn cancel_for_user(st: &AppState, ctx: &AuditCtx, user_id: Uuid, id: Uuid, version: i32) -> AppResult<()> {
    let txn = st.db.write().await?;
    let a = absence::Entity::find_by_id(id)
        .filter(absence::Column::UserId.eq(user_id))
        .one(&*txn)
        .await?
        .ok_or_else(AppError::not_found)?;
    let t = now();
    if a.version != version {
        return Err(AppError::stale());
    }
    let before = view(&*txn, a.clone()).await?;
    let status = status_at(&a, t);
    let r = match status {
        AbsenceStatus::Ended => {
            return Err(AppError::detail(
                ErrorCode::RuleViolation,
                "该代理已结束，无需取消",
                "The absence is already over",
            ));
        }
        AbsenceStatus::Scheduled => {
            absence::Entity::delete_many()
                .filter(absence::Column::Id.eq(id))
                .filter(absence::Column::Version.eq(version))
                .exec(&*txn)
                .await?
                .rows_affected
        }
        AbsenceStatus::Active => {
            absence::Entity::update_many()
                .col_expr(absence::Column::EndsAt, Expr::value(t))
                .col_expr(absence::Column::Version, Expr::col(absence::Column::Version).add(1))
                .col_expr(absence::Column::UpdatedAt, Expr::value(t))
                .filter(absence::Column::Id.eq(id))
                .filter(absence::Column::Version.eq(version))
                .exec(&*txn)
                .await?
                .rows_affected
        }
    };
    if r != 1 {
        return Err(AppError::stale());
    }
    let after = json!({ "ended_at": (status == AbsenceStatus::Active).then_some(t), "deleted": status == AbsenceStatus::Scheduled });
    audit::record(&*txn, ctx, Entry::new("absence.cancel", "absence", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    Ok(())
}

/// The caller's absences, latest start first.
pub async fn list_mine(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<AbsenceView>> {
    list_of(st, p.user_id, page).await
}

/// Schedule an absence of the caller.
pub async fn create_mine(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateAbsence) -> AppResult<AbsenceView> {
    create_for_user(st, ctx, p.user_id, p.user_id, req).await
}

/// Cancel one of the caller's absences.
pub async fn cancel_mine(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, version: i32) -> AppResult<()> {
    cancel_for_user(st, ctx, p.user_id, id, version).await
}

/// A user's absences (`user.manage` over the user); reading someone else's is audited.
pub async fn list_for(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    user_id: Uuid,
    page: &PageQuery,
) -> AppResult<Page<AbsenceView>> {
    let u = managed_user(st, p, user_id).await?;
    let out = list_of(st, u.id, page).await?;
    if u.id != p.user_id {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("absence.read", "user", u.id)).await?;
        txn.commit().await?;
    }
    Ok(out)
}

/// Schedule an absence for a user (`user.manage` over the user).
pub async fn create_for(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    user_id: Uuid,
    req: CreateAbsence,
) -> AppResult<AbsenceView> {
    let u = managed_user(st, p, user_id).await?;
    create_for_user(st, ctx, u.id, p.user_id, req).await
}

/// Cancel an absence of a user (`user.manage` over the user).
pub async fn cancel_for(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    user_id: Uuid,
    id: Uuid,
    version: i32,
) -> AppResult<()> {
    let u = managed_user(st, p, user_id).await?;
    cancel_for_user(st, ctx, u.id, id, version).await
}

/// The leaving user as the actor of their own transfers, with no permissions: the engine lets an
/// assignee transfer their own task, and that is all this principal is used for.
fn acting_as(u: &user::Model) -> Principal {
    Principal {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        department_id: u.department_id,
        grants: Vec::new(),
    }
}

/// Hand every pending task of a leaving user to another user (`user.manage` over the leaving
/// user; the receiver must be active). Each task is transferred through the engine; the caller
/// acts when they administer the affair's process, otherwise the leaving user hands over their own
/// task. A task handled meanwhile is reported as skipped with its code. Unclaimed group tasks the
/// user is a candidate of are left for the other candidates and listed.
pub async fn handover(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    user_id: Uuid,
    req: HandoverRequest,
) -> AppResult<HandoverReport> {
    let leaving = managed_user(st, p, user_id).await?;
    if req.to_user_id == leaving.id {
        return Err(AppError::field(
            "to_user_id",
            "self",
            "不能移交给本人",
            "Choose someone other than the leaving user",
        ));
    }
    match user::Entity::find_by_id(req.to_user_id).one(st.db.conn()).await? {
        None => return Err(AppError::field("to_user_id", "not_found", "接收人不存在", "No such user")),
        Some(u) if u.status != "active" => {
            return Err(AppError::field("to_user_id", "inactive", "接收人账号已停用", "The receiver is not active"));
        }
        Some(_) => {}
    }
    let db = st.db.conn();
    let pending = task::Entity::find()
        .filter(task::Column::AssigneeId.eq(leaving.id))
        .filter(task::Column::Status.eq("pending"))
        .order_by_asc(task::Column::CreatedAt)
        .all(db)
        .await?;
    let affair_ids: HashSet<Uuid> = pending.iter().map(|t| t.affair_id).collect();
    let affairs: HashMap<Uuid, affair::Model> = affair::Entity::find()
        .filter(affair::Column::Id.is_in(affair_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let version_ids: HashSet<Uuid> = affairs.values().map(|a| a.process_version_id).collect();
    let me = UserId::from(p.user_id.to_string());
    let administered: HashSet<Uuid> = process_version::Entity::find()
        .filter(process_version::Column::Id.is_in(version_ids))
        .all(db)
        .await?
        .into_iter()
        .filter(|v| {
            serde_json::from_value::<ProcessDefinition>(v.definition.clone()).is_ok_and(|d| d.admins.contains(&me))
        })
        .map(|v| v.id)
        .collect();
    let as_leaving = acting_as(&leaving);

    let mut report = HandoverReport { transferred: 0, affairs: Vec::new(), skipped: Vec::new(), unclaimed: Vec::new() };
    let mut failure = None;
    for t in &pending {
        let Some(a) = affairs.get(&t.affair_id) else {
            report.skipped.push(SkippedTask { task_id: t.id, code: ErrorCode::NotFound.as_str().to_owned() });
            continue;
        };
        let action = || TaskActionRequest {
            action: TaskAction::Transfer,
            comment: req.comment.clone(),
            form_patch: None,
            return_to: None,
            target_node_id: None,
            user_ids: vec![req.to_user_id],
            version: None,
        };
        // An administrator of the process transfers it; otherwise (or when the administrator may
        // not see the affair) the leaving user hands over their own task.
        let admin_first = administered.contains(&a.process_version_id);
        let actor = if admin_first { p } else { &as_leaving };
        let mut result = affairs::act_as(st, actor, ctx, t.id, action(), None, true).await;
        if admin_first && result.as_ref().is_err_and(|e| e.error_code() == ErrorCode::NotFound) {
            result = affairs::act(st, &as_leaving, ctx, t.id, action(), None).await;
        }
        match result {
            Ok(_) => {
                report.transferred += 1;
                report.affairs.push(HandedOverTask { affair_id: a.id, affair_number: a.number.clone(), task_id: t.id });
            }
            Err(e @ AppError::Client { .. }) => {
                report.skipped.push(SkippedTask { task_id: t.id, code: e.error_code().as_str().to_owned() })
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }

    if failure.is_none() {
        let claimable: Vec<Uuid> = task_candidate::Entity::find()
            .filter(task_candidate::Column::UserId.eq(leaving.id))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.task_id)
            .collect();
        let open = task::Entity::find()
            .filter(task::Column::Id.is_in(claimable))
            .filter(task::Column::Status.eq("pending"))
            .filter(task::Column::AssigneeId.is_null())
            .order_by_asc(task::Column::CreatedAt)
            .all(db)
            .await?;
        let others: Vec<task_candidate::Model> = task_candidate::Entity::find()
            .filter(task_candidate::Column::TaskId.is_in(open.iter().map(|t| t.id)))
            .filter(task_candidate::Column::UserId.ne(leaving.id))
            .all(db)
            .await?;
        let active: HashSet<Uuid> = user::Entity::find()
            .filter(user::Column::Id.is_in(others.iter().map(|c| c.user_id)))
            .filter(user::Column::Status.eq("active"))
            .all(db)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        report.unclaimed = open
            .into_iter()
            .map(|t| UnclaimedTask {
                affair_id: t.affair_id,
                task_id: t.id,
                other_candidates: others.iter().any(|c| c.task_id == t.id && active.contains(&c.user_id)),
            })
            .collect();
    }

    // The hand-over as a whole, also when it stopped on a server failure part-way.
    let txn = st.db.write().await?;
    let mut summary = Entry::new("user.handover", "user", leaving.id).after(&json!({
        "to_user_id": req.to_user_id,
        "comment": req.comment,
        "transferred": report.affairs,
        "skipped": report.skipped,
        "unclaimed": report.unclaimed,
    }));
    if failure.is_some() {
        summary = summary.failed();
    }
    audit::record(&*txn, ctx, summary).await?;
    txn.commit().await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
