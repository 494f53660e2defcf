//! BPMN 2.0 XML import and export of the subset Tongban runs.
//!
//! Mapping: `startEvent` → start; `endEvent` → end (`tongban:outcome="rejected"` for 不予办理);
//! `userTask` → user task; `sendTask` → CC (抄送); `serviceTask` → service task;
//! `exclusiveGateway`, `parallelGateway`, `inclusiveGateway` (with `default`); `sequenceFlow` with a
//! `conditionExpression` in CEL. What BPMN cannot say (assignee rules, handling mode, field access,
//! time limits, service calls, CC recipients, process administrators) travels as JSON in a
//! `<tongban:config>` extension element, which modelers such as bpmn-js keep untouched.
//! Text annotations, associations and the diagram (`bpmndi`) are accepted and ignored on import;
//! export writes a left-to-right layout so a modeler can open the file. Any other element inside
//! the process is refused, all offending ids listed in one error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde::{Deserialize, Serialize};

use crate::calendar::TimeLimit;
use crate::form::FieldAccess;
use crate::model::{
    AssigneeRule, EndOutcome, Flow, FlowId, HandlingMode, Node, NodeId, NodeKind, ProcessDefinition, ServiceCall,
    UserId,
};

/// The BPMN 2.0 model namespace.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// Tongban's extension namespace.
pub const TONGBAN_NS: &str = "https://tongban.dev/schema/bpmn/1.0";
const BPMNDI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
const DC_NS: &str = "http://www.omg.org/spec/DD/20100524/DC";
const DI_NS: &str = "http://www.omg.org/spec/DD/20100524/DI";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Largest accepted document.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
const MAX_DEPTH: usize = 64;

/// Why a document cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpmnError {
    /// Not well-formed XML, or too large or deep.
    #[error("not a readable XML document: {0}")]
    Xml(String),
    /// No `bpmn:definitions` root.
    #[error("the root element must be bpmn:definitions")]
    NotBpmn,
    /// No process, or more than one.
    #[error("the document must contain exactly one process, found {0}")]
    ProcessCount(usize),
    /// Elements Tongban cannot run.
    #[error("unsupported BPMN elements: {}", .0.join(", "))]
    Unsupported(Vec<String>),
    /// A required attribute is missing or an extension is malformed.
    #[error("element {id}: {message}")]
    Invalid {
        /// Element id (or tag when it has none).
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// A parsed element: namespace, local name, attributes by qualified name, children and text.
#[derive(Debug, Default)]
struct El {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name || k.rsplit(':').next() == Some(name)).map(|(_, v)| v.as_str())
    }

    fn id(&self) -> String {
        self.attr("id").map_or_else(|| self.name.clone(), str::to_owned)
    }

    fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    fn child(&self, ns: &str, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.is(ns, name))
    }
}

fn xml_err(e: impl std::fmt::Display) -> BpmnError {
    BpmnError::Xml(e.to_string())
}

fn parse_tree(xml: &str) -> Result<El, BpmnError> {
    if xml.len() > MAX_BYTES {
        return Err(BpmnError::Xml(format!("larger than {MAX_BYTES} bytes")));
    }
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(xml_err)?;
        let ns = match &resolved {
            ResolveResult::Bound(n) => n.as_ref().to_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                return Err(BpmnError::Xml(format!("content after the root element: {:?}", e.name())));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(BpmnError::Xml(format!("nested deeper than {MAX_DEPTH}")));
                }
                let mut el = El { ns, name: e.local_name().as_ref().to_owned(), ..Default::default() };
                for a in e.attributes() {
                    let a = a.map_err(xml_err)?;
                    let key = a.key.as_ref().to_owned();
                    let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(xml_err)?.into_owned();
                    el.attrs.push((key, value));
                }
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| BpmnError::Xml("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(xml_err)? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| BpmnError::Xml(format!("unknown entity &{};", &*r)))?
                        .to_owned(),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => return Err(BpmnError::Xml("DOCTYPE declarations are not accepted".into())),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(BpmnError::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| BpmnError::Xml("empty document".into()))
}

/// Tongban attributes of a node, carried as JSON in `<tongban:config>`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    assignees: Vec<AssigneeRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<HandlingMode>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    auto_approve_if_same_handler: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    opinion_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    call: Option<ServiceCall>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recipients: Vec<AssigneeRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_limit: Option<TimeLimit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    field_access: BTreeMap<String, FieldAccess>,
}

/// Tongban attributes of the process.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_limit: Option<TimeLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    admins: Vec<UserId>,
}

fn config<T: for<'de> Deserialize<'de> + Default>(el: &El) -> Result<T, BpmnError> {
    let Some(ext) = el.child(BPMN_NS, "extensionElements") else { return Ok(T::default()) };
    let Some(cfg) = ext.child(TONGBAN_NS, "config") else { return Ok(T::default()) };
    serde_json::from_str(cfg.text.trim())
        .map_err(|e| BpmnError::Invalid { id: el.id(), message: format!("tongban:config is not valid: {e}") })
}

fn required_attr<'a>(el: &'a El, name: &str) -> Result<&'a str, BpmnError> {
    el.attr(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| BpmnError::Invalid { id: el.id(), message: format!("attribute {name} is required") })
}

/// Read a BPMN 2.0 document into a definition. The result still has to pass
/// [`crate::validate`]-style checks before it is used.
pub fn import(xml: &str) -> Result<ProcessDefinition, BpmnError> {
    let root = parse_tree(xml)?;
    if !root.is(BPMN_NS, "definitions") {
        return Err(BpmnError::NotBpmn);
    }
    let processes: Vec<&El> = root.children.iter().filter(|c| c.is(BPMN_NS, "process")).collect();
    let process = match processes.as_slice() {
        [p] => *p,
        other => return Err(BpmnError::ProcessCount(other.len())),
    };
    let pcfg: ProcessConfig = config(process)?;
    let mut nodes = Vec::new();
    let mut flows = Vec::new();
    let mut unsupported = Vec::new();
    for el in &process.children {
        if el.ns != BPMN_NS {
            continue; // Foreign extensions at process level are ignored.
        }
        let kind = match el.name.as_str() {
            "extensionElements" | "documentation" | "textAnnotation" | "association" | "laneSet" => continue,
            "sequenceFlow" => {
                let condition = el.child(BPMN_NS, "conditionExpression").map(|c| c.text.trim().to_owned());
                if let Some(c) = el.child(BPMN_NS, "conditionExpression")
                    && let Some(lang) = c.attr("language")
                    && !lang.eq_ignore_ascii_case("cel")
                {
                    return Err(BpmnError::Invalid {
                        id: el.id(),
                        message: format!("condition language {lang} is not supported; use CEL"),
                    });
                }
                flows.push(Flow {
                    id: FlowId::from(required_attr(el, "id")?),
                    from: NodeId::from(required_attr(el, "sourceRef")?),
                    to: NodeId::from(required_attr(el, "targetRef")?),
                    name: el.attr("name").map(str::to_owned),
                    condition: condition.filter(|c| !c.is_empty()),
                });
                continue;
            }
            "startEvent" if el.children.iter().all(|c| !c.name.ends_with("EventDefinition")) => NodeKind::Start,
            "endEvent" if el.children.iter().all(|c| !c.name.ends_with("EventDefinition")) => {
                let outcome = match el.attrs.iter().find(|(k, _)| k.ends_with(":outcome")).map(|(_, v)| v.as_str()) {
                    None | Some("completed") => EndOutcome::Completed,
                    Some("rejected") => EndOutcome::Rejected,
                    Some(other) => {
                        return Err(BpmnError::Invalid { id: el.id(), message: format!("unknown outcome {other}") });
                    }
                };
                NodeKind::End { outcome }
            }
            "userTask" => {
                let c: NodeConfig = config(el)?;
                NodeKind::UserTask {
                    assignees: c.assignees,
                    mode: c.mode.unwrap_or(HandlingMode::Single),
                    auto_approve_if_same_handler: c.auto_approve_if_same_handler,
                    opinion_required: c.opinion_required,
                }
            }
            "sendTask" => NodeKind::Cc { recipients: config::<NodeConfig>(el)?.recipients },
            "serviceTask" => match config::<NodeConfig>(el)?.call {
                Some(call) => NodeKind::ServiceTask { call },
                None => {
                    return Err(BpmnError::Invalid {
                        id: el.id(),
                        message: "a service task needs a call in tongban:config".into(),
                    });
                }
            },
            "exclusiveGateway" => NodeKind::ExclusiveGateway { default_flow: el.attr("default").map(FlowId::from) },
            "inclusiveGateway" => NodeKind::InclusiveGateway { default_flow: el.attr("default").map(FlowId::from) },
            "parallelGateway" => NodeKind::ParallelGateway,
            _ => {
                unsupported.push(format!("{} ({})", el.id(), el.name));
                continue;
            }
        };
        let c: NodeConfig = config(el)?;
        nodes.push(Node {
            id: NodeId::from(required_attr(el, "id")?),
            name: el.attr("name").unwrap_or_default().to_owned(),
            kind,
            time_limit: c.time_limit,
            field_access: c.field_access,
        });
    }
    if !unsupported.is_empty() {
        return Err(BpmnError::Unsupported(unsupported));
    }
    Ok(ProcessDefinition {
        key: required_attr(process, "id")?.to_owned(),
        name: process.attr("name").unwrap_or_default().to_owned(),
        nodes,
        flows,
        time_limit: pcfg.time_limit,
        admins: pcfg.admins,
    })
}

/// A task of a flowchart that names nobody responsible for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnownedTask {
    /// Element id.
    pub id: String,
    /// Its name, as drawn.
    pub name: String,
}

/// What [`check_flowchart`] found in a BPMN flowchart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowchartReport {
    /// Tasks drawn (user, manual and plain tasks in every pool).
    pub tasks: usize,
    /// Those without a named owner.
    pub unowned: Vec<UnownedTask>,
    /// Whether some task is the president's or the party secretary's (院长、书记签署意见环节).
    pub leader_steps: bool,
}

/// Whether a name designates the president (院长) or the party secretary (书记), not a deputy
/// (副院长, 副书记) — 分管副院长 is not the president.
fn names_top_leader(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    ["院长", "书记"].iter().any(|word| {
        let w: Vec<char> = word.chars().collect();
        chars.windows(2).enumerate().any(|(i, pair)| pair == w.as_slice() && (i == 0 || chars[i - 1] != '副'))
    })
}

/// Check a business-process flowchart (业务流程图) drawn in a BPMN modeller — Tongban's designer,
/// bpmn-js, Camunda or Flowable Modeler — for the regulation's rule that every node names its
/// owner (第七条㈢, 需明确每个节点的负责人). A task has an owner when Tongban assignee rules name
/// one, when a lane containing it has a name, or when a modeller's assignee attribute
/// (`assignee`, `candidateUsers`, `candidateGroups`) is set. Unlike [`import`], any element is
/// accepted: the flowchart describes the business, it is not run.
pub fn check_flowchart(xml: &str) -> Result<FlowchartReport, BpmnError> {
    let root = parse_tree(xml)?;
    if !root.is(BPMN_NS, "definitions") {
        return Err(BpmnError::NotBpmn);
    }
    let processes: Vec<&El> = root.children.iter().filter(|c| c.is(BPMN_NS, "process")).collect();
    if processes.is_empty() {
        return Err(BpmnError::ProcessCount(0));
    }
    let mut report = FlowchartReport::default();
    for process in processes {
        // Named lanes, by the ids of the nodes they hold (nested lane sets included).
        let mut lane_of: HashMap<String, String> = HashMap::new();
        let mut sets: Vec<&El> = process.children.iter().filter(|c| c.is(BPMN_NS, "laneSet")).collect();
        while let Some(set) = sets.pop() {
            for lane in set.children.iter().filter(|c| c.is(BPMN_NS, "lane")) {
                let name = lane.attr("name").unwrap_or_default().trim().to_owned();
                for r in lane.children.iter().filter(|c| c.is(BPMN_NS, "flowNodeRef")) {
                    if !name.is_empty() {
                        lane_of.insert(r.text.trim().to_owned(), name.clone());
                    }
                }
                sets.extend(lane.children.iter().filter(|c| c.is(BPMN_NS, "childLaneSet")));
            }
        }
        let mut stack: Vec<&El> = process.children.iter().collect();
        while let Some(el) = stack.pop() {
            if el.ns != BPMN_NS {
                continue;
            }
            if el.name == "subProcess" {
                stack.extend(el.children.iter());
                continue;
            }
            if !matches!(el.name.as_str(), "userTask" | "manualTask" | "task") {
                continue;
            }
            report.tasks += 1;
            let id = el.id();
            let name = el.attr("name").unwrap_or_default().trim().to_owned();
            let cfg: NodeConfig = config(el).unwrap_or_default();
            let by_rules = !cfg.assignees.is_empty();
            let by_attr = ["assignee", "candidateUsers", "candidateGroups"]
                .iter()
                .any(|a| el.attr(a).is_some_and(|v| !v.trim().is_empty()));
            let lane = lane_of.get(&id);
            if !(by_rules || by_attr || lane.is_some()) {
                report.unowned.push(UnownedTask { id: id.clone(), name: name.clone() });
            }
            let leader_rule = cfg
                .assignees
                .iter()
                .any(|r| matches!(r, AssigneeRule::Position { kind } if kind == "president" || kind == "secretary"));
            if leader_rule || names_top_leader(&name) || lane.is_some_and(|l| names_top_leader(l)) {
                report.leader_steps = true;
            }
        }
    }
    report.unowned.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(report)
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn tag(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "startEvent",
        NodeKind::End { .. } => "endEvent",
        NodeKind::UserTask { .. } => "userTask",
        NodeKind::Cc { .. } => "sendTask",
        NodeKind::ServiceTask { .. } => "serviceTask",
        NodeKind::ExclusiveGateway { .. } => "exclusiveGateway",
        NodeKind::InclusiveGateway { .. } => "inclusiveGateway",
        NodeKind::ParallelGateway => "parallelGateway",
    }
}

fn node_config(n: &Node) -> NodeConfig {
    let mut c = NodeConfig { time_limit: n.time_limit, field_access: n.field_access.clone(), ..Default::default() };
    match &n.kind {
        NodeKind::UserTask { assignees, mode, auto_approve_if_same_handler, opinion_required } => {
            c.assignees = assignees.clone();
            c.mode = Some(*mode);
            c.auto_approve_if_same_handler = *auto_approve_if_same_handler;
            c.opinion_required = *opinion_required;
        }
        NodeKind::Cc { recipients } => c.recipients = recipients.clone(),
        NodeKind::ServiceTask { call } => c.call = Some(call.clone()),
        _ => {}
    }
    c
}

fn write_config<T: Serialize>(out: &mut String, indent: &str, c: &T) {
    let json = serde_json::to_string(c).unwrap_or_default();
    if json != "{}" {
        let _ = write!(
            out,
            "{indent}<bpmn:extensionElements>\n{indent}  <tongban:config>{}</tongban:config>\n{indent}</bpmn:extensionElements>\n",
            esc(&json)
        );
    }
}

fn size(kind: &NodeKind) -> (i64, i64) {
    match kind {
        NodeKind::Start | NodeKind::End { .. } => (36, 36),
        NodeKind::ExclusiveGateway { .. } | NodeKind::InclusiveGateway { .. } | NodeKind::ParallelGateway => (50, 50),
        _ => (100, 80),
    }
}

/// Columns by longest distance from the start (back edges ignored), rows in order of appearance.
fn layout(def: &ProcessDefinition) -> HashMap<&str, (i64, i64)> {
    let mut column: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    if let Some(s) = def.start() {
        column.insert(s.id.as_str(), 0);
        queue.push_back(s.id.as_str());
    }
    let mut visits = 0usize;
    while let Some(id) = queue.pop_front() {
        visits += 1;
        if visits > def.nodes.len() * def.nodes.len().max(1) + 1 {
            break; // Cycles: stop deepening.
        }
        let c = column[id];
        for f in def.flows.iter().filter(|f| f.from.as_str() == id) {
            let next = f.to.as_str();
            if column.get(next).is_none_or(|&old| old < c + 1 && old <= def.nodes.len()) {
                column.insert(next, c + 1);
                queue.push_back(next);
            }
        }
    }
    let mut rows: HashMap<usize, i64> = HashMap::new();
    let mut pos = HashMap::new();
    for n in &def.nodes {
        let c = column.get(n.id.as_str()).copied().unwrap_or(def.nodes.len());
        let r = rows.entry(c).or_insert(0);
        let (w, h) = size(&n.kind);
        let x = 100 + c as i64 * 180 + (100 - w) / 2;
        let y = 100 + *r * 140 + (80 - h) / 2;
        *r += 1;
        pos.insert(n.id.as_str(), (x, y));
    }
    pos
}

/// Write a definition as a BPMN 2.0 document with a diagram, so modelers can open and edit it.
pub fn export(def: &ProcessDefinition) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bpmn:definitions xmlns:bpmn=\"{BPMN_NS}\" \
         xmlns:bpmndi=\"{BPMNDI_NS}\" xmlns:dc=\"{DC_NS}\" xmlns:di=\"{DI_NS}\" xmlns:xsi=\"{XSI_NS}\" \
         xmlns:tongban=\"{TONGBAN_NS}\" id=\"Definitions_{key}\" targetNamespace=\"https://tongban.dev/processes\" \
         exporter=\"Tongban\" exporterVersion=\"1\">\n  <bpmn:process id=\"{key}\" name=\"{name}\" isExecutable=\"true\">\n",
        key = esc(&def.key),
        name = esc(&def.name),
    );
    write_config(&mut out, "    ", &ProcessConfig { time_limit: def.time_limit, admins: def.admins.clone() });
    for n in &def.nodes {
        let t = tag(&n.kind);
        let mut attrs = format!("id=\"{}\" name=\"{}\"", esc(n.id.as_str()), esc(&n.name));
        match &n.kind {
            NodeKind::ExclusiveGateway { default_flow: Some(d) }
            | NodeKind::InclusiveGateway { default_flow: Some(d) } => {
                let _ = write!(attrs, " default=\"{}\"", esc(d.as_str()));
            }
            NodeKind::End { outcome: EndOutcome::Rejected } => attrs.push_str(" tongban:outcome=\"rejected\""),
            _ => {}
        }
        let _ = writeln!(out, "    <bpmn:{t} {attrs}>");
        write_config(&mut out, "      ", &node_config(n));
        for f in def.incoming(&n.id) {
            let _ = writeln!(out, "      <bpmn:incoming>{}</bpmn:incoming>", esc(f.id.as_str()));
        }
        for f in def.outgoing(&n.id) {
            let _ = writeln!(out, "      <bpmn:outgoing>{}</bpmn:outgoing>", esc(f.id.as_str()));
        }
        let _ = writeln!(out, "    </bpmn:{t}>");
    }
    for f in &def.flows {
        let name = f.name.as_deref().map(|n| format!(" name=\"{}\"", esc(n))).unwrap_or_default();
        let head = format!(
            "    <bpmn:sequenceFlow id=\"{}\"{name} sourceRef=\"{}\" targetRef=\"{}\"",
            esc(f.id.as_str()),
            esc(f.from.as_str()),
            esc(f.to.as_str())
        );
        match &f.condition {
            Some(c) => {
                let _ = write!(
                    out,
                    "{head}>\n      <bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\" language=\"cel\">{}</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n",
                    esc(c)
                );
            }
            None => {
                let _ = writeln!(out, "{head} />");
            }
        }
    }
    out.push_str("  </bpmn:process>\n");

    let pos = layout(def);
    let _ = writeln!(
        out,
        "  <bpmndi:BPMNDiagram id=\"BPMNDiagram_{k}\">\n    <bpmndi:BPMNPlane id=\"BPMNPlane_{k}\" bpmnElement=\"{k}\">",
        k = esc(&def.key)
    );
    for n in &def.nodes {
        let (x, y) = pos.get(n.id.as_str()).copied().unwrap_or((0, 0));
        let (w, h) = size(&n.kind);
        let _ = writeln!(
            out,
            "      <bpmndi:BPMNShape id=\"{id}_di\" bpmnElement=\"{id}\">\n        <dc:Bounds x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" />\n      </bpmndi:BPMNShape>",
            id = esc(n.id.as_str())
        );
    }
    for f in &def.flows {
        let centre = |id: &NodeId| {
            let (x, y) = pos.get(id.as_str()).copied().unwrap_or((0, 0));
            let (w, h) = def.node(id).map_or((0, 0), |n| size(&n.kind));
            (x + w / 2, y + h / 2)
        };
        let (x1, y1) = centre(&f.from);
        let (x2, y2) = centre(&f.to);
        let _ = writeln!(
            out,
            "      <bpmndi:BPMNEdge id=\"{id}_di\" bpmnElement=\"{id}\">\n        <di:waypoint x=\"{x1}\" y=\"{y1}\" />\n        <di:waypoint x=\"{x2}\" y=\"{y2}\" />\n      </bpmndi:BPMNEdge>",
            id = esc(f.id.as_str())
        );
    }
    out.push_str("    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n</bpmn:definitions>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::TimeUnit;
    use crate::model::{Completion, LeaderOf};

    fn sample() -> ProcessDefinition {
        let user_task = |id: &str, name: &str, assignees, mode| Node {
            id: NodeId(id.into()),
            name: name.into(),
            kind: NodeKind::UserTask { assignees, mode, auto_approve_if_same_handler: false, opinion_required: true },
            time_limit: Some(TimeLimit { amount: 2, unit: TimeUnit::WorkingDays }),
            field_access: BTreeMap::from([("opinion".to_owned(), FieldAccess::Editable)]),
        };
        let node = |id: &str, name: &str, kind| Node {
            id: NodeId(id.into()),
            name: name.into(),
            kind,
            time_limit: None,
            field_access: BTreeMap::new(),
        };
        let flow = |id: &str, from: &str, to: &str, condition: Option<&str>| Flow {
            id: FlowId(id.into()),
            from: NodeId(from.into()),
            to: NodeId(to.into()),
            name: None,
            condition: condition.map(str::to_owned),
        };
        ProcessDefinition {
            key: "leave".into(),
            name: "请假 <审批> & 销假".into(),
            nodes: vec![
                node("start", "发起", NodeKind::Start),
                user_task("counsellor", "辅导员审批", vec![AssigneeRule::ClassCounsellor], HandlingMode::Single),
                node("gw", "天数", NodeKind::ExclusiveGateway { default_flow: Some(FlowId("short".into())) }),
                user_task(
                    "leaders",
                    "学院会签",
                    vec![
                        AssigneeRule::SupervisingLeader { of: LeaderOf::ApplicantDepartment },
                        AssigneeRule::Users { users: vec![UserId("u1".into())] },
                    ],
                    HandlingMode::Parallel { completion: Completion::Percent(60) },
                ),
                node("cc", "抄送学工处", NodeKind::Cc { recipients: vec![AssigneeRule::Role { code: "xgc".into() }] }),
                node(
                    "issue",
                    "出具证明",
                    NodeKind::ServiceTask { call: ServiceCall::IssueCertificate { certificate_type: "leave".into() } },
                ),
                node("end", "办结", NodeKind::End { outcome: EndOutcome::Completed }),
                node("no", "不予办理", NodeKind::End { outcome: EndOutcome::Rejected }),
            ],
            flows: vec![
                flow("f1", "start", "counsellor", None),
                flow("f2", "counsellor", "gw", None),
                flow("long", "gw", "leaders", Some("form.days > 3 && form.reason != \"<x>\"")),
                flow("short", "gw", "cc", None),
                flow("f3", "leaders", "cc", None),
                flow("f4", "cc", "issue", None),
                flow("f5", "issue", "end", None),
                flow("f6", "gw", "no", Some("form.days > 30")),
            ],
            time_limit: Some(TimeLimit { amount: 5, unit: TimeUnit::WorkingDays }),
            admins: vec![UserId("admin".into())],
        }
    }

    #[test]
    fn export_then_import_preserves_the_definition() {
        let def = sample();
        let xml = export(&def);
        assert!(xml.contains("<bpmndi:BPMNShape id=\"leaders_di\""), "a diagram is written");
        assert!(xml.contains("&lt;审批&gt; &amp; 销假"));
        let back = import(&xml).expect("import");
        assert_eq!(back, def);
        assert_eq!(export(&back), xml, "export is deterministic");
    }

    #[test]
    fn unsupported_elements_are_listed_in_one_error() {
        let xml = format!(
            r#"<?xml version="1.0"?><definitions xmlns="{BPMN_NS}"><process id="p">
              <startEvent id="s"/><subProcess id="sub1"/><boundaryEvent id="b1" attachedToRef="t"/>
              <task id="t1"/><endEvent id="e"/></process></definitions>"#
        );
        match import(&xml) {
            Err(BpmnError::Unsupported(ids)) => {
                assert_eq!(ids, vec!["sub1 (subProcess)", "b1 (boundaryEvent)", "t1 (task)"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn timer_start_events_and_foreign_condition_languages_are_refused() {
        let xml = format!(
            r#"<definitions xmlns="{BPMN_NS}"><process id="p"><startEvent id="s"><timerEventDefinition/></startEvent></process></definitions>"#
        );
        assert_eq!(import(&xml), Err(BpmnError::Unsupported(vec!["s (startEvent)".into()])));
        let xml = format!(
            r#"<definitions xmlns="{BPMN_NS}"><process id="p"><sequenceFlow id="f" sourceRef="a" targetRef="b"><conditionExpression language="groovy">x</conditionExpression></sequenceFlow></process></definitions>"#
        );
        assert!(matches!(import(&xml), Err(BpmnError::Invalid { id, .. }) if id == "f"));
    }

    #[test]
    fn malformed_hostile_and_foreign_documents_are_refused() {
        assert!(matches!(import("<definitions"), Err(BpmnError::Xml(_))));
        assert!(matches!(import("<a></b>"), Err(BpmnError::Xml(_))));
        assert_eq!(import("<definitions xmlns=\"urn:other\"/>"), Err(BpmnError::NotBpmn));
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><definitions xmlns=\"{BPMN_NS}\">&lol;</definitions>"
        );
        assert!(matches!(import(&bomb), Err(BpmnError::Xml(_))));
        let deep =
            format!("<definitions xmlns=\"{BPMN_NS}\">{}{}</definitions>", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(import(&deep), Err(BpmnError::Xml(_))));
        assert_eq!(import(&format!("<definitions xmlns=\"{BPMN_NS}\"/>")), Err(BpmnError::ProcessCount(0)));
        let bad_cfg = format!(
            r#"<definitions xmlns="{BPMN_NS}" xmlns:t="{TONGBAN_NS}"><process id="p"><userTask id="u"><extensionElements><t:config>{{"assignees": 5}}</t:config></extensionElements></userTask></process></definitions>"#
        );
        assert!(matches!(import(&bad_cfg), Err(BpmnError::Invalid { id, .. }) if id == "u"));
    }

    #[test]
    fn prefixes_do_not_matter_only_namespaces() {
        let xml = format!(
            r#"<b2:definitions xmlns:b2="{BPMN_NS}" xmlns:x="{TONGBAN_NS}"><b2:process id="p" name="P">
              <b2:startEvent id="s"/><b2:userTask id="u" name="审核"><b2:extensionElements><x:config>{{"assignees":[{{"type":"applicant_department_head"}}]}}</x:config></b2:extensionElements></b2:userTask>
              <b2:endEvent id="e" x:outcome="rejected"/>
              <b2:sequenceFlow id="f1" sourceRef="s" targetRef="u"/><b2:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>
            </b2:process></b2:definitions>"#
        );
        let def = import(&xml).expect("import");
        assert_eq!(def.nodes.len(), 3);
        assert!(
            matches!(&def.nodes[1].kind, NodeKind::UserTask { assignees, .. } if assignees == &vec![AssigneeRule::ApplicantDepartmentHead])
        );
        assert!(matches!(def.nodes[2].kind, NodeKind::End { outcome: EndOutcome::Rejected }));
    }

    fn flowchart(body: &str) -> String {
        format!(
            r#"<definitions xmlns="{BPMN_NS}" xmlns:t="{TONGBAN_NS}" xmlns:camunda="http://camunda.org/schema/1.0/bpmn">{body}</definitions>"#
        )
    }

    #[test]
    fn a_flowchart_names_each_task_owner() {
        let xml = flowchart(
            r#"<process id="p">
              <laneSet><lane id="l1" name="教务处"><flowNodeRef>t_lane</flowNodeRef></lane>
                <lane id="l2" name=""><flowNodeRef>t_blank_lane</flowNodeRef></lane></laneSet>
              <startEvent id="s"/>
              <userTask id="t_lane" name="教务处审核"/>
              <userTask id="t_blank_lane" name="无名泳道"/>
              <userTask id="t_rules" name="学院审核"><extensionElements><t:config>{"assignees":[{"type":"applicant_department_head"}]}</t:config></extensionElements></userTask>
              <userTask id="t_camunda" name="复核" camunda:candidateGroups="jwc"/>
              <task id="t_plain" name="归档"/>
              <subProcess id="sp"><manualTask id="t_inner" name="线下盖章"/></subProcess>
              <serviceTask id="svc" name="出证"/>
            </process>"#,
        );
        let r = check_flowchart(&xml).expect("readable");
        assert_eq!(r.tasks, 6, "user, plain and manual tasks, inside sub-processes too");
        let ids: Vec<&str> = r.unowned.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["t_blank_lane", "t_inner", "t_plain"]);
        assert_eq!(r.unowned[0].name, "无名泳道");
        assert!(!r.leader_steps);
    }

    #[test]
    fn a_flowchart_with_the_president_or_secretary_says_so() {
        let by_rule = flowchart(
            r#"<process id="p"><userTask id="u" name="审批"><extensionElements><t:config>{"assignees":[{"type":"position","kind":"president"}]}</t:config></extensionElements></userTask></process>"#,
        );
        assert!(check_flowchart(&by_rule).expect("ok").leader_steps);
        let by_lane = flowchart(
            r#"<process id="p"><laneSet><lane id="l" name="党委书记"><flowNodeRef>u</flowNodeRef></lane></laneSet><userTask id="u" name="签批"/></process>"#,
        );
        assert!(check_flowchart(&by_lane).expect("ok").leader_steps);
        let deputy =
            flowchart(r#"<process id="p"><userTask id="u" name="分管副院长审批" camunda:assignee="vp"/></process>"#);
        assert!(!check_flowchart(&deputy).expect("ok").leader_steps, "a vice-president is not the president");
        assert!(names_top_leader("院长签字") && names_top_leader("报党委书记") && !names_top_leader("副书记审核"));
        // Not BPMN, or no process at all, is an error rather than an empty report.
        assert_eq!(check_flowchart("<svg/>"), Err(BpmnError::NotBpmn));
        assert_eq!(check_flowchart(&flowchart("")), Err(BpmnError::ProcessCount(0)));
    }
}
