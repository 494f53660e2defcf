//! Loading the [`Principal`] for a verified access token.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, Value};
use uuid::Uuid;

use crate::entity::{position, role_permission, user, user_role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Grant, Permission, Principal, Scope};

/// Position kind of a 分管院领导 entry (one row per supervised department).
pub const SUPERVISING_LEADER: &str = "supervising_leader";

/// Load the principal for `user_id` whose token carries `epoch`; 401 when the account was disabled
/// or its sessions were revoked since the token was issued.
pub async fn load<C: ConnectionTrait>(db: &C, user_id: Uuid, epoch: i32) -> AppResult<Principal> {
    let u = user::Entity::find_by_id(user_id).one(db).await?.ok_or_else(|| AppError::code(ErrorCode::TokenInvalid))?;
    if u.status != "active" || u.auth_epoch != epoch {
        return Err(AppError::code(ErrorCode::TokenInvalid));
    }
    load_for_user(db, &u).await
}

/// Resolve a user's grants.
pub async fn load_for_user<C: ConnectionTrait>(db: &C, u: &user::Model) -> AppResult<Principal> {
    let assignments = user_role::Entity::find().filter(user_role::Column::UserId.eq(u.id)).all(db).await?;
    let role_ids: Vec<Uuid> = assignments.iter().map(|a| a.role_id).collect();
    let perms = if role_ids.is_empty() {
        Vec::new()
    } else {
        role_permission::Entity::find().filter(role_permission::Column::RoleId.is_in(role_ids)).all(db).await?
    };
    let mut by_role: HashMap<Uuid, Vec<Permission>> = HashMap::new();
    for p in perms {
        if let Some(perm) = Permission::parse(&p.permission) {
            by_role.entry(p.role_id).or_default().push(perm);
        }
    }

    let needs_supervised = assignments.iter().any(|a| a.scope == Scope::Supervised.as_str());
    let supervised_roots: Vec<Uuid> = if needs_supervised {
        position::Entity::find()
            .filter(position::Column::UserId.eq(u.id))
            .filter(position::Column::Kind.eq(SUPERVISING_LEADER))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|p| p.department_id)
            .collect()
    } else {
        Vec::new()
    };
    let supervised = subtree(db, &supervised_roots).await?;

    let mut subtree_cache: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    let mut grants = Vec::new();
    for a in &assignments {
        let Some(scope) = Scope::parse(&a.scope) else { continue };
        let departments = match scope {
            Scope::Department => match a.department_id.or(u.department_id) {
                Some(root) => {
                    if let Some(s) = subtree_cache.get(&root) {
                        s.clone()
                    } else {
                        let s = subtree(db, &[root]).await?;
                        subtree_cache.insert(root, s.clone());
                        s
                    }
                }
                None => HashSet::new(),
            },
            Scope::Supervised => supervised.clone(),
            Scope::Own | Scope::All => HashSet::new(),
        };
        for perm in by_role.get(&a.role_id).into_iter().flatten() {
            grants.push(Grant { permission: *perm, scope, departments: departments.clone() });
        }
    }
    Ok(Principal {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        department_id: u.department_id,
        grants,
    })
}

/// The given departments and all departments below them.
pub async fn subtree<C: ConnectionTrait>(db: &C, roots: &[Uuid]) -> AppResult<HashSet<Uuid>> {
    if roots.is_empty() {
        return Ok(HashSet::new());
    }
    let backend = db.get_database_backend();
    let placeholders: Vec<String> = (1..=roots.len())
        .map(|i| if backend == sea_orm::DatabaseBackend::Postgres { format!("${i}") } else { "?".to_owned() })
        .collect();
    let sql = format!(
        "WITH RECURSIVE sub(id) AS (SELECT id FROM departments WHERE id IN ({}) \
         UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id) SELECT id FROM sub",
        placeholders.join(", ")
    );
    let values: Vec<Value> = roots.iter().map(|r| Value::from(*r)).collect();
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut out = HashSet::new();
    for r in rows {
        out.insert(r.try_get::<Uuid>("", "id")?);
    }
    Ok(out)
}
