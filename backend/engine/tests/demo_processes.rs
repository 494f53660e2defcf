//! The demo college's processes (`backend/server/demo/processes/*.json`) and the built-in ones every
//! installation has (`backend/server/builtin/processes/*.json`): every file holds a valid
//! definition and form that fit together, and every process runs to its end, on each of its
//! routes, with form data the form accepts and opinions written only where the node allows.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use common::{Dir, H, u};
use serde_json::{Map, Value, json};
use tongban_engine::calendar::TimeUnit;
use tongban_engine::exec::{Action, HistoryAction, Instance, InstanceStatus, TaskResult, TaskStatus};
use tongban_engine::form::{self, FieldAccess, FieldKind, FormDefinition};
use tongban_engine::model::{AssigneeRule, LeaderOf, NodeId, NodeKind, ProcessDefinition, ServiceCall, UserId};
use tongban_engine::{bpmn, validate};

/// The processes the demo college publishes, built-in ones included.
const EXPECTED_KEYS: [&str; 6] = [
    "enrolment_certificate",
    "meeting_room_booking",
    "process_requirement_change",
    "process_requirement_plan",
    "seal_application",
    "student_leave",
];

/// The department a built-in process names: the IT office, whatever its code (the server finds it).
const BUILTIN_DEPARTMENT: &str = "it_office";
/// The administrator the tests put in for a built-in process's empty `admins` (the server fills in
/// the IT office administrators when it installs one).
const BUILTIN_ADMIN: &str = "id-it_admin";

/// Department codes of the demo college (`backend/server/src/demo.rs`).
const DEPARTMENTS: &[&str] = &[
    "school", "leaders", "xxhlz", "jw", "dzb", "xxb", "jwc", "xgc", "cwc", "rsc", "hqbwc", "zsjyc", "tsg", "hjxy",
    "swxy", "xxxy", "hj2401", "hj2402", "rj2402", "sw2401",
];

/// Role codes of the platform.
const ROLES: &[&str] = &["applicant", "handler", "dept_admin", "it_admin", "leader", "auditor"];

/// Position kinds of the demo college.
const POSITIONS: &[&str] = &["president", "secretary", "supervising_leader", "department_head", "counsellor"];

const TOP_LEVEL_KEYS: [&str; 7] = ["category", "definition", "department", "description", "form", "key", "name"];

const PLACEHOLDER: &str = "$user:";

struct Process {
    file: String,
    /// Built in (every installation) rather than demo data.
    builtin: bool,
    department: String,
    def: ProcessDefinition,
    form: FormDefinition,
    /// The usernames named by placeholders.
    placeholders: BTreeSet<String>,
}

fn folders() -> [(PathBuf, bool); 2] {
    let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server");
    [(server.join("demo/processes"), false), (server.join("builtin/processes"), true)]
}

/// The id a placeholder stands for in these tests.
fn user_id(username: &str) -> String {
    format!("id-{username}")
}

/// Replace every `"$user:<username>"` by a fake id, collecting the usernames. A string that
/// merely contains the marker is refused: placeholders are whole values.
fn fill_placeholders(v: &mut Value, file: &str, found: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.contains(PLACEHOLDER) => {
            let name = s.strip_prefix(PLACEHOLDER).unwrap_or_default();
            let ok = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && name.as_bytes()[0].is_ascii_lowercase();
            assert!(ok, "{file}: `{s}` is not a placeholder of the form \"$user:<username>\"");
            found.insert(name.to_owned());
            *s = user_id(name);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill_placeholders(i, file, found)),
        Value::Object(m) => m.values_mut().for_each(|i| fill_placeholders(i, file, found)),
        _ => {}
    }
}

fn text_of<'a>(doc: &'a Value, key: &str, file: &str) -> &'a str {
    let s = doc.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{file}: `{key}` must be a string"));
    assert!(!s.trim().is_empty(), "{file}: `{key}` is empty");
    s
}

fn load(path: &PathBuf, builtin: bool) -> Process {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
    let keys: Vec<&str> = doc.as_object().expect("a JSON object").keys().map(String::as_str).collect();
    assert_eq!(keys, TOP_LEVEL_KEYS, "{file}: top-level keys");
    for k in ["key", "name", "department", "description", "category"] {
        text_of(&doc, k, &file);
    }
    let mut placeholders = BTreeSet::new();
    fill_placeholders(&mut doc, &file, &mut placeholders);
    let mut def: ProcessDefinition = serde_json::from_value(doc["definition"].clone())
        .unwrap_or_else(|e| panic!("{file}: definition does not parse: {e}"));
    if builtin {
        assert!(placeholders.is_empty(), "{file}: a built-in process names no demo user");
        assert!(def.admins.is_empty(), "{file}: the server fills in a built-in process's administrators");
        def.admins = vec![u(BUILTIN_ADMIN)];
    }
    let form: FormDefinition =
        serde_json::from_value(doc["form"].clone()).unwrap_or_else(|e| panic!("{file}: form does not parse: {e}"));
    assert_eq!(text_of(&doc, "key", &file), def.key, "{file}: key differs from definition.key");
    assert_eq!(text_of(&doc, "name", &file), def.name, "{file}: name differs from definition.name");
    assert_eq!(file, format!("{}.json", def.key), "{file}: the file is named after its key");
    Process { department: text_of(&doc, "department", &file).to_owned(), file, builtin, def, form, placeholders }
}

fn load_all() -> BTreeMap<String, Process> {
    let mut out = BTreeMap::new();
    for (folder, builtin) in folders() {
        let entries = fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let p = load(&path, builtin);
                assert!(out.insert(p.def.key.clone(), p).is_none(), "{}: key used twice", path.display());
            }
        }
    }
    out
}

fn process(key: &str) -> Process {
    load_all().remove(key).unwrap_or_else(|| panic!("no process `{key}`"))
}

/// The form keys a condition reads as `form.<key>`.
fn form_keys(src: &str) -> Vec<&str> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    src.match_indices("form.")
        .filter(|(i, _)| !src[..*i].ends_with(ident))
        .map(|(i, m)| {
            let rest = &src[i + m.len()..];
            &rest[..rest.find(|c: char| !ident(c)).unwrap_or(rest.len())]
        })
        .collect()
}

/// The most working days the nodes on any path from `node` to an end may take (the graphs are
/// acyclic; a parallel fork counts its longest branch).
fn longest_path_days(def: &ProcessDefinition, node: &NodeId) -> u32 {
    let own = def.node(node).and_then(|n| n.time_limit).map_or(0, |l| l.amount);
    own + def.outgoing(node).map(|f| longest_path_days(def, &f.to)).max().unwrap_or(0)
}

fn rules(kind: &NodeKind) -> &[AssigneeRule] {
    match kind {
        NodeKind::UserTask { assignees, .. } => assignees,
        NodeKind::Cc { recipients } => recipients,
        _ => &[],
    }
}

#[test]
fn exactly_the_expected_processes() {
    let all = load_all();
    let keys: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(keys, EXPECTED_KEYS);
}

#[test]
fn every_file_is_a_valid_definition_and_form() {
    for p in load_all().values() {
        let file = &p.file;
        if let Err(errors) = validate::validate(&p.def) {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{file}: invalid definition:\n{}", lines.join("\n"));
        }
        if let Err(errors) = form::validate_definition(&p.form) {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{file}: invalid form:\n{}", lines.join("\n"));
        }
        if p.builtin {
            assert_eq!(p.department, BUILTIN_DEPARTMENT, "{file}: a built-in process belongs to the IT office");
        } else {
            assert!(DEPARTMENTS.contains(&p.department.as_str()), "{file}: unknown department `{}`", p.department);
            assert!(p.placeholders.contains("it_admin"), "{file}: the IT office administers every process");
        }
        assert!(!p.def.admins.is_empty(), "{file}: no process administrators");
        for a in &p.def.admins {
            assert!(a.0.starts_with("id-"), "{file}: administrator `{a}` is not a \"$user:\" placeholder");
        }

        // Time limits are counted in working days, for the affair and for every user task.
        let limits = p.def.time_limit.iter().chain(p.def.nodes.iter().filter_map(|n| n.time_limit.as_ref()));
        for l in limits {
            assert_eq!(l.unit, TimeUnit::WorkingDays, "{file}: time limits are in working days");
            assert!(l.amount > 0, "{file}: a time limit of zero");
        }
        assert!(p.def.time_limit.is_some(), "{file}: the affair needs a time limit (办理时限)");
        for n in &p.def.nodes {
            if matches!(n.kind, NodeKind::UserTask { .. }) {
                assert!(n.time_limit.is_some(), "{file}: user task {} has no time limit", n.id);
            }
        }
        let steps = longest_path_days(&p.def, &p.def.start().unwrap().id);
        let whole = p.def.time_limit.unwrap().amount;
        assert!(steps <= whole, "{file}: the steps may take {steps} working days, the affair only {whole}");

        // Field permissions name fields of the form; rules name real departments, roles,
        // positions and user fields.
        for n in &p.def.nodes {
            for key in n.field_access.keys() {
                assert!(p.form.field(key).is_some(), "{file}: node {} names field `{key}`, not in the form", n.id);
            }
            for r in rules(&n.kind) {
                match r {
                    AssigneeRule::FormField { field } => {
                        let ok = p.form.field(field).is_some_and(|f| matches!(f.kind, FieldKind::User {}));
                        assert!(ok, "{file}: node {} takes assignees from `{field}`, not a user field", n.id);
                    }
                    AssigneeRule::SupervisingLeader { of: LeaderOf::Department(d) }
                    | AssigneeRule::DepartmentHead { of: LeaderOf::Department(d) } => {
                        assert!(!p.builtin, "{file}: a built-in process names no department by code");
                        assert!(DEPARTMENTS.contains(&d.as_str()), "{file}: unknown department `{d}`");
                    }
                    AssigneeRule::SupervisingLeader { of: LeaderOf::Field(k) }
                    | AssigneeRule::DepartmentHead { of: LeaderOf::Field(k) } => {
                        let ok = p.form.field(k).is_some_and(|f| matches!(f.kind, FieldKind::Department { .. }));
                        assert!(ok, "{file}: node {} takes departments from `{k}`, not a department field", n.id);
                    }
                    AssigneeRule::Role { code } => assert!(ROLES.contains(&code.as_str()), "{file}: role {code}"),
                    AssigneeRule::Position { kind } => {
                        assert!(POSITIONS.contains(&kind.as_str()), "{file}: position {kind}");
                    }
                    AssigneeRule::Users { users } => {
                        for who in users {
                            assert!(who.0.starts_with("id-"), "{file}: user `{who}` is not a \"$user:\" placeholder");
                        }
                    }
                    _ => {}
                }
            }
        }

        // Conditions read fields of the form (the validator cannot know the form).
        for f in &p.def.flows {
            for key in f.condition.as_deref().map(form_keys).unwrap_or_default() {
                assert!(p.form.field(key).is_some(), "{file}: flow {} reads `form.{key}`, not in the form", f.id);
            }
        }

        // The start node's permissions say what the applicant fills in: every required field,
        // and every field left to the applicant is one some handler fills in.
        let start = p.def.start().unwrap();
        let applicant_fills = |key: &str| start.access(key).is_editable();
        for f in &p.form.fields {
            if f.required {
                assert!(applicant_fills(&f.key), "{file}: required field `{}` is not filled at the start", f.key);
            }
            if !applicant_fills(&f.key) {
                let handler_fills = p
                    .def
                    .nodes
                    .iter()
                    .any(|n| matches!(n.kind, NodeKind::UserTask { .. }) && n.access(&f.key).is_editable());
                assert!(handler_fills, "{file}: nobody fills in field `{}`", f.key);
            }
        }

        // Modellers can open it: the BPMN export reads back as the same definition.
        let back = bpmn::import(&bpmn::export(&p.def)).unwrap_or_else(|e| panic!("{file}: BPMN round trip: {e}"));
        assert_eq!(back, p.def, "{file}: BPMN round trip");
    }
}

// ---------------------------------------------------------------------------------------------
// Running the processes

/// Everybody the rules can name: one made-up user per role, position, department's supervising
/// leader, department head and counsellor.
fn directory() -> Dir {
    let mut dir = Dir::default();
    for r in ROLES {
        dir.roles.insert((*r).into(), vec![u(&format!("role-{r}"))]);
    }
    for p in POSITIONS {
        dir.positions.insert((*p).into(), vec![u(&format!("position-{p}"))]);
    }
    dir.dept_head = vec![u("applicant-dept-head")];
    dir.counsellor = vec![u("class-counsellor")];
    dir.supervising.insert(String::new(), u("leader-of-applicant-dept"));
    dir.supervising.insert("$process".into(), u("leader-of-process-dept"));
    dir.heads.insert("$process".into(), u("head-of-process-dept"));
    // Departments by code (rules that name one) and by the ids the tests' forms choose.
    for d in DEPARTMENTS {
        for key in [(*d).to_owned(), format!("dept-{d}")] {
            dir.supervising.insert(key.clone(), u(&format!("leader-of-{d}")));
            dir.heads.insert(key, u(&format!("head-of-{d}")));
        }
    }
    dir
}

fn student() -> Value {
    json!({ "kind": "student", "department_code": "hj2401" })
}

fn staff() -> Value {
    json!({ "kind": "staff", "department_code": "jwc" })
}

/// How handlers act on the way.
#[derive(Default)]
struct Plan {
    /// Extra form changes by node, beyond the opinions every handler writes.
    patches: BTreeMap<&'static str, Value>,
    /// The node whose handler rejects (不同意).
    reject_at: Option<&'static str>,
}

/// What happened to an affair.
struct Run {
    /// Nodes handled, in order: one entry per approved or rejected task and per service call.
    handled: Vec<String>,
    /// Who handled each of them.
    handlers: Vec<UserId>,
    inst: Instance,
}

impl Run {
    fn handled(&self) -> Vec<&str> {
        self.handled.iter().map(String::as_str).collect()
    }

    fn history(&self, action: HistoryAction) -> Vec<&tongban_engine::exec::HistoryEntry> {
        self.inst.history.iter().filter(|h| h.action == action).collect()
    }
}

/// An opinion for every empty text field the node lets its handler edit; a countersign appends.
fn opinions(p: &Process, node: &str, actor: &UserId, form: &Value) -> Map<String, Value> {
    let node = p.def.node(&node.into()).unwrap();
    let mut patch = Map::new();
    for (key, access) in &node.field_access {
        let field = p.form.field(key).unwrap();
        let text = match field.kind {
            FieldKind::Textarea { .. } => format!("同意。（{actor}）"),
            FieldKind::Text { .. } => format!("{}-001", node.id),
            _ => continue,
        };
        if !access.is_editable() {
            continue;
        }
        let value = match form.get(key).and_then(Value::as_str) {
            Some(before) if matches!(field.kind, FieldKind::Textarea { .. }) => format!("{before}\n{text}"),
            Some(_) => continue,
            None => text,
        };
        patch.insert(key.clone(), Value::String(value));
    }
    patch
}

/// Submit `data` as the applicant and let every handler act until the affair ends.
fn drive(p: &Process, applicant: Value, data: Value, plan: &Plan) -> Run {
    let data = form::validate_data(&p.form, &data, &applicant)
        .unwrap_or_else(|v| panic!("{}: the form refuses the test data: {v:#?}", p.file));
    let start = p.def.start().unwrap();
    for key in data.as_object().unwrap().keys() {
        assert_eq!(start.access(key), FieldAccess::Editable, "{}: the applicant cannot fill `{key}`", p.file);
    }
    let mut h = H::with_dir(p.def.clone(), directory());
    h.inst = Instance::new(p.def.key.clone(), u("applicant"), applicant.clone());
    let mut submit = h.command("applicant", Action::Submit { picks: BTreeMap::new() });
    submit.form_patch = Some(data.as_object().unwrap().clone());
    h.try_cmd(submit).unwrap_or_else(|e| panic!("{}: submit refused: {e}", p.file));

    let mut run = Run { handled: Vec::new(), handlers: Vec::new(), inst: h.inst.clone() };
    for _ in 0..100 {
        if h.status().is_finished() {
            run.inst = h.inst;
            assert!(run.history(HistoryAction::NoAssignee).is_empty(), "{}: a rule found nobody", p.file);
            assert!(run.history(HistoryAction::ConditionFailed).is_empty(), "{}: a condition failed", p.file);
            return run;
        }
        assert_eq!(h.status(), InstanceStatus::Running, "{}", p.file);
        let call = h.inst.pending_calls().next().cloned();
        if let Some(call) = call {
            h.ok("system", Action::ServiceResult { call_id: call.id, ok: true, detail: json!({ "number": "C-1" }) });
            run.handled.push(call.node.to_string());
            run.handlers.push(u("system"));
            continue;
        }
        let task = h.inst.pending_tasks().next().cloned();
        let task = task.expect("a running affair waits for a task");
        let actor = match &task.assignee {
            Some(a) => a.clone(),
            None => {
                let c = task.candidates[0].clone();
                h.ok(&c.0, Action::Claim { task: task.id });
                c
            }
        };
        let node = p.def.node(&task.node).unwrap();
        let mut patch = opinions(p, &node.id.0, &actor, &h.inst.form);
        if let Some(Value::Object(extra)) = plan.patches.get(node.id.as_str()) {
            patch.extend(extra.clone());
        }
        // The server checks a handler's changes against the node's permissions and the form.
        let merged = form::check_patch(&p.form, &node.field_access, &h.inst.form, &patch, &applicant)
            .unwrap_or_else(|v| panic!("{}: patch at {} refused: {v:#?}", p.file, node.id));
        let reject = plan.reject_at == Some(node.id.as_str());
        if !reject {
            // The server refuses an approval that leaves a field the node requires empty.
            let missing = form::missing_required(&p.form, &node.field_access, &merged, &applicant);
            assert!(missing.is_empty(), "{}: {} approves with required fields empty: {missing:?}", p.file, node.id);
        }
        let action = if reject { Action::Reject { task: task.id } } else { Action::Approve { task: task.id } };
        let mut cmd = h.command(&actor.0, action);
        cmd.comment = Some(if reject { "不同意。" } else { "同意。" }.into());
        cmd.form_patch = (!patch.is_empty()).then_some(patch);
        h.try_cmd(cmd).unwrap_or_else(|e| panic!("{}: {actor} at {} refused: {e}", p.file, node.id));
        assert_eq!(h.inst.form, merged, "{}: the stored form is the checked one", p.file);
        run.handled.push(node.id.to_string());
        run.handlers.push(actor);
    }
    panic!("{}: the affair does not end", p.file);
}

/// Every user and service task of the definition was handled in one of the runs.
fn assert_covered(p: &Process, runs: &[&Run]) {
    let handled: BTreeSet<&str> = runs.iter().flat_map(|r| r.handled.iter().map(String::as_str)).collect();
    for n in &p.def.nodes {
        if matches!(n.kind, NodeKind::UserTask { .. } | NodeKind::ServiceTask { .. }) {
            assert!(handled.contains(n.id.as_str()), "{}: node {} never ran", p.file, n.id);
        }
    }
}

fn ids(names: &[&str]) -> Vec<UserId> {
    names.iter().map(|n| u(n)).collect()
}

#[test]
fn enrolment_certificate_is_issued_automatically() {
    let p = process("enrolment_certificate");
    let data = json!({ "purpose": "visa", "copies": 2, "language": "en" });
    let run = drive(&p, student(), data, &Plan::default());
    assert_eq!(run.inst.status, InstanceStatus::Completed);
    assert_eq!(run.handled(), ["counsellor", "xgc_review", "issue_certificate"]);
    assert_eq!(run.handlers[..2], ids(&["class-counsellor", "id-xgc_admin"]));
    let call = &run.inst.calls[0].call;
    assert_eq!(call, &ServiceCall::IssueCertificate { certificate_type: "enrolment".into() });

    // 其他 needs the detail; without it the form refuses.
    let other = json!({ "purpose": "other", "copies": 1, "language": "zh" });
    assert!(form::validate_data(&p.form, &other, &student()).is_err());
    let other = json!({ "purpose": "other", "purpose_detail": "办理银行助学贷款", "copies": 1, "language": "zh" });
    let rejected = drive(&p, student(), other, &Plan { reject_at: Some("xgc_review"), ..Plan::default() });
    assert_eq!(rejected.inst.status, InstanceStatus::Rejected);
    assert!(rejected.inst.calls.is_empty(), "no certificate for a rejected application");
    assert_covered(&p, &[&run]);
}

fn leave(days: f64, leave_type: &str) -> Value {
    let mut v = json!({
        "leave_type": leave_type,
        "period": { "start": "2026-03-09", "end": "2026-03-20" },
        "days": days,
        "reason": "回家处理家中事务",
        "leave_campus": "yes",
        "destination": "湖南省衡阳市",
        "emergency_contact": "张建国",
        "emergency_phone": "13812345678",
    });
    if leave_type == "sick" {
        v["attachment"] = json!(["att-0001"]);
    }
    v
}

#[test]
fn student_leave_goes_up_with_its_length() {
    let p = process("student_leave");
    let short = drive(&p, student(), leave(2.0, "personal"), &Plan::default());
    let three = drive(&p, student(), leave(3.0, "personal"), &Plan::default());
    let half_over = drive(&p, student(), leave(3.5, "personal"), &Plan::default());
    let week = drive(&p, student(), leave(7.0, "sick"), &Plan::default());
    let long = drive(&p, student(), leave(10.0, "sick"), &Plan::default());
    assert_eq!(short.handled(), ["counsellor"]);
    assert_eq!(three.handled(), ["counsellor"]);
    assert_eq!(half_over.handled(), ["counsellor", "college_leader"]);
    assert_eq!(week.handled(), ["counsellor", "college_leader"]);
    assert_eq!(long.handled(), ["counsellor", "college_leader", "xgc_head"]);
    assert_eq!(long.handlers, ids(&["class-counsellor", "leader-of-applicant-dept", "id-xgc_head"]));
    for run in [&short, &three, &half_over, &week, &long] {
        assert_eq!(run.inst.status, InstanceStatus::Completed);
        let cc = run.history(HistoryAction::CcNotified);
        assert_eq!(cc.len(), 1, "every granted leave is copied to 学生工作处");
        assert_eq!(cc[0].detail["users"], json!(["id-xgc_admin"]));
        assert!(run.inst.form["counsellor_opinion"].as_str().unwrap().starts_with("同意"));
    }

    // A sick leave needs its certificate; the phone must be a mobile number; half days only
    // from 0.5 up to 30.
    let mut no_proof = leave(2.0, "sick");
    no_proof.as_object_mut().unwrap().remove("attachment");
    assert!(form::validate_data(&p.form, &no_proof, &student()).is_err());
    let mut bad_phone = leave(2.0, "personal");
    bad_phone["emergency_phone"] = json!("0731-1234567");
    assert!(form::validate_data(&p.form, &bad_phone, &student()).is_err());
    assert!(form::validate_data(&p.form, &leave(31.0, "personal"), &student()).is_err());
    assert!(form::validate_data(&p.form, &leave(0.0, "personal"), &student()).is_err());
    // The counsellor's opinion is not the applicant's to write.
    assert_ne!(p.def.start().unwrap().access("counsellor_opinion"), FieldAccess::Editable);

    let refused =
        drive(&p, student(), leave(10.0, "personal"), &Plan { reject_at: Some("college_leader"), ..Plan::default() });
    assert_eq!(refused.inst.status, InstanceStatus::Rejected);
    assert!(refused.history(HistoryAction::CcNotified).is_empty());
    assert_covered(&p, &[&short, &long]);
}

fn seal() -> Value {
    json!({
        "seal_type": "college_seal",
        "document_title": "关于申报2026年省级教学成果奖的推荐函",
        "copies": 3,
        "send_to": "湖南省教育厅",
        "purpose": "教学成果奖申报材料盖章",
        "attachment": ["att-0002"],
    })
}

#[test]
fn seal_application_needs_both_parallel_approvals_then_the_stamp() {
    let p = process("seal_application");
    let run = drive(&p, staff(), seal(), &Plan::default());
    assert_eq!(run.inst.status, InstanceStatus::Completed);
    assert_eq!(run.handled(), ["dept_head", "dzb_review", "supervising_leader", "stamp"]);
    assert_eq!(run.handlers, ids(&["applicant-dept-head", "id-dzb_admin", "leader-of-applicant-dept", "id-dzb_admin"]));
    assert_eq!(run.inst.form["stamp_record"], json!("stamp-001"));

    // The leader refusing ends the affair (不予办理); nothing is stamped.
    let refused = drive(&p, staff(), seal(), &Plan { reject_at: Some("supervising_leader"), ..Plan::default() });
    assert_eq!(refused.inst.status, InstanceStatus::Rejected);
    assert_eq!(refused.handled(), ["dept_head", "dzb_review", "supervising_leader"]);

    let mut no_file = seal();
    no_file.as_object_mut().unwrap().remove("attachment");
    assert!(form::validate_data(&p.form, &no_file, &staff()).is_err());
    assert_covered(&p, &[&run]);
}

fn booking(room: &str, attendees: u32) -> Value {
    json!({
        "topic": "2026年春季学期教学工作会议",
        "room": room,
        "date": "2026-03-02",
        "time_slot": "afternoon",
        "attendees": attendees,
        "needs": ["tea", "projector"],
        "contact_phone": "13912345678",
    })
}

#[test]
fn meeting_room_booking_is_any_of_two_and_refuses_too_many_people() {
    let p = process("meeting_room_booking");
    let run = drive(&p, staff(), booking("xz305", 40), &Plan::default());
    assert_eq!(run.inst.status, InstanceStatus::Completed);
    assert_eq!(run.handled(), ["hq_review"]);
    // Both got the task; the first approval completes it and cancels the other.
    let tasks: Vec<_> = run.inst.tasks.iter().filter(|t| t.node.as_str() == "hq_review").collect();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks.iter().filter(|t| t.result == Some(TaskResult::Approved)).count(), 1);
    assert_eq!(tasks.iter().filter(|t| t.status == TaskStatus::Cancelled).count(), 1);
    // Options are stored in option order.
    assert_eq!(run.inst.form["needs"], json!(["projector", "tea"]));

    let full_hall = drive(&p, staff(), booking("tsg_hall", 200), &Plan::default());
    assert_eq!(full_hall.inst.status, InstanceStatus::Completed);

    for (room, people) in [("tsg_hall", 201), ("sx_hall", 121), ("xz305", 51), ("xz201", 21), ("xz201", 300)] {
        let over = drive(&p, staff(), booking(room, people), &Plan::default());
        assert_eq!(over.inst.status, InstanceStatus::Rejected, "{people} people in {room}");
        assert!(over.handled.is_empty() && over.inst.tasks.is_empty());
        let finished = over.history(HistoryAction::Finished);
        assert_eq!(finished[0].node.as_ref().map(|n| n.as_str()), Some("end_over_capacity"));
    }
    for (room, people) in [("xz201", 20), ("xz305", 50), ("sx_hall", 120)] {
        let fits = drive(&p, staff(), booking(room, people), &Plan::default());
        assert_eq!(fits.inst.status, InstanceStatus::Completed, "{people} people in {room}");
    }
    assert_covered(&p, &[&run]);
}

fn requirement_plan(has_leader_steps: &str) -> Value {
    json!({
        "applying_department": "dept-jwc",
        "process_name": "学生成绩证明申请",
        "summary": "学生在线申请成绩证明，教务处审核后自动生成带电子签章的成绩证明。",
        "reasons": "目前成绩证明需学生到教务处窗口现场办理，高峰期排队时间长。\n要求：支持中英文版本，可在线验真。",
        "applied_on": "2026-03-02",
        "contact_name": "郑教务",
        "contact_phone": "0734-8888301",
        "process_description": ["att-0101"],
        "flowchart": ["att-0102"],
        "has_leader_steps": has_leader_steps,
        "related_departments": ["dept-xxb", "dept-xgc"],
    })
}

#[test]
fn process_requirement_plan_follows_the_attachment_form() {
    let p = process("process_requirement_plan");
    let before_leaders =
        ["applying_dept", "applying_leader", "related_depts", "related_depts", "it_office", "it_leader"];

    let without = drive(&p, staff(), requirement_plan("no"), &Plan::default());
    assert_eq!(without.inst.status, InstanceStatus::Completed);
    assert_eq!(without.handled(), before_leaders);
    // The applying department is the one on the form, not the applicant's own; each related
    // department's head signs in the countersign; the IT office's leader is the process's.
    assert_eq!(
        without.handlers,
        ids(&["head-of-jwc", "leader-of-jwc", "head-of-xxb", "head-of-xgc", "role-it_admin", "leader-of-process-dept"])
    );
    // Every opinion is a comment of its node, in the attachment's order.
    let opinions: Vec<&str> = without
        .inst
        .history
        .iter()
        .filter(|h| h.action == HistoryAction::Approved)
        .filter_map(|h| h.node.as_ref().map(NodeId::as_str))
        .collect();
    assert_eq!(opinions, before_leaders);

    let with = drive(&p, staff(), requirement_plan("yes"), &Plan::default());
    assert_eq!(with.inst.status, InstanceStatus::Completed);
    assert_eq!(with.handled(), [&before_leaders[..], &["president", "secretary"]].concat());
    assert_eq!(with.handlers[6..], ids(&["position-president", "position-secretary"]));

    // The IT office finds president or secretary steps in the flowchart and corrects the answer.
    let corrected =
        Plan { patches: BTreeMap::from([("it_office", json!({ "has_leader_steps": "yes" }))]), ..Plan::default() };
    let run = drive(&p, staff(), requirement_plan("no"), &corrected);
    assert_eq!(run.handled(), [&before_leaders[..], &["president", "secretary"]].concat());

    // One related department is enough; none, or one twice, is refused; so is a missing flowchart.
    let mut one = requirement_plan("no");
    one["related_departments"] = json!(["dept-xgc"]);
    let single = drive(&p, staff(), one, &Plan::default());
    assert_eq!(single.handled().iter().filter(|n| **n == "related_depts").count(), 1);
    for bad in [json!([]), json!(["dept-xgc", "dept-xgc"]), json!("dept-xgc")] {
        let mut data = requirement_plan("no");
        data["related_departments"] = bad.clone();
        assert!(form::validate_data(&p.form, &data, &staff()).is_err(), "{bad}");
    }
    let mut no_flowchart = requirement_plan("no");
    no_flowchart.as_object_mut().unwrap().remove("flowchart");
    assert!(form::validate_data(&p.form, &no_flowchart, &staff()).is_err());

    // Any step refusing ends the request (不予办理).
    let refused =
        drive(&p, staff(), requirement_plan("yes"), &Plan { reject_at: Some("related_depts"), ..Plan::default() });
    assert_eq!(refused.inst.status, InstanceStatus::Rejected);
    assert_eq!(refused.handled(), ["applying_dept", "applying_leader", "related_depts"]);
    assert_covered(&p, &[&without, &with]);
}

#[test]
fn every_requirement_plan_step_needs_an_opinion() {
    let p = process("process_requirement_plan");
    let data = form::validate_data(&p.form, &requirement_plan("no"), &staff()).unwrap();
    let mut h = H::with_dir(p.def.clone(), directory());
    h.inst = Instance::new(p.def.key.clone(), u("applicant"), staff());
    let mut submit = h.command("applicant", Action::Submit { picks: BTreeMap::new() });
    submit.form_patch = Some(data.as_object().unwrap().clone());
    h.try_cmd(submit).unwrap();
    let task = h.inst.pending_tasks().next().cloned().unwrap();
    for comment in [None, Some("  ")] {
        for action in [Action::Approve { task: task.id }, Action::Reject { task: task.id }] {
            let mut cmd = h.command("head-of-jwc", action);
            cmd.comment = comment.map(str::to_owned);
            assert_eq!(h.try_cmd(cmd).unwrap_err(), tongban_engine::exec::ExecError::CommentRequired);
        }
    }
    assert_eq!(h.inst.pending_tasks().count(), 1, "nothing changed");
    let mut cmd = h.command("head-of-jwc", Action::Approve { task: task.id });
    cmd.comment = Some("同意建设。".into());
    h.try_cmd(cmd).unwrap();
    assert_eq!(h.inst.pending_tasks().next().unwrap().node.as_str(), "applying_leader");
}

fn requirement_change() -> Value {
    json!({
        "requirement_number": "SW2026030200001",
        "applying_department": "dept-jwc",
        "change_content": "成绩证明增加英文版排名信息。",
        "change_reason": "出国留学申请需要排名。",
    })
}

#[test]
fn a_requirement_change_is_assessed_before_it_is_approved() {
    let p = process("process_requirement_change");
    let assess = |feasibility: &str| Plan {
        patches: BTreeMap::from([(
            "assessment",
            json!({ "feasibility": feasibility, "assessment": "改动表单与证照模板，约 3 个工作日。", "estimated_days": 3 }),
        )]),
        ..Plan::default()
    };
    let feasible = drive(&p, staff(), requirement_change(), &assess("feasible"));
    assert_eq!(feasible.inst.status, InstanceStatus::Completed);
    assert_eq!(feasible.handled(), ["applying_dept", "assessment", "it_leader"]);
    assert_eq!(feasible.handlers, ids(&["head-of-jwc", "role-it_admin", "leader-of-process-dept"]));
    let conditional = drive(&p, staff(), requirement_change(), &assess("conditional"));
    assert_eq!(conditional.inst.status, InstanceStatus::Completed);

    // Not feasible: the change is refused without going further.
    let infeasible = drive(&p, staff(), requirement_change(), &assess("infeasible"));
    assert_eq!(infeasible.inst.status, InstanceStatus::Rejected);
    assert_eq!(infeasible.handled(), ["applying_dept", "assessment"]);
    let finished = infeasible.history(HistoryAction::Finished);
    assert_eq!(finished[0].node.as_ref().map(NodeId::as_str), Some("end_infeasible"));

    // The assessment node requires its conclusion and text; the applicant cannot write them.
    let node = p.def.node(&"assessment".into()).unwrap();
    let data = form::validate_data(&p.form, &requirement_change(), &staff()).unwrap();
    let missing: Vec<String> =
        form::missing_required(&p.form, &node.field_access, &data, &staff()).into_iter().map(|v| v.field).collect();
    assert_eq!(missing, ["feasibility", "assessment"]);
    assert!(!p.def.start().unwrap().access("feasibility").is_editable());
    assert_covered(&p, &[&feasible, &infeasible]);
}
