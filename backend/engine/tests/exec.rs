//! The executor, action by action: what each does, and who is refused when.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use tongban_engine::exec::{
    Action, Event, ExecError, HistoryAction, InstanceStatus, NotifyReason, ResubmitMode, ReturnTarget, SignerPosition,
    TaskKind, TaskResult, TaskStatus, execute,
};
use tongban_engine::model::{AssigneeRule, Completion, HandlingMode, NodeId, TaskId};

/// start → a (alice) → b (bob) → end; `note` editable at a.
fn chain() -> tongban_engine::model::ProcessDefinition {
    B::new("chain")
        .start("s")
        .user("a", &["alice"])
        .user("b", &["bob"])
        .end("e")
        .chain(&["s", "a", "b", "e"])
        .editable("a", "note")
        .limit("a", 8)
        .build()
}

fn history(h: &H) -> Vec<HistoryAction> {
    h.inst.history.iter().map(|e| e.action).collect()
}

#[test]
fn chain_runs_to_completion_with_due_dates_and_events() {
    let mut def = chain();
    def.time_limit =
        Some(tongban_engine::calendar::TimeLimit { amount: 48, unit: tongban_engine::calendar::TimeUnit::Hours });
    let mut h = H::new(def);
    let ev = h.submit();
    assert_eq!(h.status(), InstanceStatus::Running);
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert_eq!(ev, vec![Event::TaskCreated { task: TaskId(1) }]);
    let t = h.inst.task(TaskId(1)).unwrap();
    assert_eq!(t.due_at, Some(t.created_at + chrono::Duration::hours(8)));
    assert_eq!(h.inst.due_at, Some(h.inst.submitted_at.unwrap() + chrono::Duration::hours(48)));
    h.approve("alice");
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
    assert_eq!(h.inst.task(TaskId(2)).unwrap().due_at, None);
    let ev = h.approve("bob");
    assert_eq!(h.status(), InstanceStatus::Completed);
    assert!(ev.contains(&Event::Finished { status: InstanceStatus::Completed }));
    assert!(ev.contains(&Event::Notify { users: vec![u("app")], reason: NotifyReason::Finished }));
    assert_eq!(
        history(&h),
        vec![HistoryAction::Submitted, HistoryAction::Approved, HistoryAction::Approved, HistoryAction::Finished]
    );
}

type Setup = fn(&mut H);
type MakeAction = fn(&H) -> Action;

fn submitted(h: &mut H) {
    h.submit();
}
fn approved_once(h: &mut H) {
    h.submit();
    h.approve("alice");
}
fn finished(h: &mut H) {
    approved_once(h);
    h.approve("bob");
}
fn rejected(h: &mut H) {
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::Reject { task });
}
fn withdrawn(h: &mut H) {
    h.submit();
    h.ok("app", Action::Withdraw);
}
fn returned(h: &mut H) {
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::Return { task, to: ReturnTarget::Applicant });
}
fn delegated(h: &mut H) {
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::Delegate { task, to: u("dave") });
}
fn draft(_: &mut H) {}

/// The first pending task (task 1 when there is none).
fn cur(h: &H) -> TaskId {
    h.pending().first().map(|p| p.0).unwrap_or(TaskId(1))
}
fn submit(_: &H) -> Action {
    Action::Submit { picks: BTreeMap::new() }
}
fn approve(h: &H) -> Action {
    Action::Approve { task: cur(h) }
}
fn approve_1(_: &H) -> Action {
    Action::Approve { task: TaskId(1) }
}
fn approve_2(_: &H) -> Action {
    Action::Approve { task: TaskId(2) }
}
fn approve_99(_: &H) -> Action {
    Action::Approve { task: TaskId(99) }
}
fn reject(h: &H) -> Action {
    Action::Reject { task: cur(h) }
}
fn return_to(node: &str) -> impl Fn(&H) -> Action {
    let node = NodeId(node.into());
    move |h| Action::Return { task: cur(h), to: ReturnTarget::Node(node.clone()) }
}
fn return_b(h: &H) -> Action {
    return_to("b")(h)
}
fn return_zz(h: &H) -> Action {
    return_to("zz")(h)
}
fn return_app(h: &H) -> Action {
    Action::Return { task: cur(h), to: ReturnTarget::Applicant }
}
fn resubmit(_: &H) -> Action {
    Action::Resubmit { mode: ResubmitMode::ThroughFlow }
}
fn withdraw(_: &H) -> Action {
    Action::Withdraw
}
fn withdraw_1(_: &H) -> Action {
    Action::WithdrawTask { task: TaskId(1) }
}
fn withdraw_cur(h: &H) -> Action {
    Action::WithdrawTask { task: cur(h) }
}
fn urge(_: &H) -> Action {
    Action::Urge
}
fn cc_x(_: &H) -> Action {
    Action::Cc { users: vec![u("x")] }
}
fn cc_nobody(_: &H) -> Action {
    Action::Cc { users: vec![] }
}
fn comment(_: &H) -> Action {
    Action::Comment { task: None }
}
fn comment_task(h: &H) -> Action {
    Action::Comment { task: Some(cur(h)) }
}
fn claim(h: &H) -> Action {
    Action::Claim { task: cur(h) }
}
fn transfer_x(h: &H) -> Action {
    Action::Transfer { task: cur(h), to: u("x") }
}
fn transfer_alice(h: &H) -> Action {
    Action::Transfer { task: cur(h), to: u("alice") }
}
fn delegate_alice(h: &H) -> Action {
    Action::Delegate { task: cur(h), to: u("alice") }
}
fn delegate_eve(h: &H) -> Action {
    Action::Delegate { task: cur(h), to: u("eve") }
}
fn add_self(h: &H) -> Action {
    Action::AddSigner { task: cur(h), users: vec![u("alice")], position: SignerPosition::After }
}
fn add_nobody(h: &H) -> Action {
    Action::AddSigner { task: cur(h), users: vec![], position: SignerPosition::Before }
}
fn remove_bob(h: &H) -> Action {
    Action::RemoveSigner { task: cur(h), user: u("bob") }
}
fn service_7(_: &H) -> Action {
    Action::ServiceResult { call_id: 7, ok: true, detail: json!(null) }
}

#[test]
fn refusals() {
    // (case, state, actor, action, code); comments are "hi" unless said otherwise.
    let cases: &[(&str, Setup, &str, MakeAction, &str)] = &[
        ("submit by someone else", draft, "alice", submit, "not_applicant"),
        ("submit twice", submitted, "app", submit, "wrong_state"),
        ("approve a draft", draft, "alice", approve_1, "wrong_state"),
        ("approve by the wrong person", submitted, "bob", approve, "not_assignee"),
        ("approve by the applicant", submitted, "app", approve, "not_assignee"),
        ("approve an unknown task", submitted, "alice", approve_99, "unknown_task"),
        ("approve a handled task", approved_once, "alice", approve_1, "task_not_pending"),
        ("approve while returned", returned, "alice", approve_1, "wrong_state"),
        ("approve a finished affair", finished, "bob", approve_2, "finished"),
        ("comment on a finished affair", finished, "app", comment, "finished"),
        ("urge a rejected affair", rejected, "app", urge, "finished"),
        ("resubmit a withdrawn affair", withdrawn, "app", resubmit, "finished"),
        ("withdraw a finished affair", finished, "app", withdraw, "finished"),
        ("withdraw after a handler acted", approved_once, "app", withdraw, "cannot_withdraw"),
        ("withdraw by someone else", submitted, "alice", withdraw, "not_applicant"),
        ("withdraw a draft", draft, "app", withdraw, "wrong_state"),
        ("resubmit while running", submitted, "app", resubmit, "wrong_state"),
        ("resubmit by someone else", returned, "alice", resubmit, "not_applicant"),
        ("return to a later node", submitted, "alice", return_b, "invalid_target"),
        ("return to itself", approved_once, "bob", return_b, "invalid_target"),
        ("return to an unknown node", approved_once, "bob", return_zz, "invalid_target"),
        ("comment by a stranger", submitted, "mallory", comment, "forbidden"),
        ("comment on someone else's task", submitted, "bob", comment_task, "not_assignee"),
        ("comment on a draft", draft, "app", comment, "wrong_state"),
        ("urge by a handler", submitted, "alice", urge, "forbidden"),
        ("urge while returned", returned, "app", urge, "wrong_state"),
        ("cc by a stranger", submitted, "mallory", cc_x, "forbidden"),
        ("cc nobody", submitted, "app", cc_nobody, "invalid_users"),
        ("claim a personal task", submitted, "alice", claim, "not_a_group_task"),
        ("transfer by a stranger", submitted, "mallory", transfer_x, "not_assignee"),
        ("transfer to the holder", submitted, "alice", transfer_alice, "invalid_users"),
        ("delegate to oneself", submitted, "alice", delegate_alice, "invalid_users"),
        ("reject a delegated task", delegated, "dave", reject, "delegated_task"),
        ("return a delegated task", delegated, "dave", return_app, "delegated_task"),
        ("delegate a delegated task", delegated, "dave", delegate_eve, "delegated_task"),
        ("delegator acts while delegated", delegated, "alice", approve, "not_assignee"),
        ("add oneself as signer", submitted, "alice", add_self, "invalid_users"),
        ("add no signer", submitted, "alice", add_nobody, "invalid_users"),
        ("remove a signer nobody added", submitted, "alice", remove_bob, "not_an_added_signer"),
        ("withdraw an approval of a finished affair", finished, "alice", withdraw_1, "finished"),
        ("withdraw someone else's approval", approved_once, "bob", withdraw_1, "not_assignee"),
        ("withdraw a task never approved", submitted, "alice", withdraw_cur, "cannot_withdraw"),
        ("service result without a call", submitted, "system", service_7, "unknown_call"),
    ];
    for (name, setup, actor, action, code) in cases {
        refused(name, *setup, actor, *action, None, Some("hi"), code);
    }
    // Form patches and comments.
    let note = || Some(json!({ "note": "x" }));
    refused(
        "patch a read-only field",
        submitted,
        "alice",
        approve,
        Some(json!({ "days": 9 })),
        None,
        "field_not_editable",
    );
    refused(
        "patch at a node without editable fields",
        approved_once,
        "bob",
        approve,
        note(),
        None,
        "field_not_editable",
    );
    refused("patch with a claim", submitted, "alice", claim, note(), None, "form_patch_not_allowed");
    refused("patch with a transfer", submitted, "alice", transfer_x, note(), None, "form_patch_not_allowed");
    refused("comment without text", submitted, "app", comment, None, Some("  "), "comment_required");
    refused("comment missing", submitted, "app", comment, None, None, "comment_required");
}

#[track_caller]
fn refused(
    name: &str,
    setup: Setup,
    actor: &str,
    action: MakeAction,
    patch: Option<serde_json::Value>,
    comment: Option<&str>,
    code: &str,
) {
    let mut h = H::new(chain());
    setup(&mut h);
    let before = h.inst.clone();
    let mut cmd = h.command(actor, action(&h));
    cmd.form_patch = patch.map(value);
    cmd.comment = comment.map(Into::into);
    match h.try_cmd(cmd) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => assert_eq!(e.code(), code, "{name}: {e:?}"),
    }
    assert_eq!(h.inst, before, "{name}: a refusal changes nothing");
}

#[test]
fn commands_on_another_definition_are_refused() {
    let mut h = H::new(chain());
    h.submit();
    let mut other = chain();
    other.key = "other".into();
    let cmd = h.command("alice", Action::Approve { task: TaskId(1) });
    assert_eq!(execute(&other, &h.inst, &cmd, &h.dir, &PlusHours).err(), Some(ExecError::DefinitionMismatch));
}

#[test]
fn countersign_completion_rules() {
    // (completion, approvals needed of four signers)
    let table =
        [(Completion::All, 4), (Completion::Any, 1), (Completion::Percent(50), 2), (Completion::Percent(60), 3)];
    for (completion, needed) in table {
        let def = B::new("cs")
            .start("s")
            .countersign("c", &["p1", "p2", "p3", "p4"], completion)
            .user("n", &["next"])
            .end("e")
            .chain(&["s", "c", "n", "e"])
            .build();
        let mut h = H::new(def);
        h.submit();
        assert_eq!(h.pending().len(), 4);
        for i in 1..=needed {
            assert!(h.open().iter().all(|(n, _)| n == "c"), "{completion:?}: done after {} approvals", i - 1);
            h.approve(&format!("p{i}"));
        }
        assert_eq!(h.open(), vec![("n".into(), "next".into())], "{completion:?}");
        let cancelled = h.inst.tasks.iter().filter(|t| t.status == TaskStatus::Cancelled).count();
        assert_eq!(cancelled, 4 - needed, "{completion:?}: the others' tasks are cancelled");
    }
}

#[test]
fn a_reject_in_a_countersign_rejects_the_affair() {
    let def = B::new("cs")
        .start("s")
        .countersign("c", &["p1", "p2", "p3"], Completion::Any)
        .end("e")
        .chain(&["s", "c", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    let task = h.task_of("p2");
    let ev = h.ok("p2", Action::Reject { task });
    assert_eq!(h.status(), InstanceStatus::Rejected);
    assert!(ev.contains(&Event::Finished { status: InstanceStatus::Rejected }));
    assert_eq!(h.inst.tasks.iter().filter(|t| t.result == Some(TaskResult::Cancelled)).count(), 2);
}

#[test]
fn sequential_handlers_one_after_another() {
    let def = B::new("seq").start("s").seq("q", &["x", "y", "z"]).end("e").chain(&["s", "q", "e"]).build();
    let mut h = H::new(def);
    h.submit();
    for (i, who) in ["x", "y", "z"].into_iter().enumerate() {
        assert_eq!(h.open(), vec![("q".into(), who.into())]);
        assert_eq!(h.inst.task(h.task_of(who)).unwrap().order, Some(i as u32 + 1));
        h.approve(who);
    }
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn exclusive_gateway_takes_first_true_flow_else_default() {
    let table = [(1, "short"), (5, "long"), (30, "very")];
    for (days, expect) in table {
        let def = B::new("leave")
            .start("s")
            .xor("g", Some("dflt"))
            .user("short", &["a"])
            .user("long", &["b"])
            .user("very", &["c"])
            .end("e")
            .flow("s", "g")
            .cond("g", "long", "form.days > 3 && form.days <= 10")
            .cond("g", "very", "form.days > 3")
            .flow_full("dflt", "g", "short", None)
            .chain(&["short", "e"])
            .chain(&["long", "e"])
            .chain(&["very", "e"])
            .build();
        let mut h = H::new(def);
        let mut cmd = h.command("app", Action::Submit { picks: BTreeMap::new() });
        cmd.form_patch = Some(value(json!({ "days": days })));
        h.try_cmd(cmd).unwrap();
        assert_eq!(h.open().first().map(|o| o.0.as_str()), Some(expect), "days = {days}");
    }
}

#[test]
fn failing_conditions_count_as_false_and_are_recorded() {
    let def = B::new("x")
        .start("s")
        .xor("g", Some("d"))
        .user("a", &["a"])
        .user("b", &["b"])
        .end("e")
        .flow("s", "g")
        .cond("g", "a", "form.missing > 1")
        .flow_full("d", "g", "b", None)
        .chain(&["a", "e"])
        .chain(&["b", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    assert_eq!(h.open(), vec![("b".into(), "b".into())]);
    assert!(history(&h).contains(&HistoryAction::ConditionFailed));
}

fn inclusive() -> tongban_engine::model::ProcessDefinition {
    B::new("incl")
        .start("s")
        .or("fork", Some("d"))
        .user("fin", &["f"])
        .user("hr", &["h"])
        .user("it", &["i"])
        .or("join", None)
        .user("after", &["z"])
        .end("e")
        .flow("s", "fork")
        .cond("fork", "fin", "form.money > 0")
        .cond("fork", "hr", "form.staff")
        .flow_full("d", "fork", "it", None)
        .chain(&["fin", "join"])
        .chain(&["hr", "join"])
        .chain(&["it", "join"])
        .chain(&["join", "after", "e"])
        .build()
}

#[test]
fn inclusive_join_waits_for_the_branches_taken() {
    let table: [(serde_json::Value, &[&str]); 3] = [
        (json!({ "money": 5, "staff": true }), &["fin", "hr"]),
        (json!({ "money": 5, "staff": false }), &["fin"]),
        (json!({ "money": 0, "staff": false }), &["it"]),
    ];
    for (form, branches) in table {
        let mut h = H::new(inclusive());
        let mut cmd = h.command("app", Action::Submit { picks: BTreeMap::new() });
        cmd.form_patch = Some(value(form.clone()));
        h.try_cmd(cmd).unwrap();
        let open: Vec<String> = h.open().into_iter().map(|o| o.0).collect();
        assert_eq!(open, branches.iter().map(|b| b.to_string()).collect::<Vec<_>>(), "{form}");
        let users: Vec<String> = h.open().into_iter().map(|o| o.1).collect();
        for (i, who) in users.iter().enumerate() {
            assert!(h.open().iter().all(|o| o.0 != "after"), "{form}: join fired after {i} branches");
            h.approve(who);
        }
        assert_eq!(h.open(), vec![("after".into(), "z".into())], "{form}");
    }
}

fn parallel() -> tongban_engine::model::ProcessDefinition {
    B::new("par")
        .start("s")
        .user("a", &["alice"])
        .and("fork")
        .user("l1", &["l1"])
        .user("l2", &["l2"])
        .user("r", &["r"])
        .and("join")
        .user("z", &["zed"])
        .end("e")
        .chain(&["s", "a", "fork", "l1", "l2", "join", "z", "e"])
        .chain(&["fork", "r", "join"])
        .editable("l2", "note")
        .build()
}

#[test]
fn parallel_fork_and_join() {
    let mut h = H::new(parallel());
    h.submit();
    h.approve("alice");
    assert_eq!(h.open(), vec![("l1".into(), "l1".into()), ("r".into(), "r".into())]);
    h.approve("r");
    assert_eq!(h.open(), vec![("l1".into(), "l1".into())]);
    h.approve("l1");
    h.approve("l2");
    assert_eq!(h.open(), vec![("z".into(), "zed".into())]);
    h.approve("zed");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn return_out_of_a_parallel_branch_cancels_the_siblings() {
    let mut h = H::new(parallel());
    h.submit();
    h.approve("alice");
    h.approve("r"); // the right branch waits at the join
    h.approve("l1");
    let task = h.task_of("l2");
    h.ok("l2", Action::Return { task, to: ReturnTarget::Previous });
    // Previous of l2 is l1, in the same branch: the right branch stays done and waiting.
    assert_eq!(h.open(), vec![("l1".into(), "l1".into())]);
    h.approve("l1");
    let task = h.task_of("l2");
    h.ok("l2", Action::Return { task, to: ReturnTarget::Node(NodeId("a".into())) });
    // Back before the fork: every token of the fork is gone.
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert_eq!(h.inst.tokens.len(), 1);
    h.approve("alice");
    assert_eq!(h.open(), vec![("l1".into(), "l1".into()), ("r".into(), "r".into())]);
    h.approve("l1");
    h.approve("r");
    h.approve("l2");
    h.approve("zed");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn return_to_the_applicant_from_a_branch_and_resubmit_straight_back() {
    let mut h = H::new(parallel());
    h.submit();
    h.approve("alice");
    h.approve("r");
    let task = h.task_of("l1");
    let ev = h.ok("l1", Action::Return { task, to: ReturnTarget::Applicant });
    assert_eq!(h.status(), InstanceStatus::Returned);
    assert!(ev.contains(&Event::Notify { users: vec![u("app")], reason: NotifyReason::Returned }));
    assert!(h.pending().is_empty());
    h.ok("app", Action::Resubmit { mode: ResubmitMode::BackToReturner });
    // Straight back: l1 again, r still done and waiting at the join.
    assert_eq!(h.open(), vec![("l1".into(), "l1".into())]);
    h.approve("l1");
    h.approve("l2");
    assert_eq!(h.open(), vec![("z".into(), "zed".into())]);
}

#[test]
fn resubmit_through_the_flow_starts_again() {
    let mut h = H::new(chain());
    h.submit();
    h.approve("alice");
    let task = h.task_of("bob");
    h.ok("bob", Action::Return { task, to: ReturnTarget::Applicant });
    let mut cmd = h.command("app", Action::Resubmit { mode: ResubmitMode::ThroughFlow });
    cmd.form_patch = Some(value(json!({ "days": 2 })));
    h.try_cmd(cmd).unwrap();
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    let last = h.inst.history.iter().rev().find(|e| e.action == HistoryAction::Resubmitted).unwrap();
    assert_eq!(last.changed_fields, vec!["days".to_string()]);
    // The applicant may withdraw again until someone acts.
    h.ok("app", Action::Withdraw);
    assert_eq!(h.status(), InstanceStatus::Withdrawn);
}

#[test]
fn resubmit_back_to_the_returner_skips_the_nodes_before() {
    let mut h = H::new(chain());
    h.submit();
    h.approve("alice");
    let task = h.task_of("bob");
    h.ok("bob", Action::Return { task, to: ReturnTarget::Applicant });
    h.ok("app", Action::Resubmit { mode: ResubmitMode::BackToReturner });
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
    // bob's previous is still alice.
    let task = h.task_of("bob");
    h.ok("bob", Action::Return { task, to: ReturnTarget::Previous });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    // alice's previous is the applicant.
    let task = h.task_of("alice");
    h.ok("alice", Action::Return { task, to: ReturnTarget::Previous });
    assert_eq!(h.status(), InstanceStatus::Returned);
    h.ok("app", Action::Resubmit { mode: ResubmitMode::BackToReturner });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    // Returning to the start node is returning to the applicant.
    let task = h.task_of("alice");
    h.ok("alice", Action::Return { task, to: ReturnTarget::Node(NodeId("s".into())) });
    assert_eq!(h.status(), InstanceStatus::Returned);
    assert_eq!(h.inst.returned.as_ref().map(|r| r.by.clone()), Some(u("alice")));
    // A returned affair may be withdrawn.
    h.ok("app", Action::Withdraw);
    assert_eq!(h.status(), InstanceStatus::Withdrawn);
}

#[test]
fn return_from_inside_a_countersign_cancels_the_other_signers() {
    let def = B::new("cs")
        .start("s")
        .user("a", &["alice"])
        .countersign("c", &["p1", "p2", "p3"], Completion::All)
        .end("e")
        .chain(&["s", "a", "c", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    h.approve("alice");
    h.approve("p1");
    let task = h.task_of("p2");
    h.ok("p2", Action::Return { task, to: ReturnTarget::Node(NodeId("a".into())) });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    let p3 = h.inst.tasks.iter().find(|t| t.assignee == Some(u("p3"))).unwrap();
    assert_eq!((p3.status, p3.result), (TaskStatus::Cancelled, Some(TaskResult::Cancelled)));
    // Coming back recreates every signer's task: p1 signs again.
    h.approve("alice");
    assert_eq!(h.pending().len(), 3);
}

#[test]
fn group_task_is_claimed_then_handled() {
    let def = B::new("g").start("s").user("a", &["x", "y"]).end("e").chain(&["s", "a", "e"]).build();
    let mut h = H::new(def);
    h.submit();
    assert_eq!(h.open(), vec![("a".into(), "x|y".into())]);
    let group = h.pending()[0].0;
    assert_eq!(h.err("x", Action::Approve { task: group }).code(), "not_assignee");
    assert_eq!(h.err("z", Action::Claim { task: group }).code(), "not_assignee");
    h.ok("y", Action::Claim { task: group });
    assert_eq!(h.err("x", Action::Claim { task: group }).code(), "task_not_pending");
    assert_eq!(h.open(), vec![("a".into(), "y".into())]);
    h.approve("y");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn transfer_by_holder_and_by_admin_records_the_original() {
    let mut h = H::new(chain());
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::Transfer { task, to: u("carol") });
    let t = h.inst.task(h.task_of("carol")).unwrap().clone();
    assert_eq!(t.original_assignee, Some(u("alice")));
    assert_eq!(h.inst.task(task).unwrap().result, Some(TaskResult::Transferred));
    h.ok("admin", Action::Transfer { task: t.id, to: u("dan") });
    assert_eq!(h.inst.task(h.task_of("dan")).unwrap().original_assignee, Some(u("alice")));
    h.approve("dan");
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
}

#[test]
fn delegated_task_comes_back_to_the_delegator() {
    let mut h = H::new(chain());
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::Delegate { task, to: u("dave") });
    let d = h.inst.task(h.task_of("dave")).unwrap().clone();
    assert_eq!(d.kind, TaskKind::Delegated { delegator: u("alice") });
    h.approve("dave");
    // Back to alice, the node is not done yet.
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert!(history(&h).contains(&HistoryAction::DelegationReturned));
    h.approve("alice");
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
}

#[test]
fn add_signer_before_and_after_in_a_single_task() {
    let mut h = H::new(chain());
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::AddSigner { task, users: vec![u("s1"), u("s2")], position: SignerPosition::Before });
    assert_eq!(h.open(), vec![("a".into(), "s1".into())]);
    assert_eq!(h.inst.task(h.task_of("s1")).unwrap().kind, TaskKind::AddedBefore { by: u("alice") });
    h.approve("s1");
    assert_eq!(h.open(), vec![("a".into(), "s2".into())]);
    h.approve("s2");
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    let task = h.task_of("alice");
    h.ok("alice", Action::AddSigner { task, users: vec![u("s3")], position: SignerPosition::After });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    h.approve("alice");
    assert_eq!(h.open(), vec![("a".into(), "s3".into())]);
    h.approve("s3");
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
}

#[test]
fn removing_added_signers_adjusts_the_node() {
    let mut h = H::new(chain());
    h.submit();
    let task = h.task_of("alice");
    h.ok("alice", Action::AddSigner { task, users: vec![u("s1")], position: SignerPosition::Before });
    assert_eq!(h.open(), vec![("a".into(), "s1".into())]);
    // alice removes s1 before they signed: her turn again.
    h.ok("alice", Action::RemoveSigner { task, user: u("s1") });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    let task = h.task_of("alice");
    h.ok("alice", Action::AddSigner { task, users: vec![u("s2")], position: SignerPosition::After });
    assert_eq!(h.err("bob", Action::RemoveSigner { task, user: u("s2") }).code(), "not_assignee");
    h.approve("alice");
    assert_eq!(h.open(), vec![("a".into(), "s2".into())]);
    // Removing the last pending after-signer completes the node.
    h.ok("alice", Action::RemoveSigner { task, user: u("s2") });
    assert_eq!(h.open(), vec![("b".into(), "bob".into())]);
    assert!(history(&h).contains(&HistoryAction::SignerRemoved));
}

#[test]
fn signers_added_to_a_running_sequential_countersign() {
    let def = B::new("seq").start("s").seq("q", &["x", "y"]).end("e").chain(&["s", "q", "e"]).build();
    let mut h = H::new(def);
    h.submit();
    let task = h.task_of("x");
    h.ok("x", Action::AddSigner { task, users: vec![u("w")], position: SignerPosition::After });
    h.approve("x");
    assert_eq!(h.open(), vec![("q".into(), "w".into())], "the added signer comes before y");
    h.approve("w");
    let task = h.task_of("y");
    h.ok("y", Action::AddSigner { task, users: vec![u("v")], position: SignerPosition::Before });
    assert_eq!(h.open(), vec![("q".into(), "v".into())]);
    h.approve("v");
    h.approve("y");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn signers_added_to_a_running_parallel_countersign_count_with_their_signer() {
    // 50% of 2: one approved group completes the node; a group is approved when its added
    // signers approved too.
    let def = B::new("cs")
        .start("s")
        .countersign("c", &["p1", "p2"], Completion::Percent(50))
        .user("n", &["next"])
        .end("e")
        .chain(&["s", "c", "n", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    let task = h.task_of("p1");
    h.ok("p1", Action::AddSigner { task, users: vec![u("extra")], position: SignerPosition::After });
    h.approve("p1");
    assert_eq!(h.open(), vec![("c".into(), "extra".into()), ("c".into(), "p2".into())]);
    h.approve("extra");
    assert_eq!(h.open(), vec![("n".into(), "next".into())]);

    // With All, removing a pending added signer lets the node complete.
    let def = B::new("cs")
        .start("s")
        .countersign("c", &["p1", "p2"], Completion::All)
        .end("e")
        .chain(&["s", "c", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    let task = h.task_of("p2");
    h.ok("p2", Action::AddSigner { task, users: vec![u("q1"), u("q2")], position: SignerPosition::Before });
    assert_eq!(h.open(), vec![("c".into(), "p1".into()), ("c".into(), "q1".into())]);
    assert_eq!(
        h.err("p2", Action::AddSigner { task, users: vec![u("q3")], position: SignerPosition::After }).code(),
        "task_not_pending"
    );
    h.approve("p1");
    h.approve("q1");
    h.ok("p2", Action::RemoveSigner { task, user: u("q2") });
    assert_eq!(h.open(), vec![("c".into(), "p2".into())]);
    assert_eq!(h.err("p2", Action::RemoveSigner { task, user: u("q1") }).code(), "not_an_added_signer");
    h.approve("p2");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn withdraw_an_approval_before_anybody_else_acts() {
    // Chain: the next node's task disappears, alice has a new one.
    let mut h = H::new(chain());
    h.submit();
    h.approve("alice");
    h.ok("alice", Action::WithdrawTask { task: TaskId(1) });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert_eq!(h.inst.task(TaskId(2)).unwrap().status, TaskStatus::Cancelled);
    assert!(history(&h).contains(&HistoryAction::ApprovalWithdrawn));
    // Only once.
    assert_eq!(h.err("alice", Action::WithdrawTask { task: TaskId(1) }).code(), "cannot_withdraw");
    // Comments and urges do not stop it; someone else's action does.
    h.approve("alice");
    let mut cmd = h.command("app", Action::Urge);
    cmd.comment = Some("please".into());
    h.try_cmd(cmd).unwrap();
    let alice_task = h.inst.tasks.iter().rev().find(|t| t.assignee == Some(u("alice"))).unwrap().id;
    h.ok("alice", Action::WithdrawTask { task: alice_task });
    h.approve("alice");
    h.approve("bob");
    assert_eq!(h.status(), InstanceStatus::Completed);

    // Any-countersign: the cancelled signers get their tasks back.
    let def = B::new("cs")
        .start("s")
        .countersign("c", &["p1", "p2"], Completion::Any)
        .user("n", &["next"])
        .end("e")
        .chain(&["s", "c", "n", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    let t = h.task_of("p1");
    h.approve("p1");
    assert_eq!(h.open(), vec![("n".into(), "next".into())]);
    h.ok("p1", Action::WithdrawTask { task: t });
    assert_eq!(h.open(), vec![("c".into(), "p1".into()), ("c".into(), "p2".into())]);
    h.approve("p2");
    h.approve("next");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn applicant_withdraws_before_anyone_acted() {
    let mut h = H::new(chain());
    h.submit();
    let ev = h.ok("app", Action::Withdraw);
    assert_eq!(h.status(), InstanceStatus::Withdrawn);
    assert!(ev.contains(&Event::Finished { status: InstanceStatus::Withdrawn }));
    assert!(ev.contains(&Event::TaskClosed { task: TaskId(1) }));
    assert_eq!(h.err("alice", Action::Approve { task: TaskId(1) }).code(), "finished");
}

#[test]
fn service_task_waits_for_its_result_and_failures_go_to_admins() {
    let def =
        B::new("svc").start("s").service("cert").user("a", &["alice"]).end("e").chain(&["s", "cert", "a", "e"]).build();
    let mut h = H::new(def.clone());
    let ev = h.submit();
    assert!(matches!(ev.as_slice(), [Event::ServiceCall { call_id: 1, .. }]));
    assert!(h.pending().is_empty());
    h.ok("system", Action::ServiceResult { call_id: 1, ok: true, detail: json!({ "number": "C-1" }) });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert_eq!(
        h.err("system", Action::ServiceResult { call_id: 1, ok: true, detail: json!(null) }).code(),
        "call_not_pending"
    );

    let mut h = H::new(def);
    h.submit();
    let ev = h.ok("system", Action::ServiceResult { call_id: 1, ok: false, detail: json!("timeout") });
    assert!(ev.contains(&Event::Notify { users: vec![u("admin")], reason: NotifyReason::ServiceFailed }));
    let t = h.inst.task(h.task_of("admin")).unwrap().clone();
    assert_eq!(t.kind, TaskKind::ServiceFailure);
    h.approve("admin");
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    // A call cancelled by a withdrawal refuses its late result.
    let mut h = H::new(B::new("svc").start("s").service("cert").end("e").chain(&["s", "cert", "e"]).build());
    h.submit();
    h.ok("app", Action::Withdraw);
    assert_eq!(h.err("system", Action::ServiceResult { call_id: 1, ok: true, detail: json!(null) }).code(), "finished");
}

#[test]
fn cc_nodes_notify_and_move_on() {
    let def = B::new("cc")
        .start("s")
        .cc("copy", &["boss"])
        .user("a", &["alice"])
        .end("e")
        .chain(&["s", "copy", "a", "e"])
        .build();
    let mut h = H::new(def);
    let ev = h.submit();
    assert!(ev.contains(&Event::Notify { users: vec![u("boss")], reason: NotifyReason::Cc }));
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    assert!(history(&h).contains(&HistoryAction::CcNotified));
}

#[test]
fn urge_cc_and_comment() {
    let mut h = H::new(chain());
    h.submit();
    let ev = h.ok("app", Action::Urge);
    assert_eq!(ev, vec![Event::Notify { users: vec![u("alice")], reason: NotifyReason::Urge }]);
    let ev = h.ok("alice", Action::Cc { users: vec![u("x"), u("x"), u("y")] });
    assert_eq!(ev, vec![Event::Notify { users: vec![u("x"), u("y")], reason: NotifyReason::Cc }]);
    let mut cmd = h.command("alice", Action::Comment { task: Some(TaskId(1)) });
    cmd.comment = Some("looking into it".into());
    h.try_cmd(cmd).unwrap();
    let last = h.inst.history.last().unwrap();
    assert_eq!(
        (last.action, last.comment.as_deref(), last.task),
        (HistoryAction::Commented, Some("looking into it"), Some(TaskId(1)))
    );
    h.ok("admin", Action::Urge);
    // Remarks do not count as handling: the applicant may still withdraw.
    h.ok("app", Action::Withdraw);
}

#[test]
fn editable_fields_are_patched_and_recorded() {
    let mut h = H::new(chain());
    h.submit();
    let mut cmd = h.command("alice", Action::Approve { task: TaskId(1) });
    cmd.form_patch = Some(value(json!({ "note": "ok" })));
    cmd.comment = Some("同意".into());
    h.try_cmd(cmd).unwrap();
    assert_eq!(h.inst.form["note"], json!("ok"));
    let e = h.inst.history.iter().find(|e| e.action == HistoryAction::Approved).unwrap();
    assert_eq!(e.changed_fields, vec!["note".to_string()]);
    assert_eq!(e.comment.as_deref(), Some("同意"));
    assert_eq!(e.detail["fields"]["note"], json!({ "from": null, "to": "ok" }));
}

#[test]
fn nobody_found_goes_to_the_admins_and_history_says_why() {
    let def = B::new("x")
        .start("s")
        .task("a", vec![AssigneeRule::Role { code: "nobody".into() }], HandlingMode::Single)
        .end("e")
        .chain(&["s", "a", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    assert_eq!(h.open(), vec![("a".into(), "admin".into())]);
    let e = h.inst.history.iter().find(|e| e.action == HistoryAction::NoAssignee).unwrap();
    assert_eq!(e.detail["rules"], json!(["role nobody"]));
}

#[test]
fn organisational_rules_and_picks_are_resolved_by_the_directory() {
    let mut dir = Dir { dept_head: vec![u("head")], ..Dir::default() };
    dir.supervising.insert("it".into(), u("vp_it"));
    dir.leaders.insert(u("head"), u("head_boss"));
    dir.positions.insert("president".into(), vec![u("pres")]);
    let def = B::new("x")
        .start("s")
        .task("a", vec![AssigneeRule::ApplicantDepartmentHead], HandlingMode::Single)
        .task("b", vec![AssigneeRule::PreviousHandlerLeader], HandlingMode::Single)
        .task(
            "c",
            vec![
                AssigneeRule::SupervisingLeader { of: tongban_engine::model::LeaderOf::Department("it".into()) },
                AssigneeRule::Position { kind: "president".into() },
                AssigneeRule::ApplicantPicks { key: "extra".into() },
                AssigneeRule::FormField { field: "reviewer".into() },
            ],
            HandlingMode::Parallel { completion: Completion::All },
        )
        .end("e")
        .chain(&["s", "a", "b", "c", "e"])
        .build();
    let mut h = H::with_dir(def, dir);
    let mut picks = BTreeMap::new();
    picks.insert("extra".to_string(), vec![u("picked")]);
    let mut cmd = h.command("app", Action::Submit { picks });
    cmd.form_patch = Some(value(json!({ "reviewer": "rev" })));
    h.try_cmd(cmd).unwrap();
    h.approve("head");
    h.approve("head_boss");
    let mut open: Vec<String> = h.open().into_iter().map(|o| o.1).collect();
    open.sort();
    assert_eq!(open, vec!["picked", "pres", "rev", "vp_it"]);
}

#[test]
fn out_of_office_deputy_gets_new_tasks() {
    let mut dir = Dir::default();
    dir.deputies.insert(u("bob"), u("bobs_deputy"));
    let mut h = H::with_dir(chain(), dir);
    h.submit();
    h.approve("alice");
    let t = h.inst.task(h.task_of("bobs_deputy")).unwrap().clone();
    assert_eq!(t.original_assignee, Some(u("bob")));
    h.approve("bobs_deputy");
    assert_eq!(h.status(), InstanceStatus::Completed);
}

#[test]
fn auto_approve_when_the_same_person_handled_the_previous_node() {
    let def = B::new("x")
        .start("s")
        .user("a", &["alice"])
        .user("b", &["alice"])
        .user("c", &["alice"])
        .end("e")
        .chain(&["s", "a", "b", "c", "e"])
        .auto("b")
        .build();
    let mut h = H::new(def);
    h.submit();
    h.approve("alice");
    // b is approved automatically; c has no flag.
    assert_eq!(h.open(), vec![("c".into(), "alice".into())]);
    let e = h.inst.history.iter().find(|e| e.action == HistoryAction::AutoApproved).unwrap();
    assert_eq!((e.actor.clone(), e.node.clone()), (Some(u("alice")), Some(NodeId("b".into()))));
}

#[test]
fn an_end_inside_a_branch_finishes_everything() {
    let def = B::new("x")
        .start("s")
        .and("fork")
        .user("l", &["l"])
        .xor("g", Some("ok"))
        .reject_end("no")
        .user("r", &["r"])
        .and("join")
        .end("e")
        .chain(&["s", "fork", "l", "g"])
        .cond("g", "no", "form.bad == true")
        .flow_full("ok", "g", "join", None)
        .chain(&["fork", "r", "join", "e"])
        .editable("l", "bad")
        .build();
    let mut h = H::new(def);
    h.submit();
    let task = h.task_of("l");
    let mut cmd = h.command("l", Action::Approve { task });
    cmd.form_patch = Some(value(json!({ "bad": true })));
    h.try_cmd(cmd).unwrap();
    assert_eq!(h.status(), InstanceStatus::Rejected);
    assert!(h.pending().is_empty());
}

#[test]
fn instance_and_commands_serialize() {
    let mut h = H::new(parallel());
    h.submit();
    let cmd = h.command("alice", Action::Return { task: TaskId(1), to: ReturnTarget::Node(NodeId("a".into())) });
    let v = serde_json::to_value(&cmd).unwrap();
    assert_eq!(v["action"], json!({ "type": "return", "task": 1, "to": { "node": "a" } }));
    let back: tongban_engine::exec::Command = serde_json::from_value(v).unwrap();
    assert_eq!(back, cmd);
    let v = serde_json::to_value(&h.inst).unwrap();
    assert_eq!(v["status"], json!("running"));
    assert_eq!(v["tasks"][0]["status"], json!("pending"));
}

#[test]
fn nodes_inside_a_closed_branch_are_no_return_targets() {
    // Only one inclusive branch is taken; after the join its node is no longer on the path.
    let def = B::new("x")
        .start("s")
        .user("a", &["alice"])
        .or("fork", Some("d"))
        .user("in", &["ina"])
        .user("other", &["oth"])
        .or("join", None)
        .user("z", &["zed"])
        .end("e")
        .chain(&["s", "a", "fork"])
        .cond("fork", "in", "true")
        .flow_full("d", "fork", "other", None)
        .chain(&["in", "join"])
        .chain(&["other", "join"])
        .chain(&["join", "z", "e"])
        .build();
    let mut h = H::new(def);
    h.submit();
    h.approve("alice");
    h.approve("ina");
    let task = h.task_of("zed");
    assert_eq!(
        h.err("zed", Action::Return { task, to: ReturnTarget::Node(NodeId("in".into())) }).code(),
        "invalid_target"
    );
    // Previous skips the closed branch too.
    h.ok("zed", Action::Return { task, to: ReturnTarget::Previous });
    assert_eq!(h.open(), vec![("a".into(), "alice".into())]);
    h.approve("alice");
    h.approve("ina");
    h.approve("zed");
    assert_eq!(h.status(), InstanceStatus::Completed);
}
