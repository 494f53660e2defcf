//! Moving tokens through the graph and keeping user tasks' signers and tasks in step.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::state::{
    Arrival, CallRecord, CallStatus, Frame, HistoryAction, HistoryEntry, Instance, InstanceStatus, Slot, Task,
    TaskKind, TaskResult, TaskStatus, Token, TrailEntry, Wait, Work,
};
use super::{Command, Directory, Event, ExecError, NotifyReason, ResolveContext};
use crate::calendar::DueDates;
use crate::expr::Expr;
use crate::model::{
    AssigneeRule, Completion, EndOutcome, Flow, HandlingMode, Node, NodeId, NodeKind, ProcessDefinition, TaskId, UserId,
};

/// Node arrivals allowed within one command before the engine gives up.
const STEP_LIMIT: u32 = 10_000;

/// One command being executed.
pub(crate) struct Run<'a> {
    pub def: &'a ProcessDefinition,
    pub dir: &'a dyn Directory,
    pub due: &'a dyn DueDates,
    pub cmd: &'a Command,
    pub now: DateTime<Utc>,
    pub inst: Instance,
    pub events: Vec<Event>,
    queue: VecDeque<Arrival>,
    steps: u32,
}

/// A history entry under construction.
pub(crate) struct Line {
    pub actor: Option<UserId>,
    pub action: HistoryAction,
    pub node: Option<NodeId>,
    pub task: Option<TaskId>,
    pub comment: Option<String>,
    pub changed_fields: Vec<String>,
    pub detail: Value,
}

impl Line {
    pub fn new(action: HistoryAction) -> Line {
        Line {
            actor: None,
            action,
            node: None,
            task: None,
            comment: None,
            changed_fields: Vec::new(),
            detail: Value::Null,
        }
    }
    pub fn actor(mut self, u: &UserId) -> Line {
        self.actor = Some(u.clone());
        self
    }
    pub fn node(mut self, n: &NodeId) -> Line {
        self.node = Some(n.clone());
        self
    }
    pub fn task(mut self, t: TaskId) -> Line {
        self.task = Some(t);
        self
    }
    pub fn comment(mut self, c: Option<&String>) -> Line {
        self.comment = c.cloned();
        self
    }
    pub fn detail(mut self, d: Value) -> Line {
        self.detail = d;
        self
    }
}

impl<'a> Run<'a> {
    pub fn new(
        def: &'a ProcessDefinition,
        dir: &'a dyn Directory,
        due: &'a dyn DueDates,
        cmd: &'a Command,
        inst: Instance,
    ) -> Run<'a> {
        Run { def, dir, due, cmd, now: cmd.now, inst, events: Vec::new(), queue: VecDeque::new(), steps: 0 }
    }

    pub fn node(&self, id: &NodeId) -> Result<&'a Node, ExecError> {
        self.def.node(id).ok_or_else(|| ExecError::UnknownNode(id.clone()))
    }

    pub fn log(&mut self, line: Line) {
        self.inst.counters.seq += 1;
        self.inst.history.push(HistoryEntry {
            seq: self.inst.counters.seq,
            at: self.now,
            actor: line.actor,
            action: line.action,
            node: line.node,
            task: line.task,
            comment: line.comment,
            changed_fields: line.changed_fields,
            detail: line.detail,
        });
    }

    pub fn is_pending(&self, id: TaskId) -> bool {
        self.inst.task(id).is_some_and(|t| t.status == TaskStatus::Pending)
    }

    pub fn token_index(&self, id: u32) -> Option<usize> {
        self.inst.tokens.iter().position(|t| t.id == id)
    }

    pub fn work_mut(&mut self, token: u32) -> Option<&mut Work> {
        match self.inst.tokens.iter_mut().find(|t| t.id == token).map(|t| &mut t.wait) {
            Some(Wait::Tasks(w)) => Some(w),
            _ => None,
        }
    }

    /// Close a pending task (no-op otherwise).
    pub fn close_task(&mut self, id: TaskId, status: TaskStatus, result: TaskResult) {
        let now = self.now;
        if let Some(t) = self.inst.tasks.iter_mut().find(|t| t.id == id) {
            close(t, now, status, result, &mut self.events);
        }
    }

    /// Create a task; `deputy` applies the assignee's out-of-office deputy.
    #[allow(clippy::too_many_arguments)]
    pub fn create_task(
        &mut self,
        token: u32,
        assignee: Option<UserId>,
        original: Option<UserId>,
        candidates: Vec<UserId>,
        kind: TaskKind,
        order: Option<u32>,
        deputy: bool,
    ) -> Result<TaskId, ExecError> {
        let idx = self.token_index(token).ok_or(ExecError::TaskNotPending)?;
        let (node, due_at) = (self.inst.tokens[idx].node.clone(), self.inst.tokens[idx].due_at);
        let (mut assignee, mut original, mut candidates) = (assignee, original, candidates);
        if deputy {
            let key = self.def.key.as_str();
            if let Some(u) = assignee.clone()
                && let Some(d) = self.dir.deputy(&u, key, self.now).filter(|d| d != &u)
            {
                assignee = Some(d);
                original = Some(u);
            }
            let mut mapped: Vec<UserId> = Vec::new();
            for c in candidates {
                let c = self.dir.deputy(&c, key, self.now).unwrap_or(c);
                if !mapped.contains(&c) {
                    mapped.push(c);
                }
            }
            candidates = mapped;
        }
        self.inst.counters.task += 1;
        let id = TaskId(self.inst.counters.task);
        self.inst.tasks.push(Task {
            id,
            node,
            token,
            assignee,
            original_assignee: original,
            candidates,
            kind,
            status: TaskStatus::Pending,
            order,
            created_at: self.now,
            due_at,
            closed_at: None,
            result: None,
        });
        self.events.push(Event::TaskCreated { task: id });
        Ok(id)
    }

    /// Remove a token with its pending tasks and service call.
    pub fn cancel_token(&mut self, token: u32) {
        self.take_token(token);
    }

    /// [`Run::cancel_token`], handing the removed token back.
    fn take_token(&mut self, token: u32) -> Option<Token> {
        let idx = self.token_index(token)?;
        let removed = self.inst.tokens.remove(idx);
        let now = self.now;
        for t in self.inst.tasks.iter_mut().filter(|t| t.token == token) {
            close(t, now, TaskStatus::Cancelled, TaskResult::Cancelled, &mut self.events);
        }
        for c in self.inst.calls.iter_mut().filter(|c| c.token == token && c.status == CallStatus::Pending) {
            c.status = CallStatus::Cancelled;
        }
        Some(removed)
    }

    pub fn cancel_all_tokens(&mut self) {
        let ids: Vec<u32> = self.inst.tokens.iter().map(|t| t.id).collect();
        for id in ids {
            self.cancel_token(id);
        }
    }

    /// End the affair: everything open is cancelled.
    pub fn finish(&mut self, status: InstanceStatus, node: Option<&NodeId>) {
        self.cancel_all_tokens();
        self.queue.clear();
        self.inst.status = status;
        self.inst.finished_at = Some(self.now);
        self.inst.returned = None;
        self.inst.undo = None;
        let mut line = Line::new(HistoryAction::Finished).detail(json!({ "status": status }));
        line.node = node.cloned();
        self.log(line);
        self.events.push(Event::Finished { status });
        if status != InstanceStatus::Withdrawn {
            self.events
                .push(Event::Notify { users: vec![self.inst.applicant.clone()], reason: NotifyReason::Finished });
        }
    }

    pub fn enqueue(&mut self, arrival: Arrival) {
        self.queue.push_back(arrival);
    }

    /// Move tokens until every one rests at a task, a service call, a join or an end.
    pub fn drain(&mut self) -> Result<(), ExecError> {
        while let Some(a) = self.queue.pop_front() {
            if self.inst.status.is_finished() {
                self.queue.clear();
                break;
            }
            self.steps += 1;
            if self.steps > STEP_LIMIT {
                return Err(ExecError::LoopLimit);
            }
            self.arrive(a)?;
        }
        Ok(())
    }

    fn new_token(&mut self, a: Arrival, wait: Wait, due_at: Option<DateTime<Utc>>) -> u32 {
        self.inst.counters.token += 1;
        let id = self.inst.counters.token;
        self.inst.tokens.push(Token {
            id,
            node: a.node,
            via: a.via,
            stack: a.stack,
            trail: a.trail,
            wait,
            entered_at: self.now,
            due_at,
        });
        id
    }

    fn follow(&mut self, flow: &Flow, stack: Vec<Frame>, trail: Vec<TrailEntry>) {
        self.queue.push_back(Arrival { node: flow.to.clone(), via: Some(flow.id.clone()), stack, trail });
    }

    fn arrive(&mut self, a: Arrival) -> Result<(), ExecError> {
        let def = self.def;
        let node = self.node(&a.node)?;
        match &node.kind {
            NodeKind::Start => {
                if let Some(f) = def.outgoing(&node.id).next() {
                    self.follow(f, a.stack, a.trail);
                }
            }
            NodeKind::End { outcome } => {
                let status = match outcome {
                    EndOutcome::Completed => InstanceStatus::Completed,
                    EndOutcome::Rejected => InstanceStatus::Rejected,
                };
                self.finish(status, Some(&node.id));
            }
            NodeKind::UserTask { assignees, mode, .. } => self.enter_user_task(a, node, assignees, *mode)?,
            NodeKind::ServiceTask { call } => {
                let due_at = node.time_limit.map(|l| self.due.due(self.now, l));
                self.inst.counters.call += 1;
                let call_id = self.inst.counters.call;
                let token = self.new_token(a, Wait::Service { call: call_id }, due_at);
                self.inst.calls.push(CallRecord {
                    id: call_id,
                    node: node.id.clone(),
                    token,
                    call: call.clone(),
                    status: CallStatus::Pending,
                });
                self.log(Line::new(HistoryAction::ServiceCalled).node(&node.id).detail(json!({ "call_id": call_id })));
                self.events.push(Event::ServiceCall { call_id, node: node.id.clone(), call: call.clone() });
            }
            NodeKind::Cc { recipients } => {
                let users = self.resolve(node, recipients, &a.trail);
                let detail = json!({ "users": users });
                self.log(Line::new(HistoryAction::CcNotified).node(&node.id).detail(detail));
                if !users.is_empty() {
                    self.events.push(Event::Notify { users, reason: NotifyReason::Cc });
                }
                if let Some(f) = def.outgoing(&node.id).next() {
                    self.follow(f, a.stack, a.trail);
                }
            }
            NodeKind::ExclusiveGateway { default_flow } => {
                let mut taken = None;
                for f in def.outgoing(&node.id).filter(|f| Some(&f.id) != default_flow.as_ref()) {
                    if self.condition(node, f) {
                        taken = Some(f);
                        break;
                    }
                }
                let taken = taken.or_else(|| default_flow.as_ref().and_then(|d| def.flow(d)));
                let f = taken.ok_or_else(|| ExecError::NoRoute(node.id.clone()))?;
                self.follow(f, a.stack, a.trail);
            }
            NodeKind::ParallelGateway | NodeKind::InclusiveGateway { .. } => self.gateway(a, node)?,
        }
        Ok(())
    }

    fn condition(&mut self, gateway: &Node, flow: &Flow) -> bool {
        let Some(src) = &flow.condition else { return true };
        let result = Expr::compile(src).and_then(|e| e.eval_bool(&self.inst.form, &self.inst.applicant_attrs));
        match result {
            Ok(b) => b,
            Err(err) => {
                let detail = json!({ "flow": flow.id, "error": err.to_string() });
                self.log(Line::new(HistoryAction::ConditionFailed).node(&gateway.id).detail(detail));
                false
            }
        }
    }

    fn gateway(&mut self, a: Arrival, node: &'a Node) -> Result<(), ExecError> {
        let def = self.def;
        let (mut stack, trail) = if def.incoming(&node.id).count() > 1 {
            let Some(top) = a.stack.last().cloned() else {
                // Not reachable with a valid definition: a join outside any fork waits forever.
                self.new_token(a, Wait::Join, None);
                return Ok(());
            };
            let mut stack = a.stack.clone();
            self.new_token(a, Wait::Join, None);
            let waiting: Vec<u32> = self
                .inst
                .tokens
                .iter()
                .filter(|t| t.node == node.id && t.wait == Wait::Join && t.stack.last().is_some_and(|f| f.id == top.id))
                .map(|t| t.id)
                .collect();
            if (waiting.len() as u32) < top.branches {
                return Ok(());
            }
            let mut trails: Vec<Vec<TrailEntry>> = Vec::new();
            self.inst.tokens.retain(|t| {
                if waiting.contains(&t.id) {
                    trails.push(t.trail.clone());
                    false
                } else {
                    true
                }
            });
            stack.pop();
            // Nodes inside the closed branches are no longer on the path (a single inclusive
            // branch leaves them in the common prefix).
            let mut trail = common_prefix(trails);
            trail.retain(|e| e.depth as usize <= stack.len());
            (stack, trail)
        } else {
            (a.stack, a.trail)
        };
        let outgoing: Vec<&Flow> = def.outgoing(&node.id).collect();
        let chosen: Vec<&Flow> = match &node.kind {
            NodeKind::InclusiveGateway { default_flow } => {
                let mut chosen = Vec::new();
                for f in outgoing.iter().filter(|f| Some(&f.id) != default_flow.as_ref()) {
                    if self.condition(node, f) {
                        chosen.push(*f);
                    }
                }
                if chosen.is_empty()
                    && let Some(d) = default_flow.as_ref().and_then(|d| def.flow(d))
                {
                    chosen.push(d);
                }
                chosen
            }
            _ => outgoing.clone(),
        };
        if chosen.is_empty() {
            return Err(ExecError::NoRoute(node.id.clone()));
        }
        if outgoing.len() > 1 {
            self.inst.counters.frame += 1;
            stack.push(Frame { id: self.inst.counters.frame, gateway: node.id.clone(), branches: chosen.len() as u32 });
        }
        for f in chosen {
            self.follow(f, stack.clone(), trail.clone());
        }
        Ok(())
    }

    fn context<'b>(&'b self, node: &'b NodeId, previous: Option<&'b UserId>) -> ResolveContext<'b> {
        ResolveContext {
            process_key: &self.def.key,
            node,
            applicant: &self.inst.applicant,
            applicant_attrs: &self.inst.applicant_attrs,
            form: &self.inst.form,
            previous_handler: previous,
            picks: &self.inst.picks,
        }
    }

    /// Who handled the previous user task on a path: its approvers, or the applicant at first.
    fn previous_handlers<'b>(&'b self, trail: &'b [TrailEntry]) -> &'b [UserId] {
        match trail.last() {
            Some(e) => &e.handlers,
            None => std::slice::from_ref(&self.inst.applicant),
        }
    }

    fn resolve(&self, node: &Node, rules: &[AssigneeRule], trail: &[TrailEntry]) -> Vec<UserId> {
        let previous = self.previous_handlers(trail);
        let ctx = self.context(&node.id, previous.last());
        let mut users: Vec<UserId> = Vec::new();
        for rule in rules {
            for u in self.dir.resolve(rule, &ctx) {
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        }
        users
    }

    fn admin_group(&self) -> Vec<Vec<Slot>> {
        let admins = self.def.admins.clone();
        let slot = if admins.len() == 1 {
            Slot { user: admins.first().cloned(), candidates: Vec::new(), task: None, approved_by: None, added: None }
        } else {
            Slot { user: None, candidates: admins, task: None, approved_by: None, added: None }
        };
        vec![vec![slot]]
    }

    fn enter_user_task(
        &mut self,
        a: Arrival,
        node: &'a Node,
        rules: &[AssigneeRule],
        mode: HandlingMode,
    ) -> Result<(), ExecError> {
        let users = self.resolve(node, rules, &a.trail);
        let slot = |user: Option<UserId>, candidates: Vec<UserId>| Slot {
            user,
            candidates,
            task: None,
            approved_by: None,
            added: None,
        };
        let groups = if users.is_empty() {
            let described: Vec<String> = rules.iter().map(ToString::to_string).collect();
            let detail = json!({ "rules": described, "assigned_to": self.def.admins });
            self.log(Line::new(HistoryAction::NoAssignee).node(&node.id).detail(detail));
            self.admin_group()
        } else {
            match mode {
                HandlingMode::Single if users.len() == 1 => vec![vec![slot(users.first().cloned(), Vec::new())]],
                HandlingMode::Single => vec![vec![slot(None, users)]],
                HandlingMode::Sequential | HandlingMode::Parallel { .. } => {
                    users.into_iter().map(|u| vec![slot(Some(u), Vec::new())]).collect()
                }
            }
        };
        let completion = match mode {
            HandlingMode::Parallel { completion } => completion,
            _ => Completion::All,
        };
        let work = Work { completion, sequential: mode == HandlingMode::Sequential, groups };
        let due_at = node.time_limit.map(|l| self.due.due(self.now, l));
        let token = self.new_token(a, Wait::Tasks(work), due_at);
        self.settle(token, true)
    }

    /// Turn a failed service call's token into a task for the administrators.
    pub fn service_failed(&mut self, token: u32) -> Result<(), ExecError> {
        let groups = self.admin_group();
        if let Some(idx) = self.token_index(token) {
            self.inst.tokens[idx].wait = Wait::Tasks(Work { completion: Completion::All, sequential: false, groups });
        }
        self.settle(token, false)
    }

    /// Bring a user task up to date: complete it if its rule is met, else make sure every active
    /// signer has a pending task (approving automatically where the definition says so).
    pub fn settle(&mut self, token: u32, auto: bool) -> Result<(), ExecError> {
        loop {
            let Some(idx) = self.token_index(token) else { return Ok(()) };
            let tok = &self.inst.tokens[idx];
            let Wait::Tasks(work) = &tok.wait else { return Ok(()) };
            if is_complete(work) {
                return self.complete_node(token);
            }
            let node = self.node(&tok.node)?;
            let auto_ok = auto && matches!(node.kind, NodeKind::UserTask { auto_approve_if_same_handler: true, .. });
            let previous = self.previous_handlers(&tok.trail);
            let sequential = work.sequential;
            let node_id = tok.node.clone();
            let service = matches!(node.kind, NodeKind::ServiceTask { .. });
            let mut auto_approved = None;
            let mut to_create = Vec::new();
            for (g, s) in active_slots(work) {
                let slot = &work.groups[g][s];
                if slot.task.is_some_and(|t| self.is_pending(t)) {
                    continue;
                }
                if auto_ok
                    && slot.added.is_none()
                    && let Some(u) = &slot.user
                    && previous.contains(u)
                {
                    auto_approved = Some((g, s, u.clone()));
                    break;
                }
                to_create.push((g, s, slot.clone()));
            }
            if let Some((g, s, user)) = auto_approved {
                if let Some(w) = self.work_mut(token) {
                    w.groups[g][s].approved_by = Some(user.clone());
                }
                let detail = json!({ "reason": "same handler as the previous node" });
                self.log(Line::new(HistoryAction::AutoApproved).actor(&user).node(&node_id).detail(detail));
                continue;
            }
            for (g, s, slot) in to_create {
                let kind = match (&slot.added, service) {
                    (_, true) => TaskKind::ServiceFailure,
                    (Some(added), _) => match added.position {
                        super::SignerPosition::Before => TaskKind::AddedBefore { by: added.by.clone() },
                        super::SignerPosition::After => TaskKind::AddedAfter { by: added.by.clone() },
                    },
                    (None, _) => TaskKind::Normal,
                };
                let order = sequential.then_some(g as u32 + 1);
                let id =
                    self.create_task(token, slot.user.clone(), None, slot.candidates.clone(), kind, order, true)?;
                if let Some(w) = self.work_mut(token) {
                    w.groups[g][s].task = Some(id);
                }
            }
            return Ok(());
        }
    }

    fn complete_node(&mut self, token: u32) -> Result<(), ExecError> {
        let Some(tok) = self.take_token(token) else { return Ok(()) };
        let node = self.node(&tok.node)?;
        let mut trail = tok.trail;
        if matches!(node.kind, NodeKind::UserTask { .. })
            && let Wait::Tasks(work) = &tok.wait
        {
            let mut handlers: Vec<UserId> = Vec::new();
            for u in work.groups.iter().flatten().filter_map(|s| s.approved_by.as_ref()) {
                if !handlers.contains(u) {
                    handlers.push(u.clone());
                }
            }
            // The one whose approval completed the node counts as "the" previous handler.
            if let Some(last) = self.cmd_actor_if_handler(&handlers) {
                handlers.retain(|h| h != &last);
                handlers.push(last);
            }
            trail.push(TrailEntry { node: tok.node.clone(), depth: tok.stack.len() as u32, handlers });
        }
        if let Some(f) = self.def.outgoing(&tok.node).next() {
            self.follow(f, tok.stack, trail);
        }
        Ok(())
    }

    fn cmd_actor_if_handler(&self, handlers: &[UserId]) -> Option<UserId> {
        handlers.iter().find(|h| *h == &self.cmd.actor).cloned()
    }
}

/// Close `t` if it is pending (no-op otherwise), telling the server.
fn close(t: &mut Task, now: DateTime<Utc>, status: TaskStatus, result: TaskResult, events: &mut Vec<Event>) {
    if t.status == TaskStatus::Pending {
        t.status = status;
        t.result = Some(result);
        t.closed_at = Some(now);
        events.push(Event::TaskClosed { task: t.id });
    }
}

/// Whether a user task's completion rule is met.
pub(crate) fn is_complete(work: &Work) -> bool {
    let n = work.groups.len();
    let approved = work.groups.iter().filter(|g| g.iter().all(|s| s.approved_by.is_some())).count();
    match work.completion {
        Completion::All => approved == n,
        Completion::Any => approved >= 1,
        Completion::Percent(p) => approved * 100 >= usize::from(p) * n,
    }
}

/// Signers who should have a task now: the first unapproved signer of every open group (all
/// unapproved groups, or only the first one when sequential).
pub(crate) fn active_slots(work: &Work) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (g, group) in work.groups.iter().enumerate() {
        if let Some(s) = group.iter().position(|s| s.approved_by.is_none()) {
            out.push((g, s));
            if work.sequential {
                break;
            }
        }
    }
    out
}

fn common_prefix(trails: Vec<Vec<TrailEntry>>) -> Vec<TrailEntry> {
    let mut iter = trails.into_iter();
    let Some(mut prefix) = iter.next() else { return Vec::new() };
    for t in iter {
        let n = prefix.iter().zip(t.iter()).take_while(|(a, b)| a == b).count();
        prefix.truncate(n);
    }
    prefix
}
