//! Version migration: whether a running affair can move to another version of its process.
//!
//! An affair can move when every node its state refers to — where its tokens stand, the forks
//! they are inside, the path they came by (return targets), pending tasks and service calls, the
//! point a return resumes at — exists in the new version with the same kind of node, and user
//! tasks that are in progress keep their handling mode. The state itself is kept as it is; the
//! new version takes over from the next action.

use std::collections::BTreeSet;

use crate::exec::{Frame, Instance, TaskStatus, Token, TrailEntry};
use crate::model::{NodeId, NodeKind, ProcessDefinition};

/// Why an affair cannot move.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MigrationProblem {
    /// The node concerned.
    pub node: NodeId,
    /// Stable code: `affair_finished`, `different_process`, `node_missing`, `kind_changed`,
    /// `mode_changed`.
    pub code: String,
    /// Explanation.
    pub message: String,
}

fn same_kind(a: &NodeKind, b: &NodeKind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn token_nodes<'a>(t: &'a Token, out: &mut BTreeSet<&'a NodeId>) {
    out.insert(&t.node);
    frames(&t.stack, out);
    trail(&t.trail, out);
}

fn frames<'a>(stack: &'a [Frame], out: &mut BTreeSet<&'a NodeId>) {
    out.extend(stack.iter().map(|f| &f.gateway));
}

fn trail<'a>(trail: &'a [TrailEntry], out: &mut BTreeSet<&'a NodeId>) {
    out.extend(trail.iter().map(|e| &e.node));
}

/// Every problem that stops `inst` (running on `old`) from moving to `new`; empty when it can.
pub fn check(old: &ProcessDefinition, new: &ProcessDefinition, inst: &Instance) -> Vec<MigrationProblem> {
    let mut problems = Vec::new();
    let problem = |node: &NodeId, code: &str, message: String| MigrationProblem {
        node: node.clone(),
        code: code.into(),
        message,
    };
    if inst.status.is_finished() {
        problems.push(problem(&NodeId("-".into()), "affair_finished", "the affair has finished".into()));
        return problems;
    }
    if old.key != new.key || inst.process_key != new.key {
        problems.push(problem(
            &NodeId("-".into()),
            "different_process",
            "the versions belong to different processes".into(),
        ));
        return problems;
    }
    let mut nodes = BTreeSet::new();
    for t in &inst.tokens {
        token_nodes(t, &mut nodes);
    }
    if let Some(r) = &inst.returned {
        nodes.insert(&r.node);
        for a in &r.resume {
            nodes.insert(&a.node);
            frames(&a.stack, &mut nodes);
            trail(&a.trail, &mut nodes);
        }
    }
    if let Some(u) = &inst.undo {
        for t in &u.tokens {
            token_nodes(t, &mut nodes);
        }
    }
    nodes.extend(inst.tasks.iter().filter(|t| t.status == TaskStatus::Pending).map(|t| &t.node));
    nodes.extend(inst.pending_calls().map(|c| &c.node));
    for id in nodes {
        match (old.node(id), new.node(id)) {
            (_, None) => problems.push(problem(id, "node_missing", format!("node {id} is not in the new version"))),
            (Some(o), Some(n)) if !same_kind(&o.kind, &n.kind) => problems.push(problem(
                id,
                "kind_changed",
                format!("node {id} is a different kind of node in the new version"),
            )),
            (Some(o), Some(n)) => {
                let busy = inst.tasks.iter().any(|t| &t.node == id && t.status == TaskStatus::Pending);
                if let (NodeKind::UserTask { mode: a, .. }, NodeKind::UserTask { mode: b, .. }) = (&o.kind, &n.kind)
                    && busy
                    && a != b
                {
                    problems.push(problem(
                        id,
                        "mode_changed",
                        format!("node {id} has open tasks and handles them differently in the new version"),
                    ));
                }
            }
            (None, Some(_)) => {}
        }
    }
    problems
}
