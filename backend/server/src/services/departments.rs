//! Departments: the organisation tree.

use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{like_pattern, unique_to_conflict};
use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::auth::principal::subtree;
use crate::dto::org::{CreateDepartment, DepartmentKind, DepartmentQuery, DepartmentView, UpdateDepartment};
use crate::entity::{department, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Permission, Principal, Target};
use crate::state::AppState;
use crate::time::now;

/// All departments matching the filters, in tree order (public).
pub async fn list(st: &AppState, q: &DepartmentQuery) -> AppResult<Vec<DepartmentView>> {
    let mut find = department::Entity::find();
    if let Some(p) = q.parent_id {
        find = find.filter(department::Column::ParentId.eq(p));
    }
    if let Some(k) = q.kind {
        find = find.filter(department::Column::Kind.eq(k.as_str()));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(text);
        find = find.filter(
            Condition::any()
                .add(Expr::col(department::Column::Name).like(LikeExpr::new(&pat).escape('\\')))
                .add(Expr::col(department::Column::Code).like(LikeExpr::new(&pat).escape('\\'))),
        );
    }
    let rows = find
        .order_by_asc(department::Column::SortOrder)
        .order_by_asc(department::Column::Code)
        .all(st.db.conn())
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// One department (public).
pub async fn get(st: &AppState, id: Uuid) -> AppResult<DepartmentView> {
    department::Entity::find_by_id(id).one(st.db.conn()).await?.map(Into::into).ok_or_else(AppError::not_found)
}

async fn check_parent(st: &AppState, parent_id: Option<Uuid>, kind: Option<DepartmentKind>) -> AppResult<()> {
    match parent_id {
        None if kind == Some(DepartmentKind::School) => Ok(()),
        None => Err(AppError::field("parent_id", "required", "请选择上级部门", "A parent department is required")),
        Some(p) => {
            let exists = department::Entity::find_by_id(p).one(st.db.conn()).await?.is_some();
            if exists {
                Ok(())
            } else {
                Err(AppError::field("parent_id", "not_found", "上级部门不存在", "The parent department does not exist"))
            }
        }
    }
}

/// Create a department under a parent the caller manages.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateDepartment) -> AppResult<DepartmentView> {
    p.require_on(Permission::OrgManage, Target { owner_id: None, department_id: req.parent_id })?;
    check_parent(st, req.parent_id, Some(req.kind)).await?;
    if req.kind == DepartmentKind::School
        && department::Entity::find()
            .filter(department::Column::Kind.eq(DepartmentKind::School.as_str()))
            .count(st.db.conn())
            .await?
            > 0
    {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "只能有一个学校根节点",
            "There is only one school root",
        ));
    }
    let t = now();
    let txn = st.db.write().await?;
    if department::Entity::find().filter(department::Column::Code.eq(&req.code)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("code", "部门编码已被使用", "The code is already in use"));
    }
    let m = department::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_id: Set(req.parent_id),
        code: Set(req.code),
        name: Set(req.name.trim().to_owned()),
        name_en: Set(req.name_en),
        kind: Set(req.kind.as_str().to_owned()),
        sort_order: Set(req.sort_order),
        active: Set(true),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    let view = DepartmentView::from(m);
    audit::record(&*txn, ctx, Entry::new("department.create", "department", view.id).after(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

/// Update a department; `version` must match.
pub async fn update(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: UpdateDepartment,
) -> AppResult<DepartmentView> {
    let current = department::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if !p.may(Op::DepartmentUpdate, &Facts { owner_id: None, departments: &[Some(id)] }) {
        return Err(AppError::forbidden());
    }
    let kind = DepartmentKind::parse(&current.kind);
    if req.parent_id != current.parent_id {
        p.require_on(Permission::OrgManage, Target { owner_id: None, department_id: req.parent_id })?;
        check_parent(st, req.parent_id, kind).await?;
        if let Some(np) = req.parent_id
            && subtree(st.db.conn(), &[id]).await?.contains(&np)
        {
            return Err(AppError::field(
                "parent_id",
                "cycle",
                "不能把部门移到它自己的下级",
                "A department cannot move below itself",
            ));
        }
    }
    if !req.active && current.active {
        let members = user::Entity::find()
            .filter(user::Column::DepartmentId.eq(id))
            .filter(user::Column::Status.eq("active"))
            .count(st.db.conn())
            .await?;
        if members > 0 {
            return Err(AppError::detail(
                ErrorCode::InUse,
                format!("该部门还有 {members} 名在用人员，不能停用"),
                format!("{members} active users still belong to this department"),
            ));
        }
    }
    let before = DepartmentView::from(current);
    let txn = st.db.write().await?;
    let r = department::Entity::update_many()
        .col_expr(department::Column::ParentId, Expr::value(req.parent_id))
        .col_expr(department::Column::Name, Expr::value(req.name.trim()))
        .col_expr(department::Column::NameEn, Expr::value(req.name_en))
        .col_expr(department::Column::SortOrder, Expr::value(req.sort_order))
        .col_expr(department::Column::Active, Expr::value(req.active))
        .col_expr(department::Column::Version, Expr::col(department::Column::Version).add(1))
        .col_expr(department::Column::UpdatedAt, Expr::value(now()))
        .filter(department::Column::Id.eq(id))
        .filter(department::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let after: DepartmentView =
        department::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?.into();
    audit::record(&*txn, ctx, Entry::new("department.update", "department", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    Ok(after)
}
