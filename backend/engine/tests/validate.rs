//! The definition validator: every rule, each error naming its node or flow.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tongban_engine::model::{Completion, FlowId, HandlingMode, NodeKind, ProcessDefinition};
use tongban_engine::validate::{ErrorCode, validate};

/// start → a → xor g (cond → b, default → c) → end
fn base() -> B {
    B::new("v")
        .start("s")
        .user("a", &["alice"])
        .xor("g", Some("d"))
        .user("b", &["bob"])
        .user("c", &["carol"])
        .end("e")
        .chain(&["s", "a", "g"])
        .cond("g", "b", "form.days > 3")
        .flow_full("d", "g", "c", None)
        .chain(&["b", "e"])
        .chain(&["c", "e"])
}

/// (code, node, flow)
type Found = (ErrorCode, Option<String>, Option<String>);

fn errors(def: &ProcessDefinition) -> Vec<Found> {
    match validate(def) {
        Ok(()) => Vec::new(),
        Err(es) => {
            es.into_iter().map(|e| (e.code, e.node.map(|n| n.to_string()), e.flow.map(|f| f.to_string()))).collect()
        }
    }
}

fn set_kind(def: &mut ProcessDefinition, id: &str, kind: NodeKind) {
    def.nodes.iter_mut().find(|n| n.id.as_str() == id).unwrap().kind = kind;
}

#[test]
fn valid_definitions_pass() {
    assert_eq!(errors(&base().def), vec![]);
}

#[test]
fn each_rule_names_the_culprit() {
    type Mutate = fn(B) -> B;
    let n = |s: &str| Some(s.to_string());
    let cases: Vec<(&str, Mutate, Vec<Found>)> = vec![
        ("duplicate node", |b| b.user("a", &["x"]), vec![(ErrorCode::DuplicateNodeId, n("a"), None)]),
        (
            "duplicate flow",
            |mut b| {
                b.def.flows[0].id = FlowId("d".into());
                b
            },
            vec![(ErrorCode::DuplicateFlowId, None, n("d"))],
        ),
        (
            "empty id",
            |mut b| {
                b.def.flows[0].id = FlowId::from("");
                b
            },
            vec![(ErrorCode::EmptyId, None, n(""))],
        ),
        ("second start", |b| b.start("s2").chain(&["s2", "a"]), vec![(ErrorCode::MultipleStarts, n("s2"), None)]),
        (
            "no start",
            |mut b| {
                b.def.nodes.retain(|n| n.id.as_str() != "s");
                b.def.flows.retain(|f| f.from.as_str() != "s");
                b
            },
            vec![(ErrorCode::MissingStart, None, None)],
        ),
        (
            "no end",
            |mut b| {
                b.def.nodes.retain(|n| n.id.as_str() != "e");
                b.def.flows.retain(|f| f.to.as_str() != "e");
                b
            },
            vec![(ErrorCode::MissingEnd, None, None)],
        ),
        (
            "unknown node in a flow",
            |b| b.flow_full("x", "nowhere", "e", None),
            vec![(ErrorCode::UnknownNode, None, n("x"))],
        ),
        (
            "unreachable node",
            |b| b.user("lost", &["x"]).chain(&["lost", "e"]),
            vec![(ErrorCode::UnreachableNode, n("lost"), None)],
        ),
        (
            "dead end",
            |mut b| {
                b.def.flows.retain(|f| f.from.as_str() != "c");
                b
            },
            vec![(ErrorCode::CannotReachEnd, n("c"), None)],
        ),
        ("start with two flows", |b| b.flow("s", "b"), vec![(ErrorCode::StartFlows, n("s"), None)]),
        (
            "start with an incoming flow",
            |b| b.flow("c", "s"),
            vec![(ErrorCode::StartFlows, n("s"), None), (ErrorCode::MultipleOutgoing, n("c"), None)],
        ),
        ("end with an outgoing flow", |b| b.flow("e", "c"), vec![(ErrorCode::EndHasOutgoing, n("e"), None)]),
        ("task with two outgoing flows", |b| b.flow("a", "c"), vec![(ErrorCode::MultipleOutgoing, n("a"), None)]),
        (
            "default flow elsewhere",
            |mut b| {
                set_kind(&mut b.def, "g", NodeKind::ExclusiveGateway { default_flow: Some(FlowId("f1".into())) });
                b
            },
            vec![(ErrorCode::DefaultFlowNotOutgoing, n("g"), n("f1"))],
        ),
        (
            "condition does not compile",
            |mut b| {
                b.def.flows.iter_mut().find(|f| f.to.as_str() == "b").unwrap().condition = Some("form.days >".into());
                b
            },
            vec![(ErrorCode::InvalidCondition, n("g"), n("f3"))],
        ),
        (
            "condition names an unknown variable",
            |mut b| {
                b.def.flows.iter_mut().find(|f| f.to.as_str() == "b").unwrap().condition = Some("secret.x".into());
                b
            },
            vec![(ErrorCode::InvalidCondition, n("g"), n("f3"))],
        ),
        (
            "no default, missing condition",
            |mut b| {
                set_kind(&mut b.def, "g", NodeKind::ExclusiveGateway { default_flow: None });
                b
            },
            vec![(ErrorCode::MissingCondition, n("g"), n("d"))],
        ),
        (
            "condition on a plain flow",
            |mut b| {
                b.def.flows[0].condition = Some("true".into());
                b
            },
            vec![(ErrorCode::ConditionNotAllowed, n("s"), n("f1"))],
        ),
        (
            "no assignee rule",
            |mut b| {
                set_kind(
                    &mut b.def,
                    "a",
                    NodeKind::UserTask {
                        assignees: vec![],
                        mode: HandlingMode::Single,
                        auto_approve_if_same_handler: false,
                        opinion_required: false,
                    },
                );
                b
            },
            vec![(ErrorCode::NoAssigneeRule, n("a"), None)],
        ),
        (
            "percent out of range",
            |mut b| {
                set_kind(
                    &mut b.def,
                    "a",
                    NodeKind::UserTask {
                        assignees: vec![users(&["x"])],
                        mode: HandlingMode::Parallel { completion: Completion::Percent(0) },
                        auto_approve_if_same_handler: false,
                        opinion_required: false,
                    },
                );
                b
            },
            vec![(ErrorCode::InvalidPercent, n("a"), None)],
        ),
        (
            "cc without recipients",
            |mut b| {
                set_kind(&mut b.def, "c", NodeKind::Cc { recipients: vec![] });
                b
            },
            vec![(ErrorCode::NoRecipients, n("c"), None)],
        ),
        (
            "no admins",
            |mut b| {
                b.def.admins.clear();
                b
            },
            vec![(ErrorCode::NoAdmins, None, None)],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, mutate, expected) in cases {
        let got = errors(&mutate(base()).def);
        if got != expected {
            wrong.push(format!("{name}: got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn loops_need_a_task() {
    // g → g2 → g (only gateways) is refused; a loop back to a task is fine.
    let def = B::new("l")
        .start("s")
        .user("a", &["x"])
        .xor("g", Some("d1"))
        .xor("g2", Some("d2"))
        .end("e")
        .chain(&["s", "a", "g"])
        .flow_full("d1", "g", "g2", None)
        .cond("g", "e", "form.done")
        .flow_full("d2", "g2", "g", None)
        .cond("g2", "a", "form.again")
        .def;
    assert_eq!(
        errors(&def),
        vec![
            (ErrorCode::LoopWithoutTask, Some("g".into()), None),
            (ErrorCode::LoopWithoutTask, Some("g2".into()), None),
        ]
    );
    let ok = B::new("l")
        .start("s")
        .user("a", &["x"])
        .xor("g", Some("d1"))
        .end("e")
        .chain(&["s", "a", "g"])
        .flow_full("d1", "g", "a", None)
        .cond("g", "e", "form.done")
        .def;
    assert_eq!(errors(&ok), vec![]);
}

#[test]
fn forks_and_joins_must_balance() {
    let balanced = || {
        B::new("p")
            .start("s")
            .and("fork")
            .user("l", &["l"])
            .user("r", &["r"])
            .and("join")
            .end("e")
            .chain(&["s", "fork", "l", "join", "e"])
            .chain(&["fork", "r", "join"])
    };
    assert_eq!(errors(&balanced().def), vec![]);

    // A branch escaping past the join.
    let escape = B::new("p")
        .start("s")
        .and("fork")
        .user("l", &["l"])
        .user("r", &["r"])
        .xor("g", Some("out"))
        .and("join")
        .user("z", &["z"])
        .end("e")
        .chain(&["s", "fork", "l", "join", "z", "e"])
        .chain(&["fork", "r", "g"])
        .cond("g", "join", "form.x")
        .flow_full("out", "g", "z", None)
        .def;
    assert_eq!(errors(&escape), vec![(ErrorCode::UnbalancedGateways, Some("z".into()), None)]);

    // A fork never joined: its branches would complete the affair twice.
    let mut unjoined = balanced().def;
    set_kind(&mut unjoined, "join", NodeKind::ExclusiveGateway { default_flow: None });
    assert_eq!(errors(&unjoined), vec![(ErrorCode::UnbalancedGateways, Some("e".into()), None)]);

    // A parallel fork closed by an inclusive join.
    let mut mixed = balanced().def;
    set_kind(&mut mixed, "join", NodeKind::InclusiveGateway { default_flow: None });
    assert_eq!(errors(&mixed), vec![(ErrorCode::UnbalancedGateways, Some("join".into()), None)]);

    // A join without a fork: two paths of an exclusive choice meeting at a parallel gateway.
    let def = B::new("j")
        .start("s")
        .xor("g", Some("d"))
        .user("a", &["a"])
        .user("b", &["b"])
        .and("join")
        .end("e")
        .flow("s", "g")
        .cond("g", "a", "form.x")
        .flow_full("d", "g", "b", None)
        .chain(&["a", "join", "e"])
        .chain(&["b", "join"])
        .def;
    assert_eq!(errors(&def), vec![(ErrorCode::UnbalancedGateways, Some("join".into()), None)]);

    // Rejecting ends inside branches are fine.
    let def = B::new("p")
        .start("s")
        .and("fork")
        .user("l", &["l"])
        .xor("g", Some("ok"))
        .reject_end("no")
        .user("r", &["r"])
        .and("join")
        .end("e")
        .chain(&["s", "fork", "l", "g"])
        .cond("g", "no", "form.bad")
        .flow_full("ok", "g", "join", None)
        .chain(&["fork", "r", "join", "e"])
        .def;
    assert_eq!(errors(&def), vec![]);
}

#[test]
fn errors_serialize_with_their_code() {
    let mut def = base().def;
    def.admins.clear();
    let errs = validate(&def).unwrap_err();
    let v = serde_json::to_value(&errs).unwrap();
    assert_eq!(v[0]["code"], "no_admins");
    assert_eq!(errs[0].code.as_str(), "no_admins");
    assert!(errs[0].to_string().starts_with("no_admins"));
}
