//! User accounts and their roles.

use std::collections::HashSet;

use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{like_pattern, unique_to_conflict};
use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::auth::{password, service::revoke_all_sessions};
use crate::dto::common::{Page, PageQuery};
use crate::dto::org::{
    CreateUser, PeopleQuery, PersonCard, ResetPassword, RoleAssignmentView, SetUserRoles, UpdateUser, UserKind,
    UserQuery, UserRolesView, UserStatus, UserView,
};
use crate::entity::{department, role, role_permission, user, user_role};
use crate::error::{AppError, AppResult, ErrorCode, FieldError, Msg};
use crate::policy::{DataScope, Permission, Principal, Scope, Target};
use crate::state::AppState;
use crate::time::now;

fn target(u: &user::Model) -> Target {
    Target { owner_id: Some(u.id), department_id: u.department_id }
}

async fn find(st: &AppState, id: Uuid) -> AppResult<user::Model> {
    user::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)
}

/// Users the caller may see (org.read), filtered and paged.
pub async fn list(st: &AppState, p: &Principal, q: &UserQuery, page: &PageQuery) -> AppResult<Page<UserView>> {
    let scope = p.scope(Permission::OrgRead).ok_or_else(AppError::forbidden)?;
    let mut find = user::Entity::find();
    if let DataScope::Limited { departments, owner } = scope {
        let mut c = Condition::any().add(user::Column::DepartmentId.is_in(departments));
        if let Some(o) = owner {
            c = c.add(user::Column::Id.eq(o));
        }
        find = find.filter(c);
    }
    if let Some(d) = q.department_id {
        find = find.filter(user::Column::DepartmentId.eq(d));
    }
    if let Some(ids) = q.ids.as_deref().filter(|s| !s.trim().is_empty()) {
        let parsed: Result<Vec<Uuid>, _> = ids.split(',').map(|s| s.trim().parse::<Uuid>()).collect();
        let parsed = parsed.map_err(|_| AppError::field("ids", "invalid", "用户编号无效", "Invalid user id"))?;
        if parsed.len() > 100 {
            return Err(AppError::field("ids", "too_many", "最多 100 个", "At most 100 ids"));
        }
        find = find.filter(user::Column::Id.is_in(parsed));
    }
    if let Some(k) = q.kind {
        find = find.filter(user::Column::Kind.eq(k.as_str()));
    }
    if let Some(s) = q.status {
        find = find.filter(user::Column::Status.eq(s.as_str()));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pat = like_pattern(text);
        let like = |c: user::Column| Expr::col(c).like(LikeExpr::new(&pat).escape('\\'));
        find = find.filter(
            Condition::any()
                .add(like(user::Column::Username))
                .add(like(user::Column::DisplayName))
                .add(like(user::Column::StudentNo))
                .add(like(user::Column::StaffNo)),
        );
    }
    let paginator = find.order_by_asc(user::Column::Username).paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, page: page.page(), page_size: page.size() })
}

/// The campus directory for pickers (transfer, delegate, add signers, user fields, picks): active
/// staff by name, username or 工号, with their department — nothing more personal, at most 20.
/// Students are not listed: a student's record is read through `org.read` only.
pub async fn people(st: &AppState, q: &PeopleQuery) -> AppResult<Vec<PersonCard>> {
    let db = st.db.conn();
    let text = q.q.trim();
    if text.is_empty() {
        return Err(AppError::field("q", "required", "请输入姓名或工号", "Type a name or staff number"));
    }
    let pat = like_pattern(text);
    let mut find = user::Entity::find()
        .filter(user::Column::Status.eq(UserStatus::Active.as_str()))
        .filter(user::Column::Kind.eq(UserKind::Staff.as_str()))
        .filter(
            Condition::any()
                .add(Expr::col(user::Column::DisplayName).like(LikeExpr::new(&pat).escape('\\')))
                .add(user::Column::Username.eq(text))
                .add(user::Column::StaffNo.eq(text)),
        );
    if let Some(d) = q.department_id {
        let below: Vec<Uuid> = crate::auth::principal::subtree(db, &[d]).await?.into_iter().collect();
        find = find.filter(user::Column::DepartmentId.is_in(below));
    }
    let rows = find.order_by_asc(user::Column::DisplayName).order_by_asc(user::Column::Id).limit(20).all(db).await?;
    let depts: std::collections::HashMap<Uuid, String> = department::Entity::find()
        .filter(department::Column::Id.is_in(rows.iter().filter_map(|u| u.department_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|u| PersonCard {
            id: u.id,
            name: u.display_name,
            department_id: u.department_id,
            department_name: u.department_id.and_then(|d| depts.get(&d).cloned()),
        })
        .collect())
}

/// One user; the read of personal data is audited.
pub async fn get(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid) -> AppResult<UserView> {
    let u = find(st, id).await?;
    if !p.may(Op::UserRead, &Facts { owner_id: Some(u.id), departments: &[u.department_id] }) {
        return Err(AppError::not_found());
    }
    if u.id != p.user_id {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("user.read", "user", u.id)).await?;
        txn.commit().await?;
    }
    Ok(u.into())
}

async fn check_identity_fields<C: ConnectionTrait>(
    db: &C,
    exclude: Option<Uuid>,
    kind: UserKind,
    student_no: &Option<String>,
    staff_no: &Option<String>,
    department_id: Option<Uuid>,
) -> AppResult<()> {
    let mut errors = Vec::new();
    if kind == UserKind::Student && student_no.is_none() {
        errors.push(FieldError::new("student_no", "required", Msg::new("学生须填写学号", "Students need a 学号")));
    }
    if kind == UserKind::Staff && staff_no.is_none() {
        errors.push(FieldError::new("staff_no", "required", Msg::new("教职工须填写工号", "Staff need a 工号")));
    }
    for (field, col, value) in
        [("student_no", user::Column::StudentNo, student_no), ("staff_no", user::Column::StaffNo, staff_no)]
    {
        if let Some(v) = value {
            let mut f = user::Entity::find().filter(col.eq(v.as_str()));
            if let Some(id) = exclude {
                f = f.filter(user::Column::Id.ne(id));
            }
            if f.one(db).await?.is_some() {
                errors.push(FieldError::new(
                    field,
                    "taken",
                    Msg::new("该编号已被其他账号使用", "Already used by another account"),
                ));
            }
        }
    }
    if let Some(d) = department_id {
        match department::Entity::find_by_id(d).one(db).await? {
            None => {
                errors.push(FieldError::new("department_id", "not_found", Msg::new("部门不存在", "No such department")))
            }
            Some(dep) if !dep.active => errors.push(FieldError::new(
                "department_id",
                "inactive",
                Msg::new("部门已停用", "The department is inactive"),
            )),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else if errors.iter().all(|e| e.code == "taken") {
        Err(AppError::Client { code: ErrorCode::AlreadyExists, detail: None, errors, retry_after: None })
    } else {
        Err(AppError::fields(errors))
    }
}

/// Create an account in a department the caller manages.
pub async fn create(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateUser) -> AppResult<UserView> {
    p.require_on(Permission::UserManage, Target { owner_id: None, department_id: req.department_id })?;
    if req.kind == UserKind::System {
        return Err(AppError::field(
            "kind",
            "system",
            "接口账号随 API 客户端创建",
            "System accounts come with API clients",
        ));
    }
    let hash = match &req.password {
        Some(pw) => {
            password::check_policy(&st.settings.password_policy, "password", &req.username, pw)?;
            Some(password::hash(pw.clone()).await?)
        }
        None => None,
    };
    let txn = st.db.write().await?;
    if user::Entity::find().filter(user::Column::Username.eq(&req.username)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("username", "用户名已被使用", "The username is taken"));
    }
    check_identity_fields(&*txn, None, req.kind, &req.student_no, &req.staff_no, req.department_id).await?;
    let t = now();
    let m = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(req.username),
        display_name: Set(req.display_name.trim().to_owned()),
        kind: Set(req.kind.as_str().to_owned()),
        student_no: Set(req.student_no),
        staff_no: Set(req.staff_no),
        department_id: Set(req.department_id),
        email: Set(req.email),
        phone: Set(req.phone),
        password_hash: Set(hash),
        status: Set(UserStatus::Active.as_str().to_owned()),
        auth_epoch: Set(0),
        password_changed_at: Set(req.password.as_ref().map(|_| t)),
        last_login_at: Set(None),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await
    .map_err(unique_to_conflict)?;
    // Every account can apply for services.
    if let Some(applicant) = role::Entity::find().filter(role::Column::Code.eq("applicant")).one(&*txn).await? {
        insert_assignment(&*txn, m.id, applicant.id, Scope::Own, None).await?;
    }
    let view = UserView::from(m);
    audit::record(&*txn, ctx, Entry::new("user.create", "user", view.id).after(&view)).await?;
    txn.commit().await?;
    Ok(view)
}

/// Update an account; disabling it ends its sessions.
pub async fn update(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: UpdateUser) -> AppResult<UserView> {
    let current = find(st, id).await?;
    if !p.can_on(Permission::OrgRead, target(&current)) && !p.can_on(Permission::UserManage, target(&current)) {
        return Err(AppError::not_found());
    }
    if !p.may(Op::UserUpdate, &Facts { owner_id: Some(current.id), departments: &[current.department_id] }) {
        return Err(AppError::forbidden());
    }
    if current.kind == UserKind::System.as_str() || req.kind == UserKind::System {
        return Err(AppError::detail(
            crate::error::ErrorCode::RuleViolation,
            "接口账号随 API 客户端管理",
            "System accounts are managed with their API clients",
        ));
    }
    if req.department_id != current.department_id {
        p.require_on(Permission::UserManage, Target { owner_id: None, department_id: req.department_id })?;
    }
    if id == p.user_id && req.status == UserStatus::Disabled {
        return Err(AppError::detail(
            crate::error::ErrorCode::RuleViolation,
            "不能停用自己的账号",
            "You cannot disable your own account",
        ));
    }
    let txn = st.db.write().await?;
    check_identity_fields(&*txn, Some(id), req.kind, &req.student_no, &req.staff_no, req.department_id).await?;
    let before = UserView::from(current.clone());
    let r = user::Entity::update_many()
        .col_expr(user::Column::DisplayName, Expr::value(req.display_name.trim()))
        .col_expr(user::Column::Kind, Expr::value(req.kind.as_str()))
        .col_expr(user::Column::StudentNo, Expr::value(req.student_no))
        .col_expr(user::Column::StaffNo, Expr::value(req.staff_no))
        .col_expr(user::Column::DepartmentId, Expr::value(req.department_id))
        .col_expr(user::Column::Email, Expr::value(req.email))
        .col_expr(user::Column::Phone, Expr::value(req.phone))
        .col_expr(user::Column::Status, Expr::value(req.status.as_str()))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Version.eq(req.version))
        .exec(&*txn)
        .await
        .map_err(unique_to_conflict)?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    if req.status == UserStatus::Disabled && current.status != UserStatus::Disabled.as_str() {
        revoke_all_sessions(&*txn, id, "disabled").await?;
    }
    let after: UserView = user::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?.into();
    audit::record(&*txn, ctx, Entry::new("user.update", "user", id).before(&before).after(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// An administrator sets a new password; every session of the user ends.
pub async fn reset_password(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: ResetPassword,
) -> AppResult<UserView> {
    let current = find(st, id).await?;
    if !p.can_on(Permission::UserManage, target(&current)) {
        return Err(if p.can_on(Permission::OrgRead, target(&current)) {
            AppError::forbidden()
        } else {
            AppError::not_found()
        });
    }
    if current.kind == UserKind::System.as_str() {
        return Err(AppError::detail(
            crate::error::ErrorCode::RuleViolation,
            "接口账号不能用密码登录，请轮换 API 客户端的密钥",
            "System accounts have no password; rotate the API client's secret",
        ));
    }
    password::check_policy(&st.settings.password_policy, "password", &current.username, &req.password)?;
    let hash = password::hash(req.password).await?;
    let txn = st.db.write().await?;
    let r = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::PasswordChangedAt, Expr::value(now()))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    revoke_all_sessions(&*txn, id, "password_reset").await?;
    audit::record(&*txn, ctx, Entry::new("user.reset_password", "user", id)).await?;
    let after: UserView = user::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?.into();
    txn.commit().await?;
    Ok(after)
}

async fn insert_assignment<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    role_id: Uuid,
    scope: Scope,
    department_id: Option<Uuid>,
) -> AppResult<()> {
    user_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        role_id: Set(role_id),
        scope: Set(scope.as_str().to_owned()),
        department_id: Set(department_id),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The roles a user holds.
pub async fn roles_of<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Vec<RoleAssignmentView>> {
    let assignments = user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .order_by_asc(user_role::Column::CreatedAt)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = assignments.iter().map(|a| a.role_id).collect();
    let roles = role::Entity::find().filter(role::Column::Id.is_in(ids)).all(db).await?;
    Ok(assignments
        .into_iter()
        .filter_map(|a| {
            let r = roles.iter().find(|r| r.id == a.role_id)?;
            Some(RoleAssignmentView {
                role_id: a.role_id,
                role_code: r.code.clone(),
                role_name: r.name.clone(),
                scope: Scope::parse(&a.scope)?,
                department_id: a.department_id,
            })
        })
        .collect())
}

/// Read a user's roles.
pub async fn get_roles(st: &AppState, p: &Principal, id: Uuid) -> AppResult<UserRolesView> {
    let u = find(st, id).await?;
    if u.id != p.user_id && !p.can_on(Permission::OrgRead, target(&u)) {
        return Err(AppError::not_found());
    }
    Ok(UserRolesView { roles: roles_of(st.db.conn(), id).await?, version: u.version })
}

/// Replace a user's roles. Nobody grants more than they hold: every permission of an assigned role
/// must be held by the caller, and `all` scope needs `user.manage` with `all` scope.
pub async fn set_roles(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: SetUserRoles,
) -> AppResult<UserRolesView> {
    let u = find(st, id).await?;
    if !p.can_on(Permission::UserManage, target(&u)) {
        return Err(if p.can_on(Permission::OrgRead, target(&u)) {
            AppError::forbidden()
        } else {
            AppError::not_found()
        });
    }
    let held: HashSet<Permission> = p.permissions().into_iter().collect();
    let manage_all = p.scope(Permission::UserManage) == Some(DataScope::All);
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, a) in req.roles.iter().enumerate() {
        let field = format!("roles[{i}]");
        if !seen.insert((a.role_id, a.scope, a.department_id)) {
            errors.push(FieldError::new(&field, "duplicate", Msg::new("重复的角色分配", "Duplicate assignment")));
            continue;
        }
        let Some(r) = role::Entity::find_by_id(a.role_id).one(st.db.conn()).await? else {
            errors.push(FieldError::new(
                format!("{field}.role_id"),
                "not_found",
                Msg::new("角色不存在", "No such role"),
            ));
            continue;
        };
        let perms =
            role_permission::Entity::find().filter(role_permission::Column::RoleId.eq(r.id)).all(st.db.conn()).await?;
        if perms.iter().any(|rp| Permission::parse(&rp.permission).is_none_or(|perm| !held.contains(&perm))) {
            return Err(AppError::detail(
                crate::error::ErrorCode::Forbidden,
                format!("不能授予超出自身权限的角色“{}”", r.name),
                format!("You cannot grant the role {} whose permissions exceed yours", r.code),
            ));
        }
        if a.scope == Scope::All && !manage_all {
            return Err(AppError::detail(
                crate::error::ErrorCode::Forbidden,
                "无权授予全校范围的角色",
                "You cannot grant school-wide scope",
            ));
        }
        if let Some(d) = a.department_id {
            if department::Entity::find_by_id(d).one(st.db.conn()).await?.is_none() {
                errors.push(FieldError::new(
                    format!("{field}.department_id"),
                    "not_found",
                    Msg::new("部门不存在", "No such department"),
                ));
                continue;
            }
            p.require_on(Permission::UserManage, Target { owner_id: None, department_id: Some(d) })?;
        }
        if a.department_id.is_some() && a.scope != Scope::Department {
            errors.push(FieldError::new(
                format!("{field}.department_id"),
                "not_allowed",
                Msg::new("只有部门范围的角色可以指定部门", "Only department scope takes a department"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let txn = st.db.write().await?;
    let r = user::Entity::update_many()
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    let before = roles_of(&*txn, id).await?;
    user_role::Entity::delete_many().filter(user_role::Column::UserId.eq(id)).exec(&*txn).await?;
    for a in &req.roles {
        insert_assignment(&*txn, id, a.role_id, a.scope, a.department_id).await?;
    }
    let after = roles_of(&*txn, id).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("user.set_roles", "user", id)
            .before(&serde_json::json!({ "roles": before }))
            .after(&serde_json::json!({ "roles": after })),
    )
    .await?;
    txn.commit().await?;
    Ok(UserRolesView { roles: after, version: req.version.saturating_add(1) })
}

/// Count of users (for readiness of the demo seed and tests).
pub async fn count<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    Ok(user::Entity::find().count(db).await?)
}

/// Create a school-wide IT-office administrator from the command line (first install).
pub async fn create_admin(
    db: &crate::db::Db,
    settings: &crate::config::Settings,
    username: &str,
    display_name: &str,
    pw: &str,
) -> AppResult<Uuid> {
    crate::dto::org::validate_username(username)
        .map_err(|_| AppError::field("username", "username_format", "用户名格式不正确", "Invalid username"))?;
    password::check_policy(&settings.password_policy, "password", username, pw)?;
    let hash = password::hash(pw.to_owned()).await?;
    let txn = db.write().await?;
    if user::Entity::find().filter(user::Column::Username.eq(username)).one(&*txn).await?.is_some() {
        return Err(AppError::taken("username", "用户名已被使用", "The username is taken"));
    }
    let t = now();
    let id = Uuid::now_v7();
    user::ActiveModel {
        id: Set(id),
        username: Set(username.to_owned()),
        display_name: Set(display_name.to_owned()),
        kind: Set(UserKind::Staff.as_str().to_owned()),
        student_no: Set(None),
        staff_no: Set(None),
        department_id: Set(None),
        email: Set(None),
        phone: Set(None),
        password_hash: Set(Some(hash)),
        status: Set(UserStatus::Active.as_str().to_owned()),
        auth_epoch: Set(0),
        password_changed_at: Set(Some(t)),
        last_login_at: Set(None),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    for (code, scope) in [("it_admin", Scope::All), ("applicant", Scope::Own)] {
        let r = role::Entity::find()
            .filter(role::Column::Code.eq(code))
            .one(&*txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("built-in role {code} missing")))?;
        insert_assignment(&*txn, id, r.id, scope, None).await?;
    }
    let ctx = AuditCtx { actor_name: Some("cli".into()), ..Default::default() };
    audit::record(&*txn, &ctx, Entry::new("user.create_admin", "user", id)).await?;
    txn.commit().await?;
    Ok(id)
}
