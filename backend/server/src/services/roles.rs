//! Roles and their permissions; built-in roles are kept equal to the code at start.

use std::collections::{BTreeSet, HashMap};

use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::unique_to_conflict;
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::org::{CreateRole, PermissionView, RoleView, UpdateRole};
use crate::entity::{role, role_permission, user_role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{BUILTIN_ROLES, Permission, Principal};
use crate::state::AppState;
use crate::time::now;

/// Every permission with its names.
pub fn permissions() -> Vec<PermissionView> {
    Permission::ALL
        .iter()
        .map(|p| {
            let (zh, en) = p.names();
            PermissionView { code: *p, name: zh.into(), name_en: en.into() }
        })
        .collect()
}

async fn views<C: ConnectionTrait>(db: &C, roles: Vec<role::Model>) -> AppResult<Vec<RoleView>> {
    let ids: Vec<Uuid> = roles.iter().map(|r| r.id).collect();
    let mut perms: HashMap<Uuid, Vec<Permission>> = HashMap::new();
    for rp in role_permission::Entity::find().filter(role_permission::Column::RoleId.is_in(ids)).all(db).await? {
        if let Some(p) = Permission::parse(&rp.permission) {
            perms.entry(rp.role_id).or_default().push(p);
        }
    }
    Ok(roles
        .into_iter()
        .map(|r| {
            let mut permissions = perms.remove(&r.id).unwrap_or_default();
            permissions.sort_by_key(|p| p.as_str());
            RoleView {
                id: r.id,
                code: r.code,
                name: r.name,
                name_en: r.name_en,
                description: r.description,
                builtin: r.builtin,
                permissions,
                version: r.version,
            }
        })
        .collect())
}

/// All roles.
pub async fn list(st: &AppState, p: &Principal) -> AppResult<Vec<RoleView>> {
    p.require(Permission::OrgRead)?;
    let roles = role::Entity::find()
        .order_by_desc(role::Column::Builtin)
        .order_by_asc(role::Column::Code)
        .all(st.db.conn())
        .await?;
    views(st.db.conn(), roles).await
}

/// One role.
pub async fn get(st: &AppState, p: &Principal, id: Uuid) -> AppResult<RoleView> {
    p.require(Permission::OrgRead)?;
    let r = role::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    Ok(views(st.db.conn(), vec![r]).await?.remove(0))
}

async fn set_permissions<C: ConnectionTrait>(db: &C, role_id: Uuid, perms: &BTreeSet<&'static str>) -> AppResult<()> {
    role_permission::Entity::delete_many().filter(role_permission::Column::RoleId.eq(role_id)).exec(db).await?;
    for p in perms {
        role_permission::ActiveModel { role_id: Set(role_id), permission: Set((*p).to_owned()) }.insert(db).await?;
    }
    Ok(())
}

/// Create a custom role.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateRole) -> AppResult<RoleView> {
    p.require(Permission::RoleManage)?;
    let perms: BTreeSet<&'static str> = req.permissions.iter().map(|p| p.as_str()).collect();
    let txn = st.db.write().await?;
    if role::Entity::find().filter(role::Column::Code.eq(&req.code)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("code", "角色编码已被使用", "The code is already in use"));
    }
    let t = now();
    let m = role::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(req.code),
        name: Set(req.name.trim().to_owned()),
        name_en: Set(req.name_en),
        description: Set(req.description),
        builtin: Set(false),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    set_permissions(&*txn, m.id, &perms).await?;
    let view = views(&*txn, vec![m]).await?.remove(0);
    audit::record(&*txn, ctx, Entry::new("role.create", "role", view.id).after(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

/// Update a custom role; built-in roles are fixed.
pub async fn update(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: UpdateRole) -> AppResult<RoleView> {
    p.require(Permission::RoleManage)?;
    let current = role::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if current.builtin {
        return Err(AppError::detail(ErrorCode::RuleViolation, "内置角色不能修改", "Built-in roles cannot be changed"));
    }
    let before = views(st.db.conn(), vec![current]).await?.remove(0);
    let perms: BTreeSet<&'static str> = req.permissions.iter().map(|p| p.as_str()).collect();
    let txn = st.db.write().await?;
    let r = role::Entity::update_many()
        .col_expr(role::Column::Name, Expr::value(req.name.trim()))
        .col_expr(role::Column::NameEn, Expr::value(req.name_en))
        .col_expr(role::Column::Description, Expr::value(req.description))
        .col_expr(role::Column::Version, Expr::col(role::Column::Version).add(1))
        .col_expr(role::Column::UpdatedAt, Expr::value(now()))
        .filter(role::Column::Id.eq(id))
        .filter(role::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    set_permissions(&*txn, id, &perms).await?;
    let m = role::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let after = views(&*txn, vec![m]).await?.remove(0);
    audit::record(&*txn, ctx, Entry::new("role.update", "role", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// Delete a custom role that nobody holds.
pub async fn delete(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, version: i32) -> AppResult<()> {
    p.require(Permission::RoleManage)?;
    let current = role::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if current.builtin {
        return Err(AppError::detail(ErrorCode::RuleViolation, "内置角色不能删除", "Built-in roles cannot be deleted"));
    }
    let txn = st.db.write().await?;
    let holders = user_role::Entity::find().filter(user_role::Column::RoleId.eq(id)).count(&*txn).await?;
    if holders > 0 {
        return Err(AppError::detail(
            ErrorCode::InUse,
            format!("仍有 {holders} 个账号持有该角色"),
            format!("{holders} accounts still hold this role"),
        ));
    }
    let before = views(&*txn, vec![current]).await?.remove(0);
    let r = role::Entity::delete_many()
        .filter(role::Column::Id.eq(id))
        .filter(role::Column::Version.eq(version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(&*txn, ctx, Entry::new("role.delete", "role", id).before(&before)).await?;
    txn.commit().await?;
    Ok(())
}

/// Create missing built-in roles and set their permissions to what the code says.
pub async fn sync_builtin<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    for b in BUILTIN_ROLES {
        let existing = role::Entity::find().filter(role::Column::Code.eq(b.code)).one(db).await?;
        let id = match existing {
            Some(r) => r.id,
            None => {
                let t = now();
                role::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    code: Set(b.code.into()),
                    name: Set(b.name.into()),
                    name_en: Set(Some(b.name_en.into())),
                    description: Set(b.description.into()),
                    builtin: Set(true),
                    version: Set(1),
                    created_at: Set(t),
                    updated_at: Set(t),
                }
                .insert(db)
                .await?
                .id
            }
        };
        let want: BTreeSet<&'static str> = b.permissions.iter().map(|p| p.as_str()).collect();
        let have: BTreeSet<String> = role_permission::Entity::find()
            .filter(role_permission::Column::RoleId.eq(id))
            .all(db)
            .await?
            .into_iter()
            .map(|rp| rp.permission)
            .collect();
        if have.iter().map(String::as_str).ne(want.iter().copied()) {
            set_permissions(db, id, &want).await?;
        }
    }
    Ok(())
}
