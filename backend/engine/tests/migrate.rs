//! Moving running affairs to another version: allowed exactly when every node they stand on or
//! came by exists with the same kind (and, for open tasks, the same handling mode).

#![allow(clippy::unwrap_used)]

mod common;

use common::{B, H};
use tongban_engine::exec::Action;
use tongban_engine::migrate::check;
use tongban_engine::model::Completion;

fn v1() -> tongban_engine::model::ProcessDefinition {
    B::new("p").start("s").user("a", &["x"]).user("b", &["y"]).end("e").chain(&["s", "a", "b", "e"]).build()
}

fn codes(h: &H, new: &tongban_engine::model::ProcessDefinition) -> Vec<(String, String)> {
    check(&h.def, new, &h.inst).into_iter().map(|p| (p.node.to_string(), p.code)).collect()
}

#[test]
fn an_affair_moves_when_its_nodes_survive() {
    let mut h = H::new(v1());
    h.submit();
    // v2 adds a step after `b`: the affair waiting at `a` can move.
    let v2 = B::new("p")
        .start("s")
        .user("a", &["x"])
        .user("b", &["y"])
        .user("c", &["z"])
        .end("e")
        .chain(&["s", "a", "b", "c", "e"])
        .build();
    assert_eq!(codes(&h, &v2), vec![]);
}

#[test]
fn missing_or_changed_nodes_block_the_move() {
    let mut h = H::new(v1());
    h.submit();
    let task = h.pending()[0].0;
    h.ok("x", Action::Approve { task });
    // Waiting at `b` (and came by `a`).
    let without_b = B::new("p").start("s").user("a", &["x"]).end("e").chain(&["s", "a", "e"]).build();
    assert_eq!(codes(&h, &without_b), vec![("b".to_owned(), "node_missing".to_owned())]);
    let without_a = B::new("p").start("s").user("b", &["y"]).end("e").chain(&["s", "b", "e"]).build();
    assert_eq!(codes(&h, &without_a), vec![("a".to_owned(), "node_missing".to_owned())], "return targets must survive");
    let b_countersign = B::new("p")
        .start("s")
        .user("a", &["x"])
        .countersign("b", &["y", "z"], Completion::All)
        .end("e")
        .chain(&["s", "a", "b", "e"])
        .build();
    assert_eq!(codes(&h, &b_countersign), vec![("b".to_owned(), "mode_changed".to_owned())]);
    let b_service = B::new("p").start("s").user("a", &["x"]).service("b").end("e").chain(&["s", "a", "b", "e"]).build();
    assert_eq!(codes(&h, &b_service), vec![("b".to_owned(), "kind_changed".to_owned())]);
}

#[test]
fn finished_affairs_and_other_processes_do_not_move() {
    let mut h = H::new(v1());
    h.submit();
    let other =
        B::new("q").start("s").user("a", &["x"]).user("b", &["y"]).end("e").chain(&["s", "a", "b", "e"]).build();
    assert_eq!(codes(&h, &other)[0].1, "different_process");
    h.ok("app", Action::Withdraw);
    assert_eq!(codes(&h, &v1())[0].1, "affair_finished");
}
