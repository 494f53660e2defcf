//! Shared test support: an in-memory directory, a due-date calculator, a definition builder and
//! a harness that applies commands and checks every outcome's invariants.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tongban_engine::calendar::{DueDates, TimeLimit};
use tongban_engine::exec::{
    Action, Command, Directory, Event, ExecError, Instance, InstanceStatus, ResolveContext, TaskStatus, Wait, execute,
    execute_owned, resolve_from_data,
};
use tongban_engine::form::FieldAccess;
use tongban_engine::model::{
    AssigneeRule, Completion, EndOutcome, Flow, FlowId, HandlingMode, LeaderOf, Node, NodeId, NodeKind,
    ProcessDefinition, ServiceCall, TaskId, UserId,
};
use tongban_engine::validate::validate;

pub fn u(s: &str) -> UserId {
    UserId::from(s)
}

pub fn users(names: &[&str]) -> AssigneeRule {
    AssigneeRule::Users { users: names.iter().map(|n| u(n)).collect() }
}

/// An organisation in memory.
#[derive(Default, Clone)]
pub struct Dir {
    pub roles: BTreeMap<String, Vec<UserId>>,
    pub positions: BTreeMap<String, Vec<UserId>>,
    pub dept_head: Vec<UserId>,
    pub counsellor: Vec<UserId>,
    /// Supervising leader by department key (see [`dept_keys`]).
    pub supervising: BTreeMap<String, UserId>,
    /// Department head by department key (see [`dept_keys`]).
    pub heads: BTreeMap<String, UserId>,
    /// Leader of each user.
    pub leaders: BTreeMap<UserId, UserId>,
    pub deputies: BTreeMap<UserId, UserId>,
}

/// The departments a rule means, as keys of [`Dir`]'s maps: "" for the applicant's, the code of
/// a named one, "$process" for the process's, and the ids found in a department field.
pub fn dept_keys(of: &LeaderOf, ctx: &ResolveContext<'_>) -> Vec<String> {
    match of {
        LeaderOf::ApplicantDepartment => vec![String::new()],
        LeaderOf::Department(d) => vec![d.clone()],
        LeaderOf::ProcessDepartment => vec!["$process".to_owned()],
        LeaderOf::Field(k) => match ctx.form.get(k) {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        },
    }
}

impl Directory for Dir {
    fn resolve(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<UserId> {
        if let Some(found) = resolve_from_data(rule, ctx) {
            return found;
        }
        match rule {
            AssigneeRule::Role { code } => self.roles.get(code).cloned().unwrap_or_default(),
            AssigneeRule::Position { kind } => self.positions.get(kind).cloned().unwrap_or_default(),
            AssigneeRule::ApplicantDepartmentHead => self.dept_head.clone(),
            AssigneeRule::ClassCounsellor => self.counsellor.clone(),
            AssigneeRule::SupervisingLeader { of } => {
                dept_keys(of, ctx).iter().filter_map(|k| self.supervising.get(k)).cloned().collect()
            }
            AssigneeRule::DepartmentHead { of } => {
                dept_keys(of, ctx).iter().filter_map(|k| self.heads.get(k)).cloned().collect()
            }
            AssigneeRule::PreviousHandlerLeader => {
                ctx.previous_handler.and_then(|p| self.leaders.get(p)).cloned().into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    fn deputy(&self, user: &UserId, _process_key: &str, _at: DateTime<Utc>) -> Option<UserId> {
        self.deputies.get(user).cloned()
    }
}

/// Due dates in plain hours (the real calendar lives in `calendar.rs`).
pub struct PlusHours;

impl DueDates for PlusHours {
    fn due(&self, start: DateTime<Utc>, limit: TimeLimit) -> DateTime<Utc> {
        start + Duration::hours(i64::from(limit.amount))
    }
}

/// Builds definitions; flows get ids f1, f2, ... unless named.
pub struct B {
    pub def: ProcessDefinition,
}

impl B {
    pub fn new(key: &str) -> B {
        B {
            def: ProcessDefinition {
                key: key.into(),
                name: key.into(),
                nodes: Vec::new(),
                flows: Vec::new(),
                time_limit: None,
                admins: vec![u("admin")],
            },
        }
    }
    pub fn node(mut self, id: &str, kind: NodeKind) -> B {
        self.def.nodes.push(Node {
            id: NodeId(id.into()),
            name: id.into(),
            kind,
            time_limit: None,
            field_access: BTreeMap::new(),
        });
        self
    }
    pub fn start(self, id: &str) -> B {
        self.node(id, NodeKind::Start)
    }
    pub fn end(self, id: &str) -> B {
        self.node(id, NodeKind::End { outcome: EndOutcome::Completed })
    }
    pub fn reject_end(self, id: &str) -> B {
        self.node(id, NodeKind::End { outcome: EndOutcome::Rejected })
    }
    pub fn user(self, id: &str, who: &[&str]) -> B {
        self.task(id, vec![users(who)], HandlingMode::Single)
    }
    pub fn task(self, id: &str, assignees: Vec<AssigneeRule>, mode: HandlingMode) -> B {
        self.node(
            id,
            NodeKind::UserTask { assignees, mode, auto_approve_if_same_handler: false, opinion_required: false },
        )
    }
    pub fn seq(self, id: &str, who: &[&str]) -> B {
        self.task(id, vec![users(who)], HandlingMode::Sequential)
    }
    pub fn countersign(self, id: &str, who: &[&str], completion: Completion) -> B {
        self.task(id, vec![users(who)], HandlingMode::Parallel { completion })
    }
    pub fn xor(self, id: &str, default: Option<&str>) -> B {
        self.node(id, NodeKind::ExclusiveGateway { default_flow: default.map(|d| FlowId(d.into())) })
    }
    pub fn or(self, id: &str, default: Option<&str>) -> B {
        self.node(id, NodeKind::InclusiveGateway { default_flow: default.map(|d| FlowId(d.into())) })
    }
    pub fn and(self, id: &str) -> B {
        self.node(id, NodeKind::ParallelGateway)
    }
    pub fn service(self, id: &str) -> B {
        self.node(id, NodeKind::ServiceTask { call: ServiceCall::IssueCertificate { certificate_type: "zdzm".into() } })
    }
    pub fn cc(self, id: &str, who: &[&str]) -> B {
        self.node(id, NodeKind::Cc { recipients: vec![users(who)] })
    }
    pub fn auto(mut self, id: &str) -> B {
        if let Some(NodeKind::UserTask { auto_approve_if_same_handler, .. }) =
            self.def.nodes.iter_mut().find(|n| n.id.as_str() == id).map(|n| &mut n.kind)
        {
            *auto_approve_if_same_handler = true;
        }
        self
    }
    pub fn editable(mut self, id: &str, field: &str) -> B {
        if let Some(n) = self.def.nodes.iter_mut().find(|n| n.id.as_str() == id) {
            n.field_access.insert(field.into(), FieldAccess::Editable);
        }
        self
    }
    pub fn limit(mut self, id: &str, hours: u32) -> B {
        if let Some(n) = self.def.nodes.iter_mut().find(|n| n.id.as_str() == id) {
            n.time_limit = Some(TimeLimit { amount: hours, unit: tongban_engine::calendar::TimeUnit::Hours });
        }
        self
    }
    pub fn flow_full(mut self, id: &str, from: &str, to: &str, condition: Option<&str>) -> B {
        self.def.flows.push(Flow {
            id: FlowId(id.into()),
            from: NodeId(from.into()),
            to: NodeId(to.into()),
            name: None,
            condition: condition.map(Into::into),
        });
        self
    }
    pub fn flow(self, from: &str, to: &str) -> B {
        let id = format!("f{}", self.def.flows.len() + 1);
        self.flow_full(&id, from, to, None)
    }
    pub fn cond(self, from: &str, to: &str, condition: &str) -> B {
        let id = format!("f{}", self.def.flows.len() + 1);
        self.flow_full(&id, from, to, Some(condition))
    }
    /// Flows along a chain of nodes.
    pub fn chain(mut self, ids: &[&str]) -> B {
        for w in ids.windows(2) {
            self = self.flow(w[0], w[1]);
        }
        self
    }
    pub fn build(self) -> ProcessDefinition {
        if let Err(e) = validate(&self.def) {
            panic!("invalid test definition: {e:?}");
        }
        self.def
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap() // 2026-01-01T00:00:00Z
}

/// Applies commands to one affair, checking invariants after every accepted command.
pub struct H {
    pub def: ProcessDefinition,
    pub dir: Dir,
    pub inst: Instance,
    pub now: DateTime<Utc>,
    pub events: Vec<Event>,
}

impl H {
    pub fn new(def: ProcessDefinition) -> H {
        H::with_dir(def, Dir::default())
    }

    pub fn with_dir(def: ProcessDefinition, dir: Dir) -> H {
        let inst = Instance::new(def.key.clone(), u("app"), json!({ "kind": "student", "department_code": "cs" }));
        H { def, dir, inst, now: t0(), events: Vec::new() }
    }

    pub fn command(&self, actor: &str, action: Action) -> Command {
        Command { actor: u(actor), action, comment: None, form_patch: None, now: self.now }
    }

    pub fn try_cmd(&mut self, cmd: Command) -> Result<Vec<Event>, ExecError> {
        self.now += Duration::minutes(1);
        let cmd = Command { now: self.now, ..cmd };
        let before = self.inst.clone();
        let out = execute(&self.def, &self.inst, &cmd, &self.dir, &PlusHours);
        assert_eq!(self.inst, before, "execute must not change its input");
        // Stepping in place gives the same outcome, accepted or refused.
        assert_eq!(
            execute_owned(&self.def, before.clone(), &cmd, &self.dir, &PlusHours).as_ref(),
            out.as_ref(),
            "execute_owned agrees with execute"
        );
        let out = out?;
        // Deterministic: the same command on the same state gives the same outcome.
        assert_eq!(execute(&self.def, &before, &cmd, &self.dir, &PlusHours).as_ref(), Ok(&out));
        check_invariants(&before, &out.instance);
        let round: Instance = serde_json::from_value(serde_json::to_value(&out.instance).unwrap()).unwrap();
        assert_eq!(round, out.instance, "instance survives a JSON round trip");
        self.inst = out.instance;
        self.events = out.events.clone();
        Ok(out.events)
    }

    pub fn try_do(&mut self, actor: &str, action: Action) -> Result<Vec<Event>, ExecError> {
        let cmd = self.command(actor, action);
        self.try_cmd(cmd)
    }

    #[track_caller]
    pub fn ok(&mut self, actor: &str, action: Action) -> Vec<Event> {
        match self.try_do(actor, action.clone()) {
            Ok(e) => e,
            Err(e) => panic!("{actor} {action:?} refused: {e:?}\npending: {:?}", self.pending()),
        }
    }

    #[track_caller]
    pub fn err(&mut self, actor: &str, action: Action) -> ExecError {
        match self.try_do(actor, action.clone()) {
            Ok(_) => panic!("{actor} {action:?} accepted"),
            Err(e) => e,
        }
    }

    pub fn submit(&mut self) -> Vec<Event> {
        self.ok("app", Action::Submit { picks: BTreeMap::new() })
    }

    /// Pending tasks as (id, node, assignee or candidates joined by '|').
    pub fn pending(&self) -> Vec<(TaskId, String, String)> {
        self.inst
            .pending_tasks()
            .map(|t| {
                let who = match &t.assignee {
                    Some(a) => a.to_string(),
                    None => t.candidates.iter().map(UserId::as_str).collect::<Vec<_>>().join("|"),
                };
                (t.id, t.node.to_string(), who)
            })
            .collect()
    }

    /// Pending (node, assignee) pairs, sorted.
    pub fn open(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.pending().into_iter().map(|(_, n, w)| (n, w)).collect();
        v.sort();
        v
    }

    /// The single pending task of `user`.
    #[track_caller]
    pub fn task_of(&self, user: &str) -> TaskId {
        let mine: Vec<TaskId> =
            self.inst.pending_tasks().filter(|t| t.assignee.as_ref() == Some(&u(user))).map(|t| t.id).collect();
        assert_eq!(mine.len(), 1, "{user} should have exactly one pending task: {:?}", self.pending());
        mine[0]
    }

    pub fn approve(&mut self, user: &str) -> Vec<Event> {
        let task = self.task_of(user);
        self.ok(user, Action::Approve { task })
    }

    pub fn status(&self) -> InstanceStatus {
        self.inst.status
    }

    pub fn pending_call(&self) -> Option<u32> {
        self.inst.pending_calls().map(|c| c.id).next()
    }
}

/// What must hold after every accepted command.
pub fn check_invariants(before: &Instance, after: &Instance) {
    // History is complete and ordered.
    assert!(after.history.len() > before.history.len(), "an accepted command adds history");
    assert_eq!(&after.history[..before.history.len()], &before.history[..], "history is append-only");
    for w in after.history.windows(2) {
        assert!(w[0].seq < w[1].seq, "history seq strictly increasing");
    }
    // Tasks are never lost, and closed ones stay closed.
    assert!(after.tasks.len() >= before.tasks.len());
    for (b, a) in before.tasks.iter().zip(after.tasks.iter()) {
        assert_eq!(b.id, a.id);
        if b.status != TaskStatus::Pending {
            assert_eq!(b, a, "closed tasks never change");
        }
    }
    for t in after.pending_tasks() {
        assert!(t.assignee.is_some() || !t.candidates.is_empty(), "pending task {t:?} has nobody");
        assert!(after.tokens.iter().any(|k| k.id == t.token), "pending task {t:?} belongs to a live token");
    }
    // Every token at a user task has its active signers' tasks; every service wait a pending call.
    for k in &after.tokens {
        match &k.wait {
            Wait::Service { call } => assert!(after.pending_calls().any(|c| c.id == *call)),
            Wait::Tasks(_) => assert!(after.pending_tasks().any(|t| t.token == k.id), "token {k:?} has no task"),
            Wait::Join => {}
        }
    }
    match after.status {
        s if s.is_finished() => {
            assert!(after.tokens.is_empty(), "no tokens after the end");
            assert_eq!(after.pending_tasks().count(), 0, "no pending tasks after the end");
            assert_eq!(after.pending_calls().count(), 0, "no pending calls after the end");
            assert!(after.finished_at.is_some());
        }
        InstanceStatus::Running => assert!(
            after.pending_tasks().count() > 0 || after.pending_calls().count() > 0,
            "a running affair waits for somebody: {after:#?}"
        ),
        InstanceStatus::Returned => {
            assert!(after.tokens.is_empty() && after.pending_tasks().count() == 0);
            assert!(after.returned.is_some());
        }
        InstanceStatus::Draft => panic!("an accepted command leaves the draft state"),
        _ => {}
    }
}

pub fn value(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}
