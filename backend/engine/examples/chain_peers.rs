//! Tongban side of `tests/load/engine_peers.sh`: the engine alone against SpiffWorkflow and
//! bpmn-engine on the same BPMN file.
//!
//! Imports the file with [`bpmn::import`], validates it, then runs `N` whole affairs one after
//! another on this thread through [`execute`]: the applicant submits, then the pending task is
//! approved by its assignee until the affair completes. One step = submitting an affair or
//! completing one user task, as for the peers, so a 5-task chain is 6 steps. The directory is in
//! memory and resolves each task to one handler; due dates come from the built-in holiday
//! calendar. Each next command (its task and actor) is found from the instance inside the timed
//! loop, as the peers find their ready task; only that loop is timed.
//!
//! ```sh
//! cargo run --release -p tongban-engine --example chain_peers -- tests/load/engine_peers/chain.bpmn [N [WARMUP]]
//! # tongban steps=... seconds=... steps_per_sec=... instances=N
//! ```
//!
//! `WARMUP` affairs (default `N / 5`, at least one) run first, untimed, as in the peers' runners.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tongban_engine::bpmn;
use tongban_engine::calendar::{DueDates, WorkCalendar};
use tongban_engine::exec::{
    Action, Command, Directory, Instance, InstanceStatus, ResolveContext, execute, execute_owned, resolve_from_data,
};
use tongban_engine::model::{AssigneeRule, ProcessDefinition, UserId};
use tongban_engine::validate::validate;

fn uid(s: &str) -> UserId {
    UserId::from(s)
}

/// The organisation in memory, as the server holds it pre-loaded: one handler per rule.
#[derive(Default)]
struct Org {
    roles: BTreeMap<String, Vec<UserId>>,
    positions: BTreeMap<String, Vec<UserId>>,
    dept_head: Vec<UserId>,
    counsellor: Vec<UserId>,
    supervising: Vec<UserId>,
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

    fn deputy(&self, _user: &UserId, _process_key: &str, _at: DateTime<Utc>) -> Option<UserId> {
        None
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
    org.positions.insert("president".into(), vec![uid("president")]);
    org
}

/// A draft with ten form fields filled in, as saved before submission (as in benches/engine.rs).
fn draft(key: &str) -> Instance {
    let mut inst = Instance::new(
        key,
        uid("2023010203"),
        json!({ "kind": "student", "name": "张三", "department_code": "cs", "class_code": "cs-2301", "grade": 2023 }),
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
fn t0() -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(1_796_000_400, 0).ok_or_else(|| "fixed timestamp out of range".to_owned())
}

/// One whole affair from `start`: Submit, then approve the pending task until it is finished.
/// Returns the number of steps.
fn run_affair(
    def: &ProcessDefinition,
    start: &Instance,
    dir: &dyn Directory,
    due: &dyn DueDates,
    t0: DateTime<Utc>,
) -> Result<u64, String> {
    let mut cmd = Command {
        actor: start.applicant.clone(),
        action: Action::Submit { picks: BTreeMap::new() },
        comment: None,
        form_patch: None,
        now: t0,
    };
    let mut inst = execute(def, start, &cmd, dir, due).map_err(|e| format!("submit refused: {e}"))?.instance;
    let mut steps = 1;
    while inst.status == InstanceStatus::Running {
        let task = inst.pending_tasks().next().ok_or("running affair without a pending task")?;
        cmd = Command {
            actor: task.assignee.clone().ok_or_else(|| format!("task {} has no single assignee", task.id))?,
            action: Action::Approve { task: task.id },
            comment: Some("同意。".into()),
            form_patch: None,
            now: cmd.now + TimeDelta::minutes(10),
        };
        inst =
            black_box(execute_owned(def, inst, &cmd, dir, due).map_err(|e| format!("approve refused: {e}"))?).instance;
        steps += 1;
    }
    if inst.status != InstanceStatus::Completed {
        return Err(format!("affair ended {:?}, not completed", inst.status));
    }
    Ok(steps)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: chain_peers FILE.bpmn [INSTANCES [WARMUP]]")?;
    let n: u64 = match args.next() {
        Some(a) => a.parse().map_err(|e| format!("instances {a}: {e}"))?,
        None => 100_000,
    };
    let warmup: u64 = match args.next() {
        Some(a) => a.parse().map_err(|e| format!("warm-up {a}: {e}"))?,
        None => (n / 5).max(1),
    };
    let xml = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let def = bpmn::import(&xml).map_err(|e| format!("{path}: {e}"))?;
    validate(&def).map_err(|errs| format!("{path}: invalid definition: {errs:?}"))?;
    let dir = org();
    let cal = WorkCalendar::builtin();
    let start = draft(&def.key);
    let t0 = t0()?;
    // Warm-up and check, outside the timing: every affair must be Submit + 5 Approves.
    for _ in 0..warmup {
        let steps = run_affair(&def, &start, &dir, &cal, t0)?;
        if steps != 6 {
            return Err(format!("the chain took {steps} steps, not start + 5 user tasks"));
        }
    }
    let mut steps = 0u64;
    let timer = Instant::now();
    for _ in 0..n {
        steps += run_affair(&def, &start, &dir, &cal, t0)?;
    }
    let seconds = timer.elapsed().as_secs_f64();
    println!("tongban steps={steps} seconds={seconds:.4} steps_per_sec={:.1} instances={n}", steps as f64 / seconds);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chain_peers: {e}");
            ExitCode::FAILURE
        }
    }
}
