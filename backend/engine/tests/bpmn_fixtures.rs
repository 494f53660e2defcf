//! BPMN files in the shape bpmn-js writes them (see fixtures/bpmn/generate.mjs) import, validate
//! and survive an export → import round trip.

use tongban_engine::bpmn::{BpmnError, export, import};
use tongban_engine::model::{Completion, EndOutcome, FlowId, HandlingMode, NodeKind};
use tongban_engine::validate::validate;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/bpmn/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_modeler_file_with_a_gateway_and_cc_imports_and_validates() {
    let def = import(&fixture("leave.bpmn")).expect("import");
    assert_eq!(def.key, "leave");
    assert_eq!(def.name, "学生请假");
    assert_eq!(def.nodes.len(), 6);
    assert_eq!(def.flows.len(), 6);
    let gw = def.nodes.iter().find(|n| n.id.as_str() == "days").expect("gateway");
    assert_eq!(gw.kind, NodeKind::ExclusiveGateway { default_flow: Some(FlowId("f_short".into())) });
    let long = def.flows.iter().find(|f| f.id.as_str() == "f_long").expect("flow");
    assert_eq!(long.condition.as_deref(), Some("form.days > 3"));
    assert_eq!(long.name.as_deref(), Some("超过3天"));
    let counsellor = def.nodes.iter().find(|n| n.id.as_str() == "counsellor").expect("task");
    assert_eq!(counsellor.time_limit.map(|t| t.amount), Some(1));
    assert!(matches!(def.nodes.iter().find(|n| n.id.as_str() == "notify").map(|n| &n.kind), Some(NodeKind::Cc { .. })));
    assert!(matches!(def.nodes.last().map(|n| &n.kind), Some(NodeKind::End { outcome: EndOutcome::Completed })));
    validate(&def).expect("the imported definition is valid");
}

#[test]
fn a_parallel_countersign_with_a_service_task_imports() {
    let def = import(&fixture("countersign.bpmn")).expect("import");
    let finance = def.nodes.iter().find(|n| n.id.as_str() == "finance").expect("finance");
    assert!(matches!(
        finance.kind,
        NodeKind::UserTask { mode: HandlingMode::Parallel { completion: Completion::Percent(60) }, .. }
    ));
    assert!(matches!(
        def.nodes.iter().find(|n| n.id.as_str() == "issue").map(|n| &n.kind),
        Some(NodeKind::ServiceTask { .. })
    ));
    validate(&def).expect("valid");
}

#[test]
fn export_then_import_keeps_every_fixture_unchanged() {
    for name in ["leave.bpmn", "countersign.bpmn"] {
        let def = import(&fixture(name)).expect("import");
        let again = import(&export(&def)).expect("re-import");
        assert_eq!(again, def, "{name}");
    }
}

#[test]
fn unsupported_elements_are_named_in_one_error() {
    match import(&fixture("unsupported.bpmn")) {
        Err(BpmnError::Unsupported(ids)) => {
            assert_eq!(ids, vec!["script (scriptTask)".to_owned(), "wait (intermediateCatchEvent)".to_owned()]);
        }
        other => panic!("unexpected {other:?}"),
    }
}
