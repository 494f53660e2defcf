//! Property tests over random valid definitions and random action sequences.
//!
//! Every accepted command is checked by the harness (`common::check_invariants`): history grows,
//! is append-only and strictly ordered; a running affair has a pending task or service call; every
//! pending task has an assignee or candidates and a live token; a finished affair has nothing open;
//! the instance survives a JSON round trip; the same command on the same state gives the same
//! outcome. On top of that: nothing is accepted after the end, and whatever happened, handling
//! the open tasks always brings the affair to an end.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tongban_engine::exec::{
    Action, ExecError, InstanceStatus, ResubmitMode, ReturnTarget, SignerPosition, TaskStatus, Wait,
};
use tongban_engine::model::{AssigneeRule, Completion, HandlingMode, NodeId, ProcessDefinition, TaskId};
use tongban_engine::validate::validate;

#[derive(Debug, Clone)]
enum Block {
    Task { who: Vec<u8>, mode: u8, auto: bool },
    Service,
    Cc,
    MaybeReject,
    Seq(Vec<Block>),
    Par(Vec<Block>),
    Xor(Vec<Block>),
    Incl(Vec<Block>),
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        6 => (prop::collection::vec(0u8..5, 0..4), 0u8..5, any::<bool>())
            .prop_map(|(who, mode, auto)| Block::Task { who, mode, auto }),
        1 => Just(Block::Service),
        1 => Just(Block::Cc),
        1 => Just(Block::MaybeReject),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Block::Seq),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Block::Par),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Block::Xor),
            prop::collection::vec(inner, 2..4).prop_map(Block::Incl),
        ]
    })
}

struct Gen {
    b: B,
    n: usize,
}

impl Gen {
    fn id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    fn link(&mut self, from: &str, to: &str, cond: Option<String>) {
        let id = self.id("f");
        let b = std::mem::replace(&mut self.b, B::new("x"));
        self.b = b.flow_full(&id, from, to, cond.as_deref());
    }

    fn add(&mut self, f: impl FnOnce(B) -> B) {
        let b = std::mem::replace(&mut self.b, B::new("x"));
        self.b = f(b);
    }

    /// Emit `block` entered from `from` (by a flow with `cond`); returns its exit node.
    fn emit(&mut self, block: &Block, from: &str, cond: Option<String>) -> String {
        match block {
            Block::Task { who, mode, auto } => {
                let id = self.id("t");
                let rules = if who.is_empty() {
                    vec![AssigneeRule::Role { code: "nobody".into() }]
                } else {
                    let names: Vec<String> = who.iter().map(|w| format!("u{w}")).collect();
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    vec![users(&refs)]
                };
                let mode = match mode {
                    0 => HandlingMode::Single,
                    1 => HandlingMode::Sequential,
                    2 => HandlingMode::Parallel { completion: Completion::All },
                    3 => HandlingMode::Parallel { completion: Completion::Any },
                    _ => HandlingMode::Parallel { completion: Completion::Percent(50) },
                };
                let auto = *auto;
                self.add(|b| {
                    let b = b.task(&id, rules, mode);
                    if auto { b.auto(&id) } else { b }
                });
                self.link(from, &id, cond);
                id
            }
            Block::Service => {
                let id = self.id("svc");
                self.add(|b| b.service(&id));
                self.link(from, &id, cond);
                id
            }
            Block::Cc => {
                let id = self.id("cc");
                self.add(|b| b.cc(&id, &["u0", "watcher"]));
                self.link(from, &id, cond);
                id
            }
            Block::MaybeReject => {
                let (g, end, d) = (self.id("g"), self.id("no"), self.id("d"));
                self.add(|b| b.xor(&g, Some(&d)).reject_end(&end));
                self.link(from, &g, cond);
                self.link(&g, &end, Some("form.x == 3".into()));
                // The default flow leads to a pass-through gateway that is the block's exit.
                let exit = self.id("p");
                self.add(|b| b.xor(&exit, None).flow_full(&d, &g, &exit, None));
                exit
            }
            Block::Seq(items) => {
                let mut at = from.to_string();
                let mut cond = cond;
                for item in items {
                    at = self.emit(item, &at, cond.take());
                }
                at
            }
            Block::Par(items) | Block::Xor(items) | Block::Incl(items) => {
                let (fork, join) = (self.id("fork"), self.id("join"));
                let d = self.id("d");
                let n = items.len();
                match block {
                    Block::Par(_) => self.add(|b| b.and(&fork).and(&join)),
                    Block::Xor(_) => self.add(|b| b.xor(&fork, Some(&d)).xor(&join, None)),
                    _ => self.add(|b| b.or(&fork, Some(&d)).or(&join, None)),
                }
                self.link(from, &fork, cond);
                for (i, item) in items.iter().enumerate() {
                    let last = i + 1 == n;
                    let branch_cond = match block {
                        Block::Par(_) => None,
                        Block::Xor(_) if !last => Some(format!("form.x == {i}")),
                        Block::Incl(_) if !last => Some(format!("form.x > {i}")),
                        _ => None,
                    };
                    let exit = if last && !matches!(block, Block::Par(_)) {
                        // The last branch is the default: emit it behind a named flow.
                        let entry = self.id("p");
                        self.add(|b| b.xor(&entry, None).flow_full(&d, &fork, &entry, None));
                        self.emit(item, &entry, None)
                    } else {
                        self.emit(item, &fork, branch_cond)
                    };
                    self.link(&exit, &join, None);
                }
                join
            }
        }
    }
}

fn definition(root: &Block) -> ProcessDefinition {
    let mut g = Gen { b: B::new("prop").start("s").end("e"), n: 0 };
    let exit = g.emit(root, "s", None);
    g.link(&exit, "e", None);
    let def = g.b.def;
    if let Err(e) = validate(&def) {
        panic!("generated an invalid definition: {e:#?}\n{def:#?}");
    }
    def
}

fn directory() -> Dir {
    let mut dir = Dir::default();
    dir.deputies.insert(u("u4"), u("d4"));
    dir
}

/// One random step, interpreted against the current state so that most steps make sense.
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: u8,
    pick: u8,
    who: u8,
    extra: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(kind, pick, who, extra)| Step {
        kind,
        pick,
        who,
        extra,
    })
}

fn someone(n: u8) -> String {
    ["u0", "u1", "u2", "u3", "u4", "d4", "admin", "app", "stranger"][usize::from(n) % 9].to_string()
}

fn interpret(h: &H, s: Step) -> (String, Action) {
    let pending: Vec<_> = h.inst.pending_tasks().cloned().collect();
    let task = (!pending.is_empty()).then(|| pending[usize::from(s.pick) % pending.len()].clone());
    let holder = task.as_ref().map(|t| match &t.assignee {
        Some(a) => a.to_string(),
        None => t.candidates.first().map(|c| c.to_string()).unwrap_or_default(),
    });
    // One step in eight comes from someone random.
    let actor = |default: Option<String>| {
        if s.who.is_multiple_of(8) { someone(s.extra) } else { default.unwrap_or_else(|| someone(s.who)) }
    };
    let id = task.as_ref().map(|t| t.id).unwrap_or(TaskId(u32::from(s.pick % 4) + 1));
    if h.status() == InstanceStatus::Returned && !s.kind.is_multiple_of(4) {
        let mode = if s.extra.is_multiple_of(2) { ResubmitMode::BackToReturner } else { ResubmitMode::ThroughFlow };
        return (actor(Some("app".into())), Action::Resubmit { mode });
    }
    match s.kind % 20 {
        0..=6 => {
            if task.as_ref().is_some_and(|t| t.assignee.is_none()) {
                (actor(holder), Action::Claim { task: id })
            } else {
                (actor(holder), Action::Approve { task: id })
            }
        }
        7 => (actor(holder), Action::Reject { task: id }),
        8 | 19 => {
            let trail: Vec<NodeId> = task
                .as_ref()
                .and_then(|t| h.inst.tokens.iter().find(|k| k.id == t.token))
                .map(|k| k.trail.iter().map(|e| e.node.clone()).collect())
                .unwrap_or_default();
            let to = match s.extra % 4 {
                0 => ReturnTarget::Applicant,
                1 => ReturnTarget::Previous,
                _ if trail.is_empty() => ReturnTarget::Node(NodeId("t1".into())),
                _ => ReturnTarget::Node(trail[usize::from(s.extra) % trail.len()].clone()),
            };
            (actor(holder), Action::Return { task: id, to })
        }
        9 => (actor(holder), Action::Transfer { task: id, to: u(&someone(s.extra)) }),
        10 => (actor(holder), Action::Delegate { task: id, to: u(&someone(s.extra)) }),
        11 => {
            let position = if s.extra.is_multiple_of(2) { SignerPosition::Before } else { SignerPosition::After };
            (actor(holder), Action::AddSigner { task: id, users: vec![u(&someone(s.extra / 2))], position })
        }
        12 => {
            // Remove a signer the actor added, if any.
            let added = h.inst.tokens.iter().find_map(|k| match &k.wait {
                Wait::Tasks(w) => w.groups.iter().flatten().find_map(|sl| {
                    let by = sl.added.as_ref()?.by.clone();
                    let holder_task =
                        h.inst.tasks.iter().rev().find(|t| t.token == k.id && t.assignee.as_ref() == Some(&by))?;
                    Some((by, holder_task.id, sl.user.clone()?))
                }),
                _ => None,
            });
            match added {
                Some((by, t, user)) => (actor(Some(by.to_string())), Action::RemoveSigner { task: t, user }),
                None => (actor(holder), Action::RemoveSigner { task: id, user: u(&someone(s.extra)) }),
            }
        }
        13 => match &h.inst.undo {
            Some(undo) if !s.extra.is_multiple_of(4) => {
                let by = h.inst.task(undo.task).and_then(|t| t.assignee.clone()).map(|a| a.to_string());
                (actor(by), Action::WithdrawTask { task: undo.task })
            }
            _ => (actor(holder), Action::WithdrawTask { task: id }),
        },
        14 => {
            let mode = if s.extra.is_multiple_of(2) { ResubmitMode::BackToReturner } else { ResubmitMode::ThroughFlow };
            (actor(Some("app".into())), Action::Resubmit { mode })
        }
        15 => {
            let call = h.inst.pending_calls().map(|c| c.id).next().unwrap_or(u32::from(s.extra % 3));
            (
                actor(Some("system".into())),
                Action::ServiceResult { call_id: call, ok: !s.extra.is_multiple_of(4), detail: json!(null) },
            )
        }
        16 => (actor(Some("app".into())), Action::Urge),
        17 => (actor(holder), Action::Cc { users: vec![u(&someone(s.extra))] }),
        18 if s.extra.is_multiple_of(4) => (actor(Some("app".into())), Action::Withdraw),
        _ => (actor(Some("app".into())), Action::Comment { task: None }),
    }
}

/// Handle whatever is open the obvious way until the affair ends.
fn drive_to_end(h: &mut H) {
    for _ in 0..500 {
        if h.status().is_finished() {
            return;
        }
        if h.status() == InstanceStatus::Returned {
            h.ok("app", Action::Resubmit { mode: ResubmitMode::ThroughFlow });
            continue;
        }
        if let Some(call) = h.pending_call() {
            h.ok("system", Action::ServiceResult { call_id: call, ok: true, detail: json!(null) });
            continue;
        }
        let t = h.inst.pending_tasks().next().cloned().expect("a running affair has a pending task");
        match &t.assignee {
            Some(a) => h.ok(&a.to_string(), Action::Approve { task: t.id }),
            None => h.ok(&t.candidates[0].0.clone(), Action::Claim { task: t.id }),
        };
    }
    panic!("the affair did not end: {:#?}", h.inst);
}

fn assert_nothing_after_the_end(h: &mut H) {
    let last = h.inst.tasks.last().map(|t| t.id).unwrap_or(TaskId(1));
    let actions = [
        ("app", Action::Submit { picks: BTreeMap::new() }),
        ("app", Action::Resubmit { mode: ResubmitMode::ThroughFlow }),
        ("app", Action::Withdraw),
        ("app", Action::Urge),
        ("app", Action::Comment { task: None }),
        ("app", Action::Cc { users: vec![u("x")] }),
        ("u0", Action::Approve { task: last }),
        ("u0", Action::Reject { task: last }),
        ("u0", Action::Return { task: last, to: ReturnTarget::Applicant }),
        ("u0", Action::WithdrawTask { task: last }),
        ("u0", Action::Claim { task: last }),
        ("admin", Action::Transfer { task: last, to: u("x") }),
        ("system", Action::ServiceResult { call_id: 1, ok: true, detail: json!(null) }),
    ];
    for (actor, action) in actions {
        let mut cmd = h.command(actor, action);
        cmd.comment = Some("late".into());
        assert_eq!(h.try_cmd(cmd).err(), Some(ExecError::Finished));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_actions_keep_the_invariants_and_the_affair_can_always_finish(
        root in block(),
        x in 0i64..4,
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let def = definition(&root);
        let mut h = H::with_dir(def, directory());
        let mut submit = h.command("app", Action::Submit { picks: BTreeMap::new() });
        submit.form_patch = Some(value(json!({ "x": x })));
        h.try_cmd(submit).unwrap();
        for s in steps {
            if h.status().is_finished() {
                break;
            }
            let (actor, action) = interpret(&h, s);
            let mut cmd = h.command(&actor, action);
            cmd.comment = Some("意见".into());
            let before = h.inst.clone();
            if h.try_cmd(cmd).is_err() {
                prop_assert_eq!(&h.inst, &before);
            }
        }
        drive_to_end(&mut h);
        prop_assert!(h.status().is_finished());
        prop_assert!(h.inst.tasks.iter().all(|t| t.status != TaskStatus::Pending));
        assert_nothing_after_the_end(&mut h);
    }

    #[test]
    fn approving_everything_completes_unless_a_reject_end_is_taken(root in block(), x in 0i64..3) {
        // x < 3: no MaybeReject block rejects, so handling everything completes the affair.
        let def = definition(&root);
        let mut h = H::with_dir(def, directory());
        let mut submit = h.command("app", Action::Submit { picks: BTreeMap::new() });
        submit.form_patch = Some(value(json!({ "x": x })));
        h.try_cmd(submit).unwrap();
        drive_to_end(&mut h);
        prop_assert_eq!(h.status(), InstanceStatus::Completed);
        let seqs: Vec<u64> = h.inst.history.iter().map(|e| e.seq).collect();
        prop_assert_eq!(seqs, (1..=h.inst.history.len() as u64).collect::<Vec<_>>());
    }
}
