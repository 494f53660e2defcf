//! Throughput of the pure executor on one core: whole affairs and single steps.
//!
//! Run with `cargo bench -p tongban-engine --bench engine`. Every command is prepared before
//! timing starts (fixed timestamps, task ids found by a dry run), so only `execute` and the
//! instances it produces are measured. Results are recorded in `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tongban_engine::calendar::{DueDates, TimeLimit, TimeUnit, WorkCalendar};
use tongban_engine::exec::{
    Action, Command, Directory, Instance, InstanceStatus, ResolveContext, execute, resolve_from_data,
};
use tongban_engine::form::FieldAccess;
use tongban_engine::model::{
    AssigneeRule, Completion, EndOutcome, Flow, FlowId, HandlingMode, LeaderOf, Node, NodeId, NodeKind,
    ProcessDefinition, UserId,
};
use tongban_engine::validate::validate;

fn uid(s: &str) -> UserId {
    UserId::from(s)
}

/// A small organisation in memory, as the server would hold it pre-loaded.
#[derive(Default)]
struct Org {
    roles: BTreeMap<String, Vec<UserId>>,
    positions: BTreeMap<String, Vec<UserId>>,
    dept_head: Vec<UserId>,
    counsellor: Vec<UserId>,
    supervising: Vec<UserId>,
    deputies: BTreeMap<UserId, UserId>,
}

impl Directory for Org {
    fn resolve(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<UserId> {
        if let Some(found) = resolve_from_data(rule, ctx) {
            return found;
        }
        match rule {
            AssigneeRule::Role { code } => self.roles.get(code).cloned().unwrap_or_default(),
            AssigneeRule::Position { kind } => self.positions.get(kind).cloned().unwrap_or_default(),
            AssigneeRule::ApplicantDepartmentHead => self.dept_head.clone(),
            AssigneeRule::ClassCounsellor => self.counsellor.clone(),
            AssigneeRule::SupervisingLeader { .. } => self.supervising.clone(),
            _ => Vec::new(),
        }
    }

    fn deputy(&self, user: &UserId, _process_key: &str, _at: DateTime<Utc>) -> Option<UserId> {
        self.deputies.get(user).cloned()
    }
}

fn org() -> Org {
    let mut org = Org {
        dept_head: vec![uid("head-cs")],
        counsellor: vec![uid("counsellor-cs-2301")],
        supervising: vec![uid("vice-president-students")],
        ..Org::default()
    };
    org.roles.insert("xgc_reviewer".into(), vec![uid("xgc-reviewer")]);
    org.roles.insert("academic_committee".into(), (1..=10).map(|i| uid(&format!("committee-{i:02}"))).collect());
    org.positions.insert("president".into(), vec![uid("president")]);
    // Somebody else's deputy, so the lookup is real but finds nobody for the handlers.
    org.deputies.insert(uid("head-math"), uid("deputy-math"));
    org
}

fn node(id: &str, name: &str, kind: NodeKind) -> Node {
    Node { id: NodeId(id.into()), name: name.into(), kind, time_limit: None, field_access: BTreeMap::new() }
}

fn user_task(id: &str, name: &str, rule: AssigneeRule, mode: HandlingMode) -> Node {
    let mut n = node(
        id,
        name,
        NodeKind::UserTask {
            assignees: vec![rule],
            mode,
            auto_approve_if_same_handler: false,
            opinion_required: false,
        },
    );
    n.time_limit = Some(TimeLimit { amount: 2, unit: TimeUnit::WorkingDays });
    n.field_access.insert("remarks".into(), FieldAccess::Editable);
    n
}

/// A definition from its nodes, chained in order, with a 10-working-day limit on the affair.
fn chained(key: &str, name: &str, nodes: Vec<Node>) -> ProcessDefinition {
    let flows = nodes
        .windows(2)
        .enumerate()
        .map(|(i, w)| Flow {
            id: FlowId::from(format!("f{}", i + 1)),
            from: w[0].id.clone(),
            to: w[1].id.clone(),
            name: None,
            condition: None,
        })
        .collect();
    let def = ProcessDefinition {
        key: key.into(),
        name: name.into(),
        nodes,
        flows,
        time_limit: Some(TimeLimit { amount: 10, unit: TimeUnit::WorkingDays }),
        admins: vec![uid("admin")],
    };
    if let Err(e) = validate(&def) {
        panic!("invalid benchmark definition {key}: {e:?}");
    }
    def
}

/// start → 辅导员 → 院系负责人 → 学工处 → 分管院领导 → 院长 → end, one handler each.
fn chain_5() -> ProcessDefinition {
    let single = HandlingMode::Single;
    chained(
        "leave",
        "学生请假",
        vec![
            node("start", "发起", NodeKind::Start),
            user_task("counsellor", "辅导员审核", AssigneeRule::ClassCounsellor, single),
            user_task("dept", "院系审核", AssigneeRule::ApplicantDepartmentHead, single),
            user_task("xgc", "学工处审核", AssigneeRule::Role { code: "xgc_reviewer".into() }, single),
            user_task(
                "leader",
                "分管院领导审批",
                AssigneeRule::SupervisingLeader { of: LeaderOf::ApplicantDepartment },
                single,
            ),
            user_task("president", "院长审批", AssigneeRule::Position { kind: "president".into() }, single),
            node("end", "办结", NodeKind::End { outcome: EndOutcome::Completed }),
        ],
    )
}

/// start → a 会签 of the 10 committee members (all must approve) → end.
fn countersign_10() -> ProcessDefinition {
    chained(
        "committee",
        "学术委员会会签",
        vec![
            node("start", "发起", NodeKind::Start),
            user_task(
                "committee",
                "委员会签",
                AssigneeRule::Role { code: "academic_committee".into() },
                HandlingMode::Parallel { completion: Completion::All },
            ),
            node("end", "办结", NodeKind::End { outcome: EndOutcome::Completed }),
        ],
    )
}

/// A draft with ten form fields filled in, as saved before submission.
fn draft(key: &str) -> Instance {
    let mut inst = Instance::new(
        key,
        uid("2023010203"),
        json!({
            "kind": "student",
            "name": "张三",
            "department_code": "cs",
            "class_code": "cs-2301",
            "grade": 2023
        }),
    );
    inst.form = json!({
        "leave_type": "sick",
        "reason": "感冒发烧，需要到校医院就诊并休息两天。",
        "start_date": "2026-12-01",
        "end_date": "2026-12-02",
        "days": 2,
        "destination": "校医院",
        "contact_phone": "13800138000",
        "emergency_contact": { "name": "李四", "relation": "父亲", "phone": "13900139000" },
        "attachments": ["file-7f3a9c", "file-1b22e0"],
        "remarks": ""
    });
    inst
}

/// Monday 2026-11-30 09:00 China Standard Time.
fn t0() -> DateTime<Utc> {
    match DateTime::from_timestamp(1_796_000_400, 0) {
        Some(t) => t,
        None => panic!("fixed timestamp out of range"),
    }
}

/// The commands of a whole affair: the applicant submits, then the first pending task is
/// approved by its assignee until the affair completes. Found by a dry run; the timestamps are
/// fixed, ten minutes apart.
fn plan(def: &ProcessDefinition, start: &Instance, dir: &dyn Directory, due: &dyn DueDates) -> Vec<Command> {
    let mut inst = start.clone();
    let mut cmds = Vec::new();
    let mut now = t0();
    let mut next = Command {
        actor: inst.applicant.clone(),
        action: Action::Submit { picks: BTreeMap::new() },
        comment: None,
        form_patch: None,
        now,
    };
    loop {
        let out = match execute(def, &inst, &next, dir, due) {
            Ok(out) => out,
            Err(e) => panic!("dry run refused {next:?}: {e}"),
        };
        inst = out.instance;
        cmds.push(next);
        if inst.status != InstanceStatus::Running {
            break;
        }
        let Some(task) = inst.pending_tasks().next() else { panic!("running affair without a pending task") };
        let Some(actor) = task.assignee.clone() else { panic!("task {} has no single assignee", task.id) };
        now += TimeDelta::minutes(10);
        next = Command {
            actor,
            action: Action::Approve { task: task.id },
            comment: Some("同意。".into()),
            form_patch: None,
            now,
        };
    }
    assert_eq!(inst.status, InstanceStatus::Completed, "the dry run completes the affair");
    cmds
}

/// Runs the commands from `start`; returns the final instance.
fn run_all(
    def: &ProcessDefinition,
    start: Instance,
    cmds: &[Command],
    dir: &dyn Directory,
    due: &dyn DueDates,
) -> Instance {
    let mut inst = start;
    for cmd in cmds {
        inst = match execute(def, &inst, cmd, dir, due) {
            Ok(out) => black_box(out).instance,
            Err(e) => panic!("refused {cmd:?}: {e}"),
        };
    }
    inst
}

/// A whole affair from `draft`, timed from Submit to completion.
fn bench_affair(c: &mut Criterion, name: &str, def: &ProcessDefinition, expected_steps: usize) {
    let dir = org();
    let cal = WorkCalendar::builtin();
    let start = draft(&def.key);
    let cmds = plan(def, &start, &dir, &cal);
    assert_eq!(cmds.len(), expected_steps, "{name}: steps per affair");
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(cmds.len() as u64));
    group.bench_function("affair", |b| {
        b.iter_batched(|| start.clone(), |inst| run_all(def, inst, &cmds, &dir, &cal), BatchSize::SmallInput)
    });
    group.finish();
}

fn chain_5_nodes(c: &mut Criterion) {
    // Submit + 5 approves.
    bench_affair(c, "chain_5_nodes", &chain_5(), 6);
}

fn countersign(c: &mut Criterion) {
    // Submit + 10 approves.
    bench_affair(c, "countersign", &countersign_10(), 11);
}

fn approve_step_only(c: &mut Criterion) {
    let def = chain_5();
    let dir = org();
    let cal = WorkCalendar::builtin();
    let start = draft(&def.key);
    let cmds = plan(&def, &start, &dir, &cal);
    // Submitted and approved twice: the third of five tasks (学工处) is pending.
    let before = run_all(&def, start, &cmds[..3], &dir, &cal);
    let approve = &cmds[3];
    assert!(matches!(approve.action, Action::Approve { .. }));
    let mut group = c.benchmark_group("approve_step_only");
    group.throughput(Throughput::Elements(1));
    group.bench_function("approve", |b| {
        b.iter_batched(
            || before.clone(),
            |inst| {
                let out = execute(&def, &inst, approve, &dir, &cal);
                // Both dropped after timing.
                (inst, out)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    // The step really does what is measured.
    match execute(&def, &before, approve, &dir, &cal) {
        Ok(out) => {
            let pending: Vec<&str> = out.instance.pending_tasks().map(|t| t.node.as_str()).collect();
            assert_eq!(pending, vec!["leader"]);
        }
        Err(e) => panic!("approve refused: {e}"),
    }
}

fn config() -> Criterion {
    Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = chain_5_nodes, countersign, approve_step_only
}
criterion_main!(benches);
