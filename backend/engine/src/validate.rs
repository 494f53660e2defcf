//! Checks a process definition before it is saved or published. Every error names the node or
//! flow at fault and carries a stable code the API returns as is.
//!
//! Besides the basic graph checks, the validator requires parallel and inclusive gateways to be
//! *block-structured*: every fork is closed by a join of the same kind, and no flow leaves a
//! branch except through its join or into an end node. That is what lets the executor return out
//! of parallel branches and resume them cleanly. An end inside a branch must be a rejecting one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::expr::Expr;
use crate::model::{Completion, EndOutcome, FlowId, HandlingMode, NodeId, NodeKind, ProcessDefinition};

/// Stable code of a definition error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// An empty node or flow id.
    EmptyId,
    /// Two nodes share an id.
    DuplicateNodeId,
    /// Two flows share an id.
    DuplicateFlowId,
    /// No start node.
    MissingStart,
    /// More than one start node.
    MultipleStarts,
    /// No end node.
    MissingEnd,
    /// A flow names a node that does not exist.
    UnknownNode,
    /// A node cannot be reached from the start.
    UnreachableNode,
    /// No end can be reached from a node.
    CannotReachEnd,
    /// The start needs exactly one outgoing flow and no incoming one.
    StartFlows,
    /// An end node has outgoing flows.
    EndHasOutgoing,
    /// A task or CC node has more than one outgoing flow (use a gateway).
    MultipleOutgoing,
    /// A gateway's default flow is not one of its outgoing flows.
    DefaultFlowNotOutgoing,
    /// A condition does not compile.
    InvalidCondition,
    /// A flow leaving a gateway without a default flow has no condition.
    MissingCondition,
    /// A condition on a flow that does not leave an exclusive or inclusive gateway.
    ConditionNotAllowed,
    /// Forks and joins do not match (a join without its fork, a flow leaving a branch).
    UnbalancedGateways,
    /// A cycle without any user or service task, which would loop forever.
    LoopWithoutTask,
    /// A user task without assignee rules.
    NoAssigneeRule,
    /// A CC node without recipients.
    NoRecipients,
    /// A completion percentage outside 1..=100.
    InvalidPercent,
    /// No process administrator to receive tasks nobody else can take.
    NoAdmins,
}

impl ErrorCode {
    /// The code as a string (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyId => "empty_id",
            ErrorCode::DuplicateNodeId => "duplicate_node_id",
            ErrorCode::DuplicateFlowId => "duplicate_flow_id",
            ErrorCode::MissingStart => "missing_start",
            ErrorCode::MultipleStarts => "multiple_starts",
            ErrorCode::MissingEnd => "missing_end",
            ErrorCode::UnknownNode => "unknown_node",
            ErrorCode::UnreachableNode => "unreachable_node",
            ErrorCode::CannotReachEnd => "cannot_reach_end",
            ErrorCode::StartFlows => "start_flows",
            ErrorCode::EndHasOutgoing => "end_has_outgoing",
            ErrorCode::MultipleOutgoing => "multiple_outgoing",
            ErrorCode::DefaultFlowNotOutgoing => "default_flow_not_outgoing",
            ErrorCode::InvalidCondition => "invalid_condition",
            ErrorCode::MissingCondition => "missing_condition",
            ErrorCode::ConditionNotAllowed => "condition_not_allowed",
            ErrorCode::UnbalancedGateways => "unbalanced_gateways",
            ErrorCode::LoopWithoutTask => "loop_without_task",
            ErrorCode::NoAssigneeRule => "no_assignee_rule",
            ErrorCode::NoRecipients => "no_recipients",
            ErrorCode::InvalidPercent => "invalid_percent",
            ErrorCode::NoAdmins => "no_admins",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionError {
    /// Stable code.
    pub code: ErrorCode,
    /// The node at fault (for a condition: the gateway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    /// The flow at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowId>,
    /// Human-readable explanation.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(n) = &self.node {
            write!(f, " at node {n}")?;
        }
        if let Some(fl) = &self.flow {
            write!(f, " at flow {fl}")?;
        }
        write!(f, ": {}", self.message)
    }
}

struct Errors(Vec<DefinitionError>);

impl Errors {
    fn push(&mut self, code: ErrorCode, node: Option<&NodeId>, flow: Option<&FlowId>, message: impl Into<String>) {
        self.0.push(DefinitionError { code, node: node.cloned(), flow: flow.cloned(), message: message.into() });
    }
}

/// Check a definition; all problems found are returned at once.
pub fn validate(def: &ProcessDefinition) -> Result<(), Vec<DefinitionError>> {
    let mut e = Errors(Vec::new());
    ids(def, &mut e);
    let nodes: BTreeMap<&NodeId, &NodeKind> = def.nodes.iter().map(|n| (&n.id, &n.kind)).collect();
    let mut flows_ok = true;
    for f in &def.flows {
        for end in [&f.from, &f.to] {
            if !nodes.contains_key(end) {
                flows_ok = false;
                e.push(ErrorCode::UnknownNode, None, Some(&f.id), format!("flow names unknown node `{end}`"));
            }
        }
    }
    if def.admins.is_empty() {
        e.push(ErrorCode::NoAdmins, None, None, "name at least one process administrator");
    }
    let starts: Vec<&NodeId> = def.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Start)).map(|n| &n.id).collect();
    match starts.len() {
        0 => e.push(ErrorCode::MissingStart, None, None, "a process needs exactly one start node"),
        1 => {}
        _ => {
            for s in &starts[1..] {
                e.push(ErrorCode::MultipleStarts, Some(s), None, "a process needs exactly one start node");
            }
        }
    }
    if !def.nodes.iter().any(|n| matches!(n.kind, NodeKind::End { .. })) {
        e.push(ErrorCode::MissingEnd, None, None, "a process needs at least one end node");
    }
    for n in &def.nodes {
        node_rules(def, n, &mut e);
    }
    // Graph checks need well-formed ids and flows to make sense.
    if e.0.is_empty() && flows_ok && starts.len() == 1 {
        reachability(def, starts[0], &mut e);
        if e.0.is_empty() {
            structure(def, starts[0], &mut e);
            loops(def, &mut e);
        }
    }
    if e.0.is_empty() { Ok(()) } else { Err(e.0) }
}

fn ids(def: &ProcessDefinition, e: &mut Errors) {
    let mut seen = BTreeSet::new();
    for n in &def.nodes {
        if n.id.0.trim().is_empty() {
            e.push(ErrorCode::EmptyId, Some(&n.id), None, "node id is empty");
        } else if !seen.insert(&n.id) {
            e.push(ErrorCode::DuplicateNodeId, Some(&n.id), None, "node id used more than once");
        }
    }
    let mut seen = BTreeSet::new();
    for f in &def.flows {
        if f.id.0.trim().is_empty() {
            e.push(ErrorCode::EmptyId, None, Some(&f.id), "flow id is empty");
        } else if !seen.insert(&f.id) {
            e.push(ErrorCode::DuplicateFlowId, None, Some(&f.id), "flow id used more than once");
        }
    }
}

fn node_rules(def: &ProcessDefinition, n: &crate::model::Node, e: &mut Errors) {
    let out: Vec<_> = def.outgoing(&n.id).collect();
    let incoming = def.incoming(&n.id).count();
    let conditional = matches!(n.kind, NodeKind::ExclusiveGateway { .. } | NodeKind::InclusiveGateway { .. });
    if !conditional {
        for f in out.iter().filter(|f| f.condition.is_some()) {
            e.push(
                ErrorCode::ConditionNotAllowed,
                Some(&n.id),
                Some(&f.id),
                "conditions belong on flows leaving exclusive or inclusive gateways",
            );
        }
    }
    match &n.kind {
        NodeKind::Start => {
            if out.len() != 1 || incoming != 0 {
                e.push(ErrorCode::StartFlows, Some(&n.id), None, "the start needs one outgoing flow and no incoming");
            }
        }
        NodeKind::End { .. } => {
            if !out.is_empty() {
                e.push(ErrorCode::EndHasOutgoing, Some(&n.id), None, "an end node has no outgoing flows");
            }
        }
        NodeKind::UserTask { assignees, mode, .. } => {
            if assignees.is_empty() {
                e.push(ErrorCode::NoAssigneeRule, Some(&n.id), None, "a user task needs at least one assignee rule");
            }
            if let HandlingMode::Parallel { completion: Completion::Percent(p) } = mode
                && !(1..=100).contains(p)
            {
                e.push(ErrorCode::InvalidPercent, Some(&n.id), None, format!("percentage {p} is not in 1..=100"));
            }
        }
        NodeKind::Cc { recipients } => {
            if recipients.is_empty() {
                e.push(ErrorCode::NoRecipients, Some(&n.id), None, "a CC node needs at least one recipient rule");
            }
        }
        NodeKind::ServiceTask { .. } | NodeKind::ParallelGateway => {}
        NodeKind::ExclusiveGateway { default_flow } | NodeKind::InclusiveGateway { default_flow } => {
            if let Some(d) = default_flow
                && !out.iter().any(|f| &f.id == d)
            {
                e.push(
                    ErrorCode::DefaultFlowNotOutgoing,
                    Some(&n.id),
                    Some(d),
                    "the default flow must be one of the gateway's outgoing flows",
                );
            }
            for f in &out {
                match &f.condition {
                    Some(src) => {
                        if let Err(err) = Expr::compile(src) {
                            e.push(
                                ErrorCode::InvalidCondition,
                                Some(&n.id),
                                Some(&f.id),
                                format!("condition of flow {} at gateway {}: {err}", f.id, n.id),
                            );
                        }
                    }
                    None if default_flow.is_none() && out.len() > 1 => {
                        e.push(
                            ErrorCode::MissingCondition,
                            Some(&n.id),
                            Some(&f.id),
                            "without a default flow every outgoing flow of the gateway needs a condition",
                        );
                    }
                    None => {}
                }
            }
        }
    }
    if matches!(n.kind, NodeKind::UserTask { .. } | NodeKind::ServiceTask { .. } | NodeKind::Cc { .. }) && out.len() > 1
    {
        e.push(ErrorCode::MultipleOutgoing, Some(&n.id), None, "use a gateway to leave a node by several flows");
    }
}

fn reachability(def: &ProcessDefinition, start: &NodeId, e: &mut Errors) {
    let forward = closure(def, [start.clone()], false);
    let ends = def.nodes.iter().filter(|n| matches!(n.kind, NodeKind::End { .. })).map(|n| n.id.clone());
    let backward = closure(def, ends, true);
    for n in &def.nodes {
        if !forward.contains(&n.id) {
            e.push(ErrorCode::UnreachableNode, Some(&n.id), None, "cannot be reached from the start");
        } else if !backward.contains(&n.id) {
            e.push(ErrorCode::CannotReachEnd, Some(&n.id), None, "no end node can be reached from here");
        }
    }
}

fn closure(def: &ProcessDefinition, from: impl IntoIterator<Item = NodeId>, reverse: bool) -> BTreeSet<NodeId> {
    let mut seen: BTreeSet<NodeId> = BTreeSet::new();
    let mut queue: VecDeque<NodeId> = from.into_iter().collect();
    while let Some(n) = queue.pop_front() {
        if !seen.insert(n.clone()) {
            continue;
        }
        for f in &def.flows {
            let (a, b) = if reverse { (&f.to, &f.from) } else { (&f.from, &f.to) };
            if a == &n && !seen.contains(b) {
                queue.push_back(b.clone());
            }
        }
    }
    seen
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fork {
    Parallel,
    Inclusive,
}

fn fork_kind(kind: &NodeKind) -> Option<Fork> {
    match kind {
        NodeKind::ParallelGateway => Some(Fork::Parallel),
        NodeKind::InclusiveGateway { .. } => Some(Fork::Inclusive),
        _ => None,
    }
}

/// Static nesting of fork scopes: every node (but ends) must be reached inside the same stack of
/// open forks on every path, and a join must close a fork of its own kind.
fn structure(def: &ProcessDefinition, start: &NodeId, e: &mut Errors) {
    let mut at: BTreeMap<NodeId, Vec<(NodeId, Fork)>> = BTreeMap::new();
    let mut queue: VecDeque<(NodeId, Vec<(NodeId, Fork)>)> = VecDeque::from([(start.clone(), Vec::new())]);
    let mut reported = BTreeSet::new();
    while let Some((id, stack)) = queue.pop_front() {
        let Some(node) = def.node(&id) else { continue };
        if let NodeKind::End { outcome } = node.kind {
            // A rejecting end may cut branches short; completing needs every branch joined.
            if outcome == EndOutcome::Completed && !stack.is_empty() && reported.insert(id.clone()) {
                e.push(
                    ErrorCode::UnbalancedGateways,
                    Some(&id),
                    None,
                    "a completing end inside a parallel or inclusive branch: join the branches first",
                );
            }
            continue;
        }
        match at.get(&id) {
            Some(prev) if prev == &stack => continue,
            Some(_) => {
                if reported.insert(id.clone()) {
                    e.push(
                        ErrorCode::UnbalancedGateways,
                        Some(&id),
                        None,
                        "reached both inside and outside a parallel or inclusive branch: \
                         branches must meet again at the join of their fork",
                    );
                }
                continue;
            }
            None => {
                at.insert(id.clone(), stack.clone());
            }
        }
        let mut out_stack = stack;
        if let Some(kind) = fork_kind(&node.kind) {
            if def.incoming(&id).count() > 1 {
                match out_stack.pop() {
                    Some((_, k)) if k == kind => {}
                    Some((fork, _)) => {
                        e.push(
                            ErrorCode::UnbalancedGateways,
                            Some(&id),
                            None,
                            format!("this join closes gateway {fork} of another kind"),
                        );
                        continue;
                    }
                    None => {
                        e.push(ErrorCode::UnbalancedGateways, Some(&id), None, "a join without a matching fork");
                        continue;
                    }
                }
            }
            if def.outgoing(&id).count() > 1 {
                out_stack.push((id.clone(), kind));
            }
        }
        for f in def.outgoing(&id) {
            queue.push_back((f.to.clone(), out_stack.clone()));
        }
    }
}

/// Cycles through gateways and CC nodes only would make the executor spin.
fn loops(def: &ProcessDefinition, e: &mut Errors) {
    let passing: BTreeSet<&NodeId> = def
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.kind,
                NodeKind::ExclusiveGateway { .. }
                    | NodeKind::InclusiveGateway { .. }
                    | NodeKind::ParallelGateway
                    | NodeKind::Cc { .. }
            )
        })
        .map(|n| &n.id)
        .collect();
    let next = |n: &NodeId| -> Vec<&NodeId> {
        def.flows.iter().filter(|f| &f.from == n && passing.contains(&f.to)).map(|f| &f.to).collect()
    };
    for start in &passing {
        let mut seen: BTreeSet<&NodeId> = BTreeSet::new();
        let mut stack: Vec<&NodeId> = next(start);
        let mut cyclic = false;
        while let Some(n) = stack.pop() {
            if n == *start {
                cyclic = true;
                break;
            }
            if seen.insert(n) {
                stack.extend(next(n));
            }
        }
        if cyclic {
            e.push(ErrorCode::LoopWithoutTask, Some(start), None, "lies on a cycle without any user or service task");
        }
    }
}
