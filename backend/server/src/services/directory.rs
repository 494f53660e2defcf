//! The organisation as the workflow engine sees it: assignee rules resolved over departments,
//! positions and role grants loaded before a command runs (the engine itself does no I/O).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Statement};
use tongban_engine::calendar::WorkCalendar;
use tongban_engine::exec::{Directory, Instance, ResolveContext, resolve_from_data};
use tongban_engine::model::{AssigneeRule, LeaderOf, NodeKind, ProcessDefinition, UserId};
use uuid::Uuid;

use crate::entity::{absence, department, position, role, user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::Scope;

/// What a command's rules may ask about, so only that is loaded.
#[derive(Debug, Default)]
pub struct Needs {
    /// Codes of the roles named by `role` rules.
    pub role_codes: BTreeSet<String>,
    /// People involved: the applicant, handlers, named users, users chosen in the form or picked.
    pub users: BTreeSet<Uuid>,
}

impl Needs {
    /// What running `def` on `inst` may need.
    pub fn of(def: &ProcessDefinition, inst: &Instance) -> Needs {
        let mut n = Needs::default();
        for node in &def.nodes {
            let rules: &[AssigneeRule] = match &node.kind {
                NodeKind::UserTask { assignees, .. } => assignees,
                NodeKind::Cc { recipients } => recipients,
                _ => &[],
            };
            for r in rules {
                match r {
                    AssigneeRule::Role { code } => {
                        n.role_codes.insert(code.clone());
                    }
                    AssigneeRule::Users { users } => {
                        n.users.extend(users.iter().filter_map(|u| u.as_str().parse::<Uuid>().ok()))
                    }
                    _ => {}
                }
            }
        }
        n.users.extend(def.admins.iter().filter_map(|u| u.as_str().parse::<Uuid>().ok()));
        let parse = |u: &UserId| u.as_str().parse::<Uuid>().ok();
        n.users.extend(parse(&inst.applicant));
        for t in &inst.tasks {
            n.users.extend(
                t.assignee.iter().chain(t.original_assignee.iter()).chain(t.candidates.iter()).filter_map(parse),
            );
        }
        n.users.extend(inst.picks.values().flatten().filter_map(parse));
        collect_ids(&inst.form, &mut n.users);
        n
    }

    /// Just these people.
    pub fn users(users: impl IntoIterator<Item = Uuid>) -> Needs {
        Needs { role_codes: BTreeSet::new(), users: users.into_iter().collect() }
    }

    /// Add the people a command names (picks, transfer targets, added signers, form fields).
    pub fn with(mut self, users: impl IntoIterator<Item = Uuid>) -> Needs {
        self.users.extend(users);
        self
    }
}

/// Every string in form data that is a user id (user fields, tables of them).
pub fn collect_ids(v: &serde_json::Value, out: &mut BTreeSet<Uuid>) {
    match v {
        serde_json::Value::String(s) => out.extend(s.parse::<Uuid>().ok()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_ids(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_ids(x, out)),
        _ => {}
    }
}

/// A role grant as rules need it.
struct Grant {
    user: Uuid,
    scope: Scope,
    anchor: Option<Uuid>,
}

/// The department tree and the positions, which every command's rules read: loaded once per
/// instance and shared until `authz_version.version` moves (triggers move it on every change to
/// departments and positions, see the `authz_version` migration).
pub struct OrgTree {
    parents: HashMap<Uuid, Option<Uuid>>,
    codes: HashMap<String, Uuid>,
    positions: Vec<position::Model>,
}

impl OrgTree {
    async fn load<C: ConnectionTrait>(db: &C) -> AppResult<OrgTree> {
        let mut parents = HashMap::new();
        let mut codes = HashMap::new();
        for d in department::Entity::find().all(db).await? {
            parents.insert(d.id, d.parent_id);
            codes.insert(d.code, d.id);
        }
        let positions = position::Entity::find().all(db).await?;
        Ok(OrgTree { parents, codes, positions })
    }
}

/// What commands read and seldom changes, kept per instance: the [`OrgTree`] under
/// `authz_version.version` and the working-day calendar under `authz_version.calendar` (moved
/// by triggers on `holiday_years`). A command reads both counters in one query, in its own
/// transaction, and loads a part again only when its counter moved, so a change made through
/// any instance, a restore or plain SQL is in force for the next command everywhere.
#[derive(Default)]
pub struct CommandCache {
    tree: Mutex<Option<(i64, Arc<OrgTree>)>>,
    calendar: Mutex<Option<(i64, Arc<WorkCalendar>)>>,
}

impl CommandCache {
    /// The directory and calendar for a command, in the command's transaction `db`.
    pub async fn load<C: ConnectionTrait>(
        &self,
        db: &C,
        process_department: Option<Uuid>,
        needs: Needs,
    ) -> AppResult<(OrgDirectory, Arc<WorkCalendar>)> {
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(backend, "SELECT version, calendar FROM authz_version WHERE id = 1"))
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("authz_version has no row")))?;
        let (org_version, calendar_version): (i64, i64) = (row.try_get("", "version")?, row.try_get("", "calendar")?);
        // Loaded after the counter was read: a change committed in between is at worst loaded
        // early and kept under the older counter, which the next command no longer matches.
        let tree = match fresh(&self.tree, org_version) {
            Some(t) => t,
            None => {
                let t = Arc::new(OrgTree::load(db).await?);
                *lock(&self.tree) = Some((org_version, t.clone()));
                t
            }
        };
        let cal = match fresh(&self.calendar, calendar_version) {
            Some(c) => c,
            None => {
                let c = Arc::new(crate::services::calendar::load(db).await?);
                *lock(&self.calendar) = Some((calendar_version, c.clone()));
                c
            }
        };
        let dir = OrgDirectory::load(db, tree, process_department, needs).await?;
        Ok((dir, cal))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What `slot` holds, if it was loaded under `version`.
fn fresh<T>(slot: &Mutex<Option<(i64, Arc<T>)>>, version: i64) -> Option<Arc<T>> {
    lock(slot).as_ref().filter(|(v, _)| *v == version).map(|(_, x)| x.clone())
}

/// A snapshot of the organisation for one command.
pub struct OrgDirectory {
    tree: Arc<OrgTree>,
    grants: HashMap<String, Vec<Grant>>,
    user_dept: HashMap<Uuid, Option<Uuid>>,
    inactive: HashSet<Uuid>,
    process_department: Option<Uuid>,
    absences: HashMap<Uuid, Vec<Away>>,
}

/// An absence as `deputy` needs it.
struct Away {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    process_keys: Vec<String>,
    deputy: Uuid,
}

/// How far from now absences are loaded: a command's `now` is read right after loading.
const ABSENCE_MARGIN: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl OrgDirectory {
    /// Load what the rules can ask about on top of `tree` (all departments and positions): the
    /// grants of the roles the rules name, the absences in force, and the accounts of the people
    /// involved — not the whole user table.
    async fn load<C: ConnectionTrait>(
        db: &C,
        tree: Arc<OrgTree>,
        process_department: Option<Uuid>,
        needs: Needs,
    ) -> AppResult<OrgDirectory> {
        let Needs { role_codes, mut users } = needs;
        users.extend(tree.positions.iter().map(|p| p.user_id));
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        if !role_codes.is_empty() {
            let roles: HashMap<Uuid, String> = role::Entity::find()
                .filter(role::Column::Code.is_in(role_codes.iter().cloned()))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.id, r.code))
                .collect();
            for a in
                user_role::Entity::find().filter(user_role::Column::RoleId.is_in(roles.keys().copied())).all(db).await?
            {
                if let (Some(code), Some(scope)) = (roles.get(&a.role_id), Scope::parse(&a.scope)) {
                    users.insert(a.user_id);
                    grants.entry(code.clone()).or_default().push(Grant {
                        user: a.user_id,
                        scope,
                        anchor: a.department_id,
                    });
                }
            }
        }
        let t = crate::time::now();
        let mut absences: HashMap<Uuid, Vec<Away>> = HashMap::new();
        for a in absence::Entity::find()
            .filter(absence::Column::StartsAt.lte(t + ABSENCE_MARGIN))
            .filter(absence::Column::EndsAt.gt(t - ABSENCE_MARGIN))
            .all(db)
            .await?
        {
            let process_keys = serde_json::from_value(a.process_keys).unwrap_or_default();
            absences.entry(a.user_id).or_default().push(Away {
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                process_keys,
                deputy: a.deputy_id,
            });
        }
        for a in absences.values().flatten() {
            users.insert(a.deputy);
        }
        users.extend(absences.keys().copied());
        let mut user_dept = HashMap::new();
        let mut inactive = HashSet::new();
        let ids: Vec<Uuid> = users.into_iter().collect();
        for chunk in ids.chunks(5000) {
            let rows: Vec<(Uuid, Option<Uuid>, String)> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::DepartmentId)
                .column(user::Column::Status)
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, dept, status) in rows {
                user_dept.insert(id, dept);
                if status != "active" {
                    inactive.insert(id);
                }
            }
        }
        Ok(OrgDirectory { tree, grants, user_dept, inactive, process_department, absences })
    }

    /// The department and its ancestors, nearest first.
    fn chain(&self, dept: Option<Uuid>) -> Vec<Uuid> {
        let mut out = Vec::new();
        let mut cur = dept;
        while let Some(d) = cur {
            if out.contains(&d) || out.len() > 64 {
                break;
            }
            out.push(d);
            cur = self.tree.parents.get(&d).copied().flatten();
        }
        out
    }

    /// Holders of `kind` at the nearest department up the chain that has one.
    fn nearest(&self, kind: &str, dept: Option<Uuid>) -> Vec<Uuid> {
        for d in self.chain(dept) {
            let found: Vec<Uuid> = self
                .tree
                .positions
                .iter()
                .filter(|p| p.kind == kind && p.department_id == Some(d))
                .map(|p| p.user_id)
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    fn supervises(&self, user: Uuid, dept: Uuid) -> bool {
        let chain = self.chain(Some(dept));
        self.tree.positions.iter().any(|p| {
            p.user_id == user && p.kind == "supervising_leader" && p.department_id.is_some_and(|d| chain.contains(&d))
        })
    }

    fn grant_reaches(&self, g: &Grant, dept: Uuid) -> bool {
        match g.scope {
            Scope::All => true,
            Scope::Own => false,
            Scope::Department => {
                let anchor = g.anchor.or_else(|| self.user_dept.get(&g.user).copied().flatten());
                anchor.is_some_and(|a| self.chain(Some(dept)).contains(&a))
            }
            Scope::Supervised => self.supervises(g.user, dept),
        }
    }

    /// The departments a rule means, in the order the form lists them.
    fn departments(&self, of: &LeaderOf, ctx: &ResolveContext<'_>, applicant_dept: Option<Uuid>) -> Vec<Uuid> {
        match of {
            LeaderOf::ApplicantDepartment => applicant_dept.into_iter().collect(),
            LeaderOf::Department(code) => self.tree.codes.get(code).copied().into_iter().collect(),
            LeaderOf::ProcessDepartment => self.process_department.into_iter().collect(),
            LeaderOf::Field(key) => {
                let ids: Vec<&str> = match ctx.form.get(key) {
                    Some(serde_json::Value::String(s)) => vec![s.as_str()],
                    Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
                    _ => Vec::new(),
                };
                ids.into_iter().filter_map(|s| s.parse().ok()).filter(|d| self.tree.parents.contains_key(d)).collect()
            }
        }
    }

    fn applicant_department(ctx: &ResolveContext<'_>) -> Option<Uuid> {
        ctx.applicant_attrs.get("department_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
    }

    /// The leader a user reports to: the head of their department (walking up), or the
    /// supervising school leader when they are the head themselves.
    pub fn leader_of(&self, user: Uuid) -> Vec<Uuid> {
        let dept = self.user_dept.get(&user).copied().flatten();
        let heads: Vec<Uuid> = self.nearest("department_head", dept).into_iter().filter(|h| *h != user).collect();
        if heads.is_empty() { self.nearest("supervising_leader", dept) } else { heads }
    }

    fn ids(&self, users: Vec<Uuid>) -> Vec<UserId> {
        let mut seen = HashSet::new();
        users
            .into_iter()
            .filter(|u| !self.inactive.contains(u) && self.user_dept.contains_key(u) && seen.insert(*u))
            .map(|u| UserId::from(u.to_string()))
            .collect()
    }
}

impl Directory for OrgDirectory {
    fn resolve(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<UserId> {
        if let Some(users) = resolve_from_data(rule, ctx) {
            return self.ids(users.iter().filter_map(|u| u.as_str().parse().ok()).collect());
        }
        let applicant_dept = Self::applicant_department(ctx);
        let users = match rule {
            AssigneeRule::Role { code } => {
                let targets: Vec<Uuid> = applicant_dept.into_iter().chain(self.process_department).collect();
                self.grants
                    .get(code)
                    .into_iter()
                    .flatten()
                    .filter(|g| g.scope == Scope::All || targets.iter().any(|t| self.grant_reaches(g, *t)))
                    .map(|g| g.user)
                    .collect()
            }
            AssigneeRule::Position { kind } => {
                let school_wide: Vec<Uuid> = self
                    .tree
                    .positions
                    .iter()
                    .filter(|p| &p.kind == kind && p.department_id.is_none())
                    .map(|p| p.user_id)
                    .collect();
                if school_wide.is_empty() { self.nearest(kind, applicant_dept) } else { school_wide }
            }
            AssigneeRule::ApplicantDepartmentHead => self.nearest("department_head", applicant_dept),
            AssigneeRule::DepartmentHead { of } => self
                .departments(of, ctx, applicant_dept)
                .into_iter()
                .flat_map(|d| self.nearest("department_head", Some(d)))
                .collect(),
            AssigneeRule::SupervisingLeader { of } => self
                .departments(of, ctx, applicant_dept)
                .into_iter()
                .flat_map(|d| self.nearest("supervising_leader", Some(d)))
                .collect(),
            AssigneeRule::ClassCounsellor => match applicant_dept {
                Some(d) => self
                    .tree
                    .positions
                    .iter()
                    .filter(|p| p.kind == "counsellor" && p.department_id == Some(d))
                    .map(|p| p.user_id)
                    .collect(),
                None => Vec::new(),
            },
            AssigneeRule::PreviousHandlerLeader => ctx
                .previous_handler
                .and_then(|u| u.as_str().parse::<Uuid>().ok())
                .map(|u| self.leader_of(u))
                .unwrap_or_default(),
            AssigneeRule::Users { .. } | AssigneeRule::FormField { .. } | AssigneeRule::ApplicantPicks { .. } => {
                Vec::new()
            }
        };
        self.ids(users)
    }

    /// The deputy of an absence of `user` covering `at` for this process. Chains are not
    /// followed: when the deputy is away too, the task still goes to the deputy. A deputy whose
    /// account was disabled since receives nothing (the task stays with `user`).
    fn deputy(&self, user: &UserId, process_key: &str, at: DateTime<Utc>) -> Option<UserId> {
        let user: Uuid = user.as_str().parse().ok()?;
        self.absences
            .get(&user)?
            .iter()
            .find(|a| {
                a.starts_at <= at
                    && at < a.ends_at
                    && (a.process_keys.is_empty() || a.process_keys.iter().any(|k| k == process_key))
            })
            .map(|a| a.deputy)
            .filter(|d| *d != user && !self.inactive.contains(d) && self.user_dept.contains_key(d))
            .map(|d| UserId::from(d.to_string()))
    }
}

/// Whether every id in `users` is an active account (for transfers, delegation, added signers, CC).
pub async fn all_active<C: ConnectionTrait>(db: &C, users: &[Uuid]) -> AppResult<bool> {
    if users.is_empty() {
        return Ok(true);
    }
    let n = user::Entity::find()
        .filter(user::Column::Id.is_in(users.to_vec()))
        .filter(user::Column::Status.eq("active"))
        .all(db)
        .await?
        .len();
    let distinct: HashSet<&Uuid> = users.iter().collect();
    Ok(n == distinct.len())
}
