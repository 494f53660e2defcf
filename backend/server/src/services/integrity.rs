//! `tongban check`: the invariants that hold between the tables, the engine's instance state, the
//! object store and the audit chain, and a report of every one that does not.
//!
//! Read only: nothing is repaired. Affairs are read a page at a time, so a large database is
//! checked in bounded memory.

use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use tongban_engine::exec::{HistoryAction, Instance, InstanceStatus, TaskStatus};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit_chain::{self, ChainReport};
use crate::entity::{
    affair, archive, archive_export, audit_archive, certificate, certificate_type, file, task, task_candidate, user,
};
use crate::error::AppResult;
use crate::services::affairs::{lower, status_of};
use crate::services::storage::Storage;
use crate::signing::KeyRing;

/// Affairs read at once.
const PAGE: u64 = 200;
/// Problems listed at most (all are counted).
const MAX_LISTED: usize = 1000;

/// One broken invariant.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct IntegrityProblem {
    /// What is broken: `state_unreadable`, `status_mismatch`, `finished_at_mismatch`,
    /// `finished_with_pending_task`, `stuck` (running with neither a pending task nor a pending
    /// service call), `task_without_assignee`, `task_row_missing`, `task_row_mismatch`,
    /// `task_row_orphan`, `task_candidates_mismatch`, `history_order`, `history_missing_start`,
    /// `history_missing_task_end`, `history_missing_end`, `certificate_affair_missing`,
    /// `certificate_type_missing`, `certificate_holder_missing`, `certificate_link_missing`,
    /// `file_affair_missing`, `object_missing`, `object_size_mismatch`, `audit_chain`.
    pub kind: String,
    /// The affair concerned.
    pub affair_id: Option<Uuid>,
    /// Its number.
    pub affair_number: Option<String>,
    /// The engine task (sequence number within the affair).
    pub task: Option<u32>,
    /// The certificate, file or archive row concerned.
    pub row_id: Option<Uuid>,
    /// The object-store key concerned.
    pub storage_key: Option<String>,
    /// What exactly (English, for operators).
    pub detail: String,
}

/// What `tongban check` found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrityReport {
    /// Nothing broken.
    pub ok: bool,
    /// Affairs checked.
    pub affairs: u64,
    /// Task rows checked.
    pub tasks: u64,
    /// Certificates checked.
    pub certificates: u64,
    /// File rows checked.
    pub files: u64,
    /// Objects looked up in the store (only with `files`).
    pub objects: Option<u64>,
    /// Problems found, counted.
    pub problem_count: u64,
    /// The problems (the first 1,000).
    pub problems: Vec<IntegrityProblem>,
    /// The audit chain's verification.
    pub audit: ChainReport,
}

struct Found {
    count: u64,
    list: Vec<IntegrityProblem>,
}

impl Found {
    fn push(&mut self, p: IntegrityProblem) {
        self.count += 1;
        if self.list.len() < MAX_LISTED {
            self.list.push(p);
        }
    }

    fn affair(&mut self, a: &affair::Model, kind: &str, task: Option<u32>, detail: String) {
        self.push(IntegrityProblem {
            kind: kind.into(),
            affair_id: Some(a.id),
            affair_number: Some(a.number.clone()),
            task,
            row_id: None,
            storage_key: None,
            detail,
        });
    }

    fn row(&mut self, kind: &str, id: Uuid, key: Option<&str>, detail: String) {
        self.push(IntegrityProblem {
            kind: kind.into(),
            affair_id: None,
            affair_number: None,
            task: None,
            row_id: Some(id),
            storage_key: key.map(str::to_owned),
            detail,
        });
    }
}

/// Check everything; with `storage`, also that every object the database names is in the store
/// with its recorded size.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    keys: &KeyRing,
    storage: Option<&Storage>,
) -> AppResult<IntegrityReport> {
    let mut found = Found { count: 0, list: Vec::new() };
    let (affairs, tasks) = check_affairs(db, &mut found).await?;
    let certificates = check_certificates(db, &mut found).await?;
    let (files, objects) = check_files(db, storage, &mut found).await?;
    let audit = audit_chain::verify(db, keys).await?;
    if !audit.valid {
        let detail = audit.problems.iter().map(|p| p.kind.as_str()).collect::<BTreeSet<_>>();
        found.push(IntegrityProblem {
            kind: "audit_chain".into(),
            affair_id: None,
            affair_number: None,
            task: None,
            row_id: None,
            storage_key: None,
            detail: format!(
                "the audit chain does not verify: {} problem(s) ({})",
                audit.problems.len(),
                detail.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(IntegrityReport {
        ok: found.count == 0,
        affairs,
        tasks,
        certificates,
        files,
        objects,
        problem_count: found.count,
        problems: found.list,
        audit,
    })
}

async fn check_affairs<C: ConnectionTrait>(db: &C, found: &mut Found) -> AppResult<(u64, u64)> {
    let (mut affairs, mut tasks) = (0u64, 0u64);
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = affair::Entity::find().order_by_asc(affair::Column::Id).limit(PAGE);
        if let Some(a) = after {
            q = q.filter(affair::Column::Id.gt(a));
        }
        let page = q.all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids: Vec<Uuid> = page.iter().map(|a| a.id).collect();
        let rows = task::Entity::find().filter(task::Column::AffairId.is_in(ids)).all(db).await?;
        tasks += rows.len() as u64;
        let task_ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
        let mut candidates: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for chunk in task_ids.chunks(500) {
            for c in task_candidate::Entity::find()
                .filter(task_candidate::Column::TaskId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                candidates.entry(c.task_id).or_default().insert(c.user_id);
            }
        }
        let mut by_affair: HashMap<Uuid, Vec<task::Model>> = HashMap::new();
        for t in rows {
            by_affair.entry(t.affair_id).or_default().push(t);
        }
        for a in &page {
            affairs += 1;
            let rows = by_affair.remove(&a.id).unwrap_or_default();
            check_affair(a, &rows, &candidates, found);
        }
    }
    Ok((affairs, tasks))
}

fn check_affair(a: &affair::Model, rows: &[task::Model], candidates: &HashMap<Uuid, HashSet<Uuid>>, found: &mut Found) {
    let inst: Instance = match serde_json::from_value(a.state.clone()) {
        Ok(i) => i,
        Err(e) => {
            found.affair(a, "state_unreadable", None, format!("affairs.state is not an engine instance: {e}"));
            return;
        }
    };
    let want = status_of(&inst);
    if a.status != want {
        found.affair(
            a,
            "status_mismatch",
            None,
            format!("affairs.status is {} but the instance says {want}", a.status),
        );
    }
    if a.finished_at.is_some() != inst.finished_at.is_some() {
        found.affair(
            a,
            "finished_at_mismatch",
            None,
            format!("affairs.finished_at is {:?} but the instance's is {:?}", a.finished_at, inst.finished_at),
        );
    }
    let pending: Vec<_> = inst.pending_tasks().collect();
    if inst.status.is_finished() {
        for t in &pending {
            found.affair(
                a,
                "finished_with_pending_task",
                Some(t.id.0),
                format!("the affair is {want} but task {} at node {} is pending", t.id, t.node),
            );
        }
    }
    if inst.status == InstanceStatus::Running && pending.is_empty() && inst.pending_calls().next().is_none() {
        found.affair(
            a,
            "stuck",
            None,
            "the affair is being handled but has neither a pending task nor a pending service call".into(),
        );
    }
    for t in &pending {
        if t.assignee.is_none() && t.candidates.is_empty() {
            found.affair(
                a,
                "task_without_assignee",
                Some(t.id.0),
                format!("pending task {} at node {} has neither an assignee nor candidates", t.id, t.node),
            );
        }
    }

    // The mirror in `tasks` / `task_candidates`.
    let by_seq: HashMap<i32, &task::Model> = rows.iter().map(|r| (r.seq, r)).collect();
    let engine_ids: HashSet<i32> = inst.tasks.iter().map(|t| t.id.0 as i32).collect();
    for t in &inst.tasks {
        let Some(row) = by_seq.get(&(t.id.0 as i32)) else {
            found.affair(
                a,
                "task_row_missing",
                Some(t.id.0),
                format!("task {} ({}, node {}) has no row in tasks", t.id, lower(&t.status), t.node),
            );
            continue;
        };
        let status = lower(&t.status);
        let assignee = t.assignee.as_ref().and_then(|u| u.as_str().parse::<Uuid>().ok());
        if row.status != status || row.assignee_id != assignee || row.node_id != t.node.to_string() {
            found.affair(
                a,
                "task_row_mismatch",
                Some(t.id.0),
                format!(
                    "tasks row {} says {} / {:?} at {} but the instance says {status} / {assignee:?} at {}",
                    row.id, row.status, row.assignee_id, row.node_id, t.node
                ),
            );
        }
        if t.status == TaskStatus::Pending {
            let want: HashSet<Uuid> = t.candidates.iter().filter_map(|u| u.as_str().parse().ok()).collect();
            let have = candidates.get(&row.id).cloned().unwrap_or_default();
            if want != have {
                found.affair(
                    a,
                    "task_candidates_mismatch",
                    Some(t.id.0),
                    format!("task_candidates of {} hold {} user(s), the instance {}", row.id, have.len(), want.len()),
                );
            }
        }
    }
    for r in rows.iter().filter(|r| !engine_ids.contains(&r.seq)) {
        found.affair(
            a,
            "task_row_orphan",
            Some(r.seq as u32),
            format!("tasks row {} has no task in the instance", r.id),
        );
    }

    // History: ordered, begins with the submission, records each handled task and the end.
    if inst.history.windows(2).any(|w| w[0].seq >= w[1].seq) {
        found.affair(a, "history_order", None, "history sequence numbers do not strictly increase".into());
    }
    if inst.submitted_at.is_some() && inst.history.first().map(|h| h.action) != Some(HistoryAction::Submitted) {
        found.affair(a, "history_missing_start", None, "the history does not begin with the submission".into());
    }
    let noted: HashSet<u32> = inst.history.iter().filter_map(|h| h.task.map(|t| t.0)).collect();
    for t in inst.tasks.iter().filter(|t| t.status == TaskStatus::Done) {
        if !noted.contains(&t.id.0) {
            found.affair(
                a,
                "history_missing_task_end",
                Some(t.id.0),
                format!("task {} was handled but no history entry records it", t.id),
            );
        }
    }
    let end = match inst.status {
        InstanceStatus::Completed | InstanceStatus::Rejected => Some(HistoryAction::Finished),
        InstanceStatus::Withdrawn => Some(HistoryAction::Withdrawn),
        _ => None,
    };
    if let Some(end) = end
        && !inst.history.iter().any(|h| h.action == end)
    {
        found.affair(
            a,
            "history_missing_end",
            None,
            format!("the affair is {want} but its history has no {end:?} entry"),
        );
    }
}

async fn existing<C, E>(db: &C, ids: BTreeSet<Uuid>, col: E::Column) -> AppResult<HashSet<Uuid>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let mut out = HashSet::new();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    for chunk in ids.chunks(500) {
        let rows: Vec<Uuid> =
            E::find().select_only().column(col).filter(col.is_in(chunk.to_vec())).into_tuple().all(db).await?;
        out.extend(rows);
    }
    Ok(out)
}

async fn check_certificates<C: ConnectionTrait>(db: &C, found: &mut Found) -> AppResult<u64> {
    let mut n = 0u64;
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = certificate::Entity::find().order_by_asc(certificate::Column::Id).limit(PAGE);
        if let Some(a) = after {
            q = q.filter(certificate::Column::Id.gt(a));
        }
        let page = q.all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        n += page.len() as u64;
        let affairs =
            existing::<_, affair::Entity>(db, page.iter().filter_map(|c| c.affair_id).collect(), affair::Column::Id)
                .await?;
        let types = existing::<_, certificate_type::Entity>(
            db,
            page.iter().map(|c| c.type_id).collect(),
            certificate_type::Column::Id,
        )
        .await?;
        let holders =
            existing::<_, user::Entity>(db, page.iter().map(|c| c.holder_id).collect(), user::Column::Id).await?;
        let links = existing::<_, certificate::Entity>(
            db,
            page.iter().flat_map(|c| [c.supersedes_id, c.superseded_by_id]).flatten().collect(),
            certificate::Column::Id,
        )
        .await?;
        for c in &page {
            if let Some(a) = c.affair_id
                && !affairs.contains(&a)
            {
                found.row(
                    "certificate_affair_missing",
                    c.id,
                    None,
                    format!("certificate {} names affair {a}, which does not exist", c.number),
                );
            }
            if !types.contains(&c.type_id) {
                found.row(
                    "certificate_type_missing",
                    c.id,
                    None,
                    format!("certificate {} names type {}, which does not exist", c.number, c.type_id),
                );
            }
            if !holders.contains(&c.holder_id) {
                found.row(
                    "certificate_holder_missing",
                    c.id,
                    None,
                    format!("certificate {} names holder {}, who does not exist", c.number, c.holder_id),
                );
            }
            for l in [c.supersedes_id, c.superseded_by_id].into_iter().flatten() {
                if !links.contains(&l) {
                    found.row(
                        "certificate_link_missing",
                        c.id,
                        None,
                        format!("certificate {} is linked to {l}, which does not exist", c.number),
                    );
                }
            }
        }
    }
    Ok(n)
}

async fn check_object(storage: &Storage, id: Uuid, key: &str, size: Option<i64>, found: &mut Found) -> AppResult<()> {
    match storage.head(key).await? {
        None => found.row("object_missing", id, Some(key), format!("object {key} is not in the store")),
        Some(have) if size.is_some_and(|s| s != have as i64) => found.row(
            "object_size_mismatch",
            id,
            Some(key),
            format!("object {key} holds {have} bytes, the database says {}", size.unwrap_or_default()),
        ),
        Some(_) => {}
    }
    Ok(())
}

async fn check_files<C: ConnectionTrait>(
    db: &C,
    storage: Option<&Storage>,
    found: &mut Found,
) -> AppResult<(u64, Option<u64>)> {
    let mut n = 0u64;
    let mut objects = 0u64;
    let mut after: Option<Uuid> = None;
    loop {
        let mut q =
            file::Entity::find().filter(file::Column::DeletedAt.is_null()).order_by_asc(file::Column::Id).limit(PAGE);
        if let Some(a) = after {
            q = q.filter(file::Column::Id.gt(a));
        }
        let page = q.all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        n += page.len() as u64;
        let affairs =
            existing::<_, affair::Entity>(db, page.iter().filter_map(|f| f.affair_id).collect(), affair::Column::Id)
                .await?;
        for f in &page {
            if let Some(a) = f.affair_id
                && !affairs.contains(&a)
            {
                found.row(
                    "file_affair_missing",
                    f.id,
                    Some(&f.storage_key),
                    format!("file {} names affair {a}, which does not exist", f.filename),
                );
            }
            if let Some(s) = storage {
                objects += 1;
                check_object(s, f.id, &f.storage_key, Some(f.size), found).await?;
            }
        }
    }
    if let Some(s) = storage {
        for a in archive::Entity::find().all(db).await? {
            objects += 1;
            check_object(s, a.id, &a.storage_key, Some(a.size), found).await?;
        }
        for a in audit_archive::Entity::find().all(db).await? {
            objects += 1;
            check_object(s, a.id, &a.storage_key, None, found).await?;
        }
        for e in archive_export::Entity::find().filter(archive_export::Column::StorageKey.is_not_null()).all(db).await?
        {
            if let Some(k) = &e.storage_key {
                objects += 1;
                check_object(s, e.id, k, e.size, found).await?;
            }
        }
    }
    Ok((n, storage.map(|_| objects)))
}

/// `GET /ops/check` for the IT office (`settings.manage`); the check is audited.
pub async fn check_as(
    st: &crate::state::AppState,
    p: &crate::policy::Principal,
    ctx: &crate::audit::AuditCtx,
    files: bool,
) -> AppResult<IntegrityReport> {
    p.require(crate::policy::Permission::SettingsManage)?;
    let report = check(st.db.conn(), &st.signing, files.then_some(&*st.storage)).await?;
    let txn = st.db.write().await?;
    crate::audit::record(
        &*txn,
        ctx,
        crate::audit::Entry::new("ops.check", "platform", "integrity").after(&serde_json::json!({
            "ok": report.ok, "affairs": report.affairs, "problems": report.problem_count, "files": files
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}
