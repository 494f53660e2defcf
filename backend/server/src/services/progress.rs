//! Where an affair stands, node by node: the timeline of the affair page and the public progress
//! look-up (事务查询), which shows states only — no names, opinions or form data.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use tongban_engine::exec::{HistoryAction, HistoryEntry, Instance, InstanceStatus, Task, TaskStatus};
use tongban_engine::model::{Node, NodeKind, ProcessDefinition};

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::affair::{ProgressNode, ProgressQuery, ProgressView};
use crate::entity::{affair, login_attempt, process, process_version, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::time::now;

/// A node's state in an affair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Handled.
    Done,
    /// Waiting now.
    Current,
    /// Not reached (yet).
    Pending,
    /// Never reached by a finished affair, or closed without anyone handling it.
    Skipped,
}

impl NodeState {
    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Done => "done",
            NodeState::Current => "current",
            NodeState::Pending => "pending",
            NodeState::Skipped => "skipped",
        }
    }
}

/// One node of the timeline, with what happened there.
pub struct Step<'a> {
    /// The node.
    pub node: &'a Node,
    /// Where it stands.
    pub state: NodeState,
    /// History lines at the node (for the start node: submissions and withdrawals too).
    pub records: Vec<&'a HistoryEntry>,
    /// Its pending tasks.
    pub pending: Vec<&'a Task>,
    /// First reached.
    pub started_at: Option<DateTime<Utc>>,
    /// Last completed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Earliest due time of what waits there.
    pub due_at: Option<DateTime<Utc>>,
}

/// The kind of a node as the timeline names it.
pub fn kind_code(n: &Node) -> &'static str {
    match n.kind {
        NodeKind::Start => "start",
        NodeKind::End { .. } => "end",
        NodeKind::UserTask { .. } => "user_task",
        NodeKind::ServiceTask { .. } => "service_task",
        NodeKind::Cc { .. } => "cc",
        NodeKind::ExclusiveGateway { .. } | NodeKind::ParallelGateway | NodeKind::InclusiveGateway { .. } => "gateway",
    }
}

fn is_gateway(n: &Node) -> bool {
    kind_code(n) == "gateway"
}

/// The nodes in display order: breadth first from the start along the flows in definition order
/// (the main line before the branches that leave it later), ends last, gateways left out.
fn ordered(def: &ProcessDefinition) -> Vec<&Node> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut queue = VecDeque::new();
    if let Some(s) = def.start() {
        seen.insert(&s.id);
        queue.push_back(s);
    }
    while let Some(n) = queue.pop_front() {
        out.push(n);
        for f in def.outgoing(&n.id) {
            if let Some(next) = def.node(&f.to)
                && seen.insert(&next.id)
            {
                queue.push_back(next);
            }
        }
    }
    let (ends, mut rest): (Vec<&Node>, Vec<&Node>) =
        out.into_iter().filter(|n| !is_gateway(n)).partition(|n| matches!(n.kind, NodeKind::End { .. }));
    rest.extend(ends);
    rest
}

/// Whether a history line completes the work of its node.
fn completes(a: HistoryAction) -> bool {
    matches!(
        a,
        HistoryAction::Submitted
            | HistoryAction::Resubmitted
            | HistoryAction::Approved
            | HistoryAction::Rejected
            | HistoryAction::Returned
            | HistoryAction::AutoApproved
            | HistoryAction::CcNotified
            | HistoryAction::ServiceSucceeded
            | HistoryAction::Finished
    )
}

/// Every node of the affair's process with its state, in display order.
pub fn timeline<'a>(def: &'a ProcessDefinition, i: &'a Instance) -> Vec<Step<'a>> {
    let finished = i.status.is_finished();
    ordered(def)
        .into_iter()
        .map(|node| {
            let is_start = matches!(node.kind, NodeKind::Start);
            let records: Vec<&HistoryEntry> = i
                .history
                .iter()
                .filter(|h| match &h.node {
                    Some(n) => n == &node.id,
                    None => {
                        is_start
                            && matches!(
                                h.action,
                                HistoryAction::Submitted | HistoryAction::Resubmitted | HistoryAction::Withdrawn
                            )
                    }
                })
                .collect();
            let tasks: Vec<&Task> = i.tasks.iter().filter(|t| t.node == node.id).collect();
            let pending: Vec<&Task> = tasks.iter().copied().filter(|t| t.status == TaskStatus::Pending).collect();
            let tokens: Vec<_> = i.tokens.iter().filter(|t| t.node == node.id).collect();
            let current =
                !pending.is_empty() || !tokens.is_empty() || (is_start && i.status == InstanceStatus::Returned);
            let done_at = records
                .iter()
                .filter(|h| completes(h.action))
                .map(|h| h.at)
                .chain(tasks.iter().filter(|t| t.status == TaskStatus::Done).filter_map(|t| t.closed_at))
                .max();
            let started_at = records
                .iter()
                .map(|h| h.at)
                .chain(tasks.iter().map(|t| t.created_at))
                .chain(tokens.iter().map(|t| t.entered_at))
                .min();
            let state = if current {
                NodeState::Current
            } else if done_at.is_some() {
                NodeState::Done
            } else if finished {
                NodeState::Skipped
            } else {
                NodeState::Pending
            };
            let due_at = if current {
                pending.iter().filter_map(|t| t.due_at).chain(tokens.iter().filter_map(|t| t.due_at)).min()
            } else {
                None
            };
            Step { node, state, records, pending, started_at, finished_at: done_at, due_at }
        })
        .collect()
}

/// The code stored as the throttling "user name" of failed look-ups of one number; the `:` keeps
/// these rows apart from sign-ins (user names cannot contain it).
fn throttle_name(number: &str) -> String {
    format!("progress:{number}")
}

fn throttle_ip(ip: &str) -> String {
    format!("progress:{ip}")
}

/// Seconds to wait when this address failed too many look-ups within the window.
async fn throttled(st: &AppState, ip: &str) -> AppResult<Option<u64>> {
    let cfg = &st.settings.login_throttle;
    let max = cfg.max_failures_per_ip;
    if max == 0 {
        return Ok(None);
    }
    let t = now();
    let recent: Vec<DateTime<Utc>> = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::At)
        .filter(login_attempt::Column::Ip.eq(throttle_ip(ip)))
        .filter(login_attempt::Column::Success.eq(false))
        .filter(login_attempt::Column::At.gt(t - Duration::seconds(cfg.window_secs)))
        .order_by_desc(login_attempt::Column::At)
        .limit(u64::from(max))
        .into_tuple()
        .all(st.db.conn())
        .await?;
    Ok(match recent.last() {
        Some(oldest) if recent.len() >= max as usize => {
            let until = *oldest + Duration::seconds(cfg.window_secs);
            Some(Ord::max((until - t).num_seconds(), 1) as u64)
        }
        _ => None,
    })
}

/// Whether the identity check passes: the applicant's 学号 or 工号 ends with `suffix`.
fn suffix_matches(u: &user::Model, suffix: &str) -> bool {
    [u.student_no.as_deref(), u.staff_no.as_deref()]
        .into_iter()
        .flatten()
        .any(|no| no.len() >= 4 && no.is_char_boundary(no.len() - 4) && no[no.len() - 4..].eq_ignore_ascii_case(suffix))
}

/// The public progress look-up: the affair's number plus the last four characters of the
/// applicant's 学号/工号. A wrong number and a wrong suffix give the same 404; failed look-ups are
/// counted per client address and throttled with 429.
pub async fn lookup(st: &AppState, ctx: &AuditCtx, q: &ProgressQuery) -> AppResult<ProgressView> {
    let ip = ctx.ip.clone().unwrap_or_default();
    if let Some(wait) = throttled(st, &ip).await? {
        return Err(AppError::Client {
            code: ErrorCode::TooManyRequests,
            detail: None,
            errors: Vec::new(),
            retry_after: Some(wait),
        });
    }
    let db = st.db.conn();
    let number = q.number.trim().to_ascii_uppercase();
    let found = match affair::Entity::find().filter(affair::Column::Number.eq(&number)).one(db).await? {
        Some(a) => user::Entity::find_by_id(a.applicant_id).one(db).await?.map(|u| (a, u)),
        None => None,
    };
    let Some((a, _)) = found.filter(|(_, u)| suffix_matches(u, q.id_suffix.trim())) else {
        let txn = st.db.write().await?;
        login_attempt::ActiveModel {
            username: Set(throttle_name(&number.chars().take(40).collect::<String>())),
            ip: Set(throttle_ip(&ip)),
            success: Set(false),
            at: Set(now()),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        return Err(AppError::not_found());
    };
    let version =
        process_version::Entity::find_by_id(a.process_version_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let proc = process::Entity::find_by_id(a.process_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let def: ProcessDefinition = serde_json::from_value(version.definition.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("definition: {e}")))?;
    let inst: Instance =
        serde_json::from_value(a.state.clone()).map_err(|e| AppError::Internal(anyhow::anyhow!("instance: {e}")))?;
    let nodes = timeline(&def, &inst)
        .into_iter()
        .map(|s| ProgressNode { name: s.node.name.clone(), state: s.state.as_str().to_owned() })
        .collect();
    let txn = st.db.write().await?;
    audit::record(&*txn, ctx, Entry::new("affair.progress_lookup", "affair", a.id)).await?;
    txn.commit().await?;
    Ok(ProgressView {
        number: a.number,
        process_name: proc.name,
        status: a.status,
        submitted_at: a.submitted_at,
        finished_at: a.finished_at,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> ProcessDefinition {
        serde_json::from_value(json!({
            "key": "k", "name": "n",
            "nodes": [
                { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } },
                { "id": "start", "name": "提交", "kind": { "type": "start" } },
                { "id": "gw", "name": "分支", "kind": { "type": "exclusive_gateway" } },
                { "id": "a", "name": "甲", "kind": { "type": "user_task", "assignees": [], "mode": { "type": "single" } } },
                { "id": "b", "name": "乙", "kind": { "type": "user_task", "assignees": [], "mode": { "type": "single" } } },
                { "id": "c", "name": "丙", "kind": { "type": "user_task", "assignees": [], "mode": { "type": "single" } } }
            ],
            "flows": [
                { "id": "f1", "from": "start", "to": "a" },
                { "id": "f2", "from": "a", "to": "gw" },
                { "id": "f3", "from": "gw", "to": "b", "condition": "true" },
                { "id": "f4", "from": "gw", "to": "c" },
                { "id": "f5", "from": "b", "to": "end" },
                { "id": "f6", "from": "c", "to": "end" },
                { "id": "f7", "from": "b", "to": "a" }
            ]
        }))
        .expect("definition")
    }

    #[test]
    fn nodes_are_listed_from_start_to_end_without_gateways_and_once_each() {
        let d = def();
        let ids: Vec<&str> = ordered(&d).iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, vec!["start", "a", "b", "c", "end"]);
    }

    #[test]
    fn a_fresh_instance_has_everything_pending() {
        let d = def();
        let i = Instance::new("k", tongban_engine::model::UserId("u".into()), json!({}));
        assert!(timeline(&d, &i).iter().all(|s| s.state == NodeState::Pending));
    }

    #[test]
    fn identity_suffix_is_the_last_four_characters_of_either_number() {
        let mut u = user::Model {
            id: uuid::Uuid::nil(),
            username: "s".into(),
            display_name: "S".into(),
            kind: "student".into(),
            student_no: Some("2024010101".into()),
            staff_no: None,
            department_id: None,
            email: None,
            phone: None,
            password_hash: None,
            status: "active".into(),
            auth_epoch: 0,
            password_changed_at: None,
            last_login_at: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(suffix_matches(&u, "0101"));
        assert!(!suffix_matches(&u, "0102"));
        assert!(!suffix_matches(&u, "2024"));
        u.student_no = Some("T1".into());
        assert!(!suffix_matches(&u, "00T1"), "numbers shorter than the suffix never match");
        u.staff_no = Some("t1001".into());
        assert!(suffix_matches(&u, "1001"), "or the 工号");
        u.staff_no = Some("TX12cd".into());
        assert!(suffix_matches(&u, "12CD"), "letters in any case");
    }
}
