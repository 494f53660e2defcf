//! Positions (职务): 院长, 党委书记, 分管院领导, department heads and 辅导员.

use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::org::{CreatePosition, DepartmentKind, PositionKind, PositionQuery, PositionView, UpdatePosition};
use crate::entity::{department, position, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Permission, Principal, Target};
use crate::state::AppState;
use crate::time::now;

/// Positions, filtered (org.read).
pub async fn list(st: &AppState, p: &Principal, q: &PositionQuery) -> AppResult<Vec<PositionView>> {
    p.require(Permission::OrgRead)?;
    let mut f = position::Entity::find();
    if let Some(u) = q.user_id {
        f = f.filter(position::Column::UserId.eq(u));
    }
    if let Some(d) = q.department_id {
        f = f.filter(position::Column::DepartmentId.eq(d));
    }
    if let Some(k) = q.kind {
        f = f.filter(position::Column::Kind.eq(k.as_str()));
    }
    let rows =
        f.order_by_asc(position::Column::Kind).order_by_asc(position::Column::CreatedAt).all(st.db.conn()).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Positions held by one user (for `/me`).
pub async fn of_user(st: &AppState, user_id: Uuid) -> AppResult<Vec<PositionView>> {
    let rows = position::Entity::find()
        .filter(position::Column::UserId.eq(user_id))
        .order_by_asc(position::Column::CreatedAt)
        .all(st.db.conn())
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

async fn check_holder(st: &AppState, user_id: Uuid) -> AppResult<()> {
    match user::Entity::find_by_id(user_id).one(st.db.conn()).await? {
        Some(u) if u.status == "active" => Ok(()),
        Some(_) => Err(AppError::field("user_id", "inactive", "该账号已停用", "The account is disabled")),
        None => Err(AppError::field("user_id", "not_found", "用户不存在", "No such user")),
    }
}

/// Appoint someone.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreatePosition) -> AppResult<PositionView> {
    let school_wide = matches!(req.kind, PositionKind::President | PositionKind::Secretary);
    // School-wide offices and supervision assignments are decided for the whole school.
    let anchor = if school_wide || req.kind == PositionKind::SupervisingLeader { None } else { req.department_id };
    p.require_on(Permission::OrgManage, Target { owner_id: None, department_id: anchor })?;
    check_holder(st, req.user_id).await?;
    match (school_wide, req.department_id) {
        (true, Some(_)) => {
            return Err(AppError::field(
                "department_id",
                "not_allowed",
                "院长、党委书记不属于某个部门",
                "School-wide offices take no department",
            ));
        }
        (false, None) => {
            return Err(AppError::field("department_id", "required", "请选择部门", "A department is required"));
        }
        _ => {}
    }
    if let Some(d) = req.department_id {
        let dep = department::Entity::find_by_id(d)
            .one(st.db.conn())
            .await?
            .ok_or_else(|| AppError::field("department_id", "not_found", "部门不存在", "No such department"))?;
        if req.kind == PositionKind::Counsellor && dep.kind != DepartmentKind::Class.as_str() {
            return Err(AppError::field(
                "department_id",
                "not_a_class",
                "辅导员须对应一个班级",
                "A 辅导员 is appointed to a class",
            ));
        }
    }
    let txn = st.db.write().await?;
    let unique_kind =
        matches!(req.kind, PositionKind::President | PositionKind::Secretary | PositionKind::DepartmentHead);
    let same = position::Entity::find()
        .filter(position::Column::Kind.eq(req.kind.as_str()))
        .filter(match req.department_id {
            Some(d) => position::Column::DepartmentId.eq(d),
            None => position::Column::DepartmentId.is_null(),
        })
        .all(&*txn)
        .await?;
    if (unique_kind && !same.is_empty()) || same.iter().any(|s| s.user_id == req.user_id) {
        return Err(AppError::detail(ErrorCode::AlreadyExists, "该职务已有人担任", "This position is already held"));
    }
    let t = now();
    let m = position::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(req.user_id),
        kind: Set(req.kind.as_str().to_owned()),
        department_id: Set(req.department_id),
        title: Set(req.title.trim().to_owned()),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    let view = PositionView::from(m);
    audit::record(&*txn, ctx, Entry::new("position.create", "position", view.id).after(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

fn anchor_of(m: &position::Model) -> Option<Uuid> {
    match PositionKind::parse(&m.kind) {
        Some(PositionKind::DepartmentHead | PositionKind::Counsellor) => m.department_id,
        _ => None,
    }
}

/// Hand a position to another person or retitle it.
pub async fn update(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdatePosition,
) -> AppResult<PositionView> {
    let current = position::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    p.require_on(Permission::OrgManage, Target { owner_id: None, department_id: anchor_of(&current) })?;
    check_holder(st, req.user_id).await?;
    let before = PositionView::from(current);
    let txn = st.db.write().await?;
    let r = position::Entity::update_many()
        .col_expr(position::Column::UserId, Expr::value(req.user_id))
        .col_expr(position::Column::Title, Expr::value(req.title.trim()))
        .col_expr(position::Column::Version, Expr::col(position::Column::Version).add(1))
        .col_expr(position::Column::UpdatedAt, Expr::value(now()))
        .filter(position::Column::Id.eq(id))
        .filter(position::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let after: PositionView =
        position::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?.into();
    audit::record(&*txn, ctx, Entry::new("position.update", "position", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// End a position.
pub async fn delete(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, version: i32) -> AppResult<()> {
    let current = position::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    p.require_on(Permission::OrgManage, Target { owner_id: None, department_id: anchor_of(&current) })?;
    let before = PositionView::from(current);
    let txn = st.db.write().await?;
    let r = position::Entity::delete_many()
        .filter(position::Column::Id.eq(id))
        .filter(position::Column::Version.eq(version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(&*txn, ctx, Entry::new("position.delete", "position", id).before(&before)).await?;
    txn.commit().await?;
    Ok(())
}
