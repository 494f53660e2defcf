//! Loading the [`Principal`] for a verified access token.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Statement, Value};
use uuid::Uuid;

use crate::entity::{position, role_permission, user, user_role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{Grant, Permission, Principal, Scope};

/// Position kind of a 分管院领导 entry (one row per supervised department).
pub const SUPERVISING_LEADER: &str = "supervising_leader";

/// Most users whose principals one instance keeps; past it the cache starts afresh.
const CACHE_CAPACITY: usize = 50_000;

/// Resolved principals of this instance, by user, each with the auth epoch of the account and the
/// authorisation version (`authz_version`, moved by triggers on every change to roles, positions
/// and departments) it was resolved at. A request reads both, with its session, in one query; a
/// principal is reused only while both still match, so a change made anywhere is in force on the
/// next request, on every instance.
#[derive(Debug, Default)]
pub struct PrincipalCache {
    map: Mutex<HashMap<Uuid, Cached>>,
}

#[derive(Debug)]
struct Cached {
    epoch: i32,
    version: i64,
    principal: Principal,
}

impl PrincipalCache {
    fn get(&self, user_id: Uuid, epoch: i32, version: i64) -> Option<Principal> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&user_id).filter(|c| c.epoch == epoch && c.version == version).map(|c| c.principal.clone())
    }

    fn put(&self, epoch: i32, version: i64, principal: &Principal) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_CAPACITY && !map.contains_key(&principal.user_id) {
            map.clear();
        }
        map.insert(principal.user_id, Cached { epoch, version, principal: principal.clone() });
    }

    /// How many principals are held.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The principal for the access token of `user_id` with auth epoch `epoch` and, for a sign-in
/// token, session `sid`. 401 when the session was revoked, the account disabled or its sessions
/// ended since the token was issued. One query checks all that and reads the authorisation
/// version; the grants come from `cache` unless something changed.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    cache: &PrincipalCache,
    user_id: Uuid,
    epoch: i32,
    sid: Option<Uuid>,
) -> AppResult<Principal> {
    let backend = db.get_database_backend();
    let (a, b) = if backend == DatabaseBackend::Postgres { ("$1", "$2") } else { ("?", "?") };
    let sql = format!(
        "SELECT u.status, u.auth_epoch, v.version, s.user_id AS session_user_id, s.revoked_at AS session_revoked_at \
         FROM users u CROSS JOIN authz_version v LEFT JOIN sessions s ON s.id = {b} \
         WHERE u.id = {a} AND v.id = 1"
    );
    // SQLite binds by position: the session comes first in the text.
    let values: Vec<Value> = if backend == DatabaseBackend::Postgres {
        vec![user_id.into(), Value::from(sid)]
    } else {
        vec![Value::from(sid), user_id.into()]
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::TokenInvalid))?;
    let status: String = row.try_get("", "status")?;
    let auth_epoch: i32 = row.try_get("", "auth_epoch")?;
    let version: i64 = row.try_get("", "version")?;
    if let Some(_sid) = sid {
        // A revoked session ends its access tokens at once, not when they expire.
        let owner: Option<Uuid> = row.try_get("", "session_user_id")?;
        let revoked: Option<chrono::DateTime<chrono::Utc>> = row.try_get("", "session_revoked_at")?;
        if owner != Some(user_id) || revoked.is_some() {
            return Err(AppError::code(ErrorCode::TokenInvalid));
        }
    }
    if status != "active" || auth_epoch != epoch {
        return Err(AppError::code(ErrorCode::TokenInvalid));
    }
    if let Some(p) = cache.get(user_id, epoch, version) {
        return Ok(p);
    }
    let u = user::Entity::find_by_id(user_id).one(db).await?.ok_or_else(|| AppError::code(ErrorCode::TokenInvalid))?;
    if u.status != "active" || u.auth_epoch != epoch {
        return Err(AppError::code(ErrorCode::TokenInvalid));
    }
    // Resolved after the version was read: a change that commits in between is at worst resolved
    // early and cached under the older version, which the next request no longer matches.
    let p = load_for_user(db, &u).await?;
    cache.put(epoch, version, &p);
    Ok(p)
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
