//! The process definition model: nodes, flows, assignee rules. Serialized as JSON with
//! `snake_case` names; node kinds, assignee rules and service calls are tagged with `"type"`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::calendar::TimeLimit;
use crate::form::FieldAccess;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Shared, not copied: an id is cloned into tokens, tasks, trails and history at every
        /// step, and a clone is a reference count.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Arc<str>);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::from)
            }
        }

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.into())
            }
        }
    };
}

string_id!(
    /// Id of a node, unique within a definition.
    NodeId
);
string_id!(
    /// Id of a flow, unique within a definition.
    FlowId
);
string_id!(
    /// An opaque user id (the server uses UUID strings).
    UserId
);

/// A task id: a sequence number local to one instance, starting at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u32);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A process graph with its handlers, time limits and field permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDefinition {
    /// Stable key of the process (shared by all its versions).
    pub key: String,
    /// Display name.
    pub name: String,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The sequence flows between nodes.
    pub flows: Vec<Flow>,
    /// Time limit of the whole affair (办理时限).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<TimeLimit>,
    /// Process administrators: they receive tasks whose assignee rules find nobody and tasks of
    /// failed service calls, and may transfer any task.
    #[serde(default)]
    pub admins: Vec<UserId>,
}

impl ProcessDefinition {
    /// The node with this id.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    /// The flow with this id.
    pub fn flow(&self, id: &FlowId) -> Option<&Flow> {
        self.flows.iter().find(|f| &f.id == id)
    }

    /// Flows leaving `node`, in definition order.
    pub fn outgoing<'a>(&'a self, node: &'a NodeId) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows.iter().filter(move |f| &f.from == node)
    }

    /// Flows entering `node`, in definition order.
    pub fn incoming<'a>(&'a self, node: &'a NodeId) -> impl Iterator<Item = &'a Flow> + 'a {
        self.flows.iter().filter(move |f| &f.to == node)
    }

    /// The (first) start node.
    pub fn start(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| matches!(n.kind, NodeKind::Start))
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique id.
    pub id: NodeId,
    /// Display name (e.g. 学院审核).
    pub name: String,
    /// What the node does.
    pub kind: NodeKind,
    /// Time limit of the node's tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<TimeLimit>,
    /// What the node's handlers may do with each form field; unlisted fields are read-only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_access: BTreeMap<String, FieldAccess>,
}

impl Node {
    /// Access of the node's handlers to `field` (read-only when not listed).
    pub fn access(&self, field: &str) -> FieldAccess {
        self.field_access.get(field).copied().unwrap_or_default()
    }
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKind {
    /// Where the applicant submits. Exactly one per definition.
    Start,
    /// Finishes the affair with an outcome, cancelling whatever else is open.
    End {
        /// Completed (办结) or rejected (不予办理).
        outcome: EndOutcome,
    },
    /// Handled by people.
    UserTask {
        /// Who handles it; the users found by all rules, in order, without duplicates.
        assignees: Vec<AssigneeRule>,
        /// One handler, one after another, or a countersign.
        mode: HandlingMode,
        /// Approve automatically when the handler also handled the previous node.
        #[serde(default)]
        auto_approve_if_same_handler: bool,
        /// Handlers must write an opinion (意见) to approve, reject or return.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        opinion_required: bool,
    },
    /// Takes the first outgoing flow whose condition holds, else the default flow.
    ExclusiveGateway {
        /// Taken when no condition holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_flow: Option<FlowId>,
    },
    /// Forks into all outgoing flows; as a join waits for all branches of its fork.
    ParallelGateway,
    /// Forks into every outgoing flow whose condition holds (else the default); as a join waits
    /// for the branches actually taken.
    InclusiveGateway {
        /// Taken when no condition holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_flow: Option<FlowId>,
    },
    /// The server performs a call and reports the result.
    ServiceTask {
        /// What to call.
        call: ServiceCall,
    },
    /// Carbon copy (抄送): notifies and moves on.
    Cc {
        /// Who is notified.
        recipients: Vec<AssigneeRule>,
    },
}

/// How an affair ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOutcome {
    /// 办结.
    Completed,
    /// 不予办理.
    Rejected,
}

/// How the users found for a user task handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandlingMode {
    /// One handler; several users found make a group task that one of them claims.
    Single,
    /// Each user in turn (依次审批).
    Sequential,
    /// All users at once (会签 / 或签).
    Parallel {
        /// When the countersign is complete.
        completion: Completion,
    },
}

/// When a parallel countersign is complete. A rejection by any signer rejects the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Every signer approved (会签).
    All,
    /// One signer approved (或签).
    Any,
    /// At least this percentage of signers approved (1..=100).
    Percent(u8),
}

/// A call the server makes for a service task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceCall {
    /// Issue an electronic certificate (电子证照) to the applicant.
    IssueCertificate {
        /// Certificate type code.
        certificate_type: String,
    },
    /// Call a configured webhook.
    Webhook {
        /// Name of the configured hook.
        hook: String,
    },
    /// Send a notification from a template.
    Notify {
        /// Template code.
        template: String,
    },
}

/// Who handles a user task or receives a CC. Resolved by the caller's [`crate::exec::Directory`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssigneeRule {
    /// Named users.
    Users {
        /// The users.
        users: Vec<UserId>,
    },
    /// Everyone holding a role.
    Role {
        /// Role code.
        code: String,
    },
    /// Whoever holds a position (e.g. `president` 院长, `secretary` 党委书记).
    Position {
        /// Position kind.
        kind: String,
    },
    /// Head of the applicant's department.
    ApplicantDepartmentHead,
    /// Head(s) of a department (部门负责人): a named one, the process's, or those chosen in a
    /// department field of the form (one head per department, so a countersign gets one signer
    /// per department).
    DepartmentHead {
        /// Which department(s).
        of: LeaderOf,
    },
    /// The school leader supervising a department (分管院领导).
    SupervisingLeader {
        /// Which department.
        of: LeaderOf,
    },
    /// The counsellor (辅导员) of the applicant's class.
    ClassCounsellor,
    /// The user(s) chosen in a form field (a user id or an array of them).
    FormField {
        /// Field name.
        field: String,
    },
    /// The user(s) the applicant picked at submission (发起人自选) under this key.
    ApplicantPicks {
        /// Pick key.
        key: String,
    },
    /// The leader of whoever handled the previous node.
    PreviousHandlerLeader,
}

impl fmt::Display for AssigneeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssigneeRule::Users { users } => {
                let names: Vec<&str> = users.iter().map(UserId::as_str).collect();
                write!(f, "users [{}]", names.join(", "))
            }
            AssigneeRule::Role { code } => write!(f, "role {code}"),
            AssigneeRule::Position { kind } => write!(f, "position {kind}"),
            AssigneeRule::ApplicantDepartmentHead => f.write_str("head of the applicant's department"),
            AssigneeRule::DepartmentHead { of } => write!(f, "head of {of}"),
            AssigneeRule::SupervisingLeader { of } => write!(f, "supervising leader of {of}"),
            AssigneeRule::ClassCounsellor => f.write_str("counsellor of the applicant's class"),
            AssigneeRule::FormField { field } => write!(f, "user in form field {field}"),
            AssigneeRule::ApplicantPicks { key } => write!(f, "user picked by the applicant for {key}"),
            AssigneeRule::PreviousHandlerLeader => f.write_str("leader of the previous handler"),
        }
    }
}

/// Which department a rule means (for its supervising leader or its head).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaderOf {
    /// The applicant's department.
    ApplicantDepartment,
    /// A named department (by code).
    Department(String),
    /// The department that owns the process (事项主体部门).
    ProcessDepartment,
    /// The department(s) chosen in a department field of the form (an id or an array of them).
    Field(String),
}

impl fmt::Display for LeaderOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaderOf::ApplicantDepartment => f.write_str("the applicant's department"),
            LeaderOf::Department(d) => write!(f, "department {d}"),
            LeaderOf::ProcessDepartment => f.write_str("the process's department"),
            LeaderOf::Field(k) => write!(f, "the department(s) in form field {k}"),
        }
    }
}

/// A sequence flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Unique id.
    pub id: FlowId,
    /// Source node.
    pub from: NodeId,
    /// Target node.
    pub to: NodeId,
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// CEL condition (see [`crate::expr`]); only on flows leaving exclusive or inclusive gateways.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_shape_round_trips() {
        let v = json!({
            "key": "leave", "name": "请假",
            "nodes": [
                { "id": "start", "name": "发起", "kind": { "type": "start" } },
                { "id": "dept", "name": "部门", "kind": { "type": "user_task",
                    "assignees": [ { "type": "applicant_department_head" },
                                   { "type": "users", "users": ["u1"] },
                                   { "type": "supervising_leader", "of": { "department": "xgc" } } ],
                    "mode": { "type": "parallel", "completion": { "percent": 60 } },
                    "auto_approve_if_same_handler": false },
                  "time_limit": { "amount": 2, "unit": "working_days" },
                  "field_access": { "opinion": "editable" } },
                { "id": "end", "name": "结束", "kind": { "type": "end", "outcome": "completed" } }
            ],
            "flows": [ { "id": "f1", "from": "start", "to": "dept" },
                       { "id": "f2", "from": "dept", "to": "end" } ],
            "admins": ["admin"]
        });
        let def: ProcessDefinition = serde_json::from_value(v.clone()).expect("parse");
        assert_eq!(def.nodes.len(), 3);
        assert!(matches!(
            def.nodes[1].kind,
            NodeKind::UserTask { mode: HandlingMode::Parallel { completion: Completion::Percent(60) }, .. }
        ));
        assert_eq!(def.nodes[1].access("opinion"), FieldAccess::Editable);
        assert_eq!(def.nodes[1].access("other"), FieldAccess::ReadOnly);
        assert_eq!(serde_json::to_value(&def).expect("serialize"), v);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad = json!({ "id": "s", "name": "s", "kind": { "type": "start" }, "colour": "red" });
        assert!(serde_json::from_value::<Node>(bad).is_err());
        let bad = json!({ "type": "end", "outcome": "completed", "extra": 1 });
        assert!(serde_json::from_value::<NodeKind>(bad).is_err());
    }

    #[test]
    fn department_rules_name_their_departments() {
        let v = json!([
            { "type": "department_head", "of": { "field": "related_departments" } },
            { "type": "department_head", "of": "process_department" },
            { "type": "supervising_leader", "of": { "department": "xgc" } },
            { "type": "supervising_leader", "of": "applicant_department" }
        ]);
        let rules: Vec<AssigneeRule> = serde_json::from_value(v.clone()).expect("parse");
        assert_eq!(rules[0], AssigneeRule::DepartmentHead { of: LeaderOf::Field("related_departments".into()) });
        assert_eq!(rules[1], AssigneeRule::DepartmentHead { of: LeaderOf::ProcessDepartment });
        assert_eq!(serde_json::to_value(&rules).expect("serialize"), v);
        assert_eq!(rules[0].to_string(), "head of the department(s) in form field related_departments");
        assert_eq!(rules[2].to_string(), "supervising leader of department xgc");
    }

    #[test]
    fn rules_describe_themselves() {
        let r = AssigneeRule::Users { users: vec!["a".into(), "b".into()] };
        assert_eq!(r.to_string(), "users [a, b]");
        assert_eq!(AssigneeRule::Position { kind: "president".into() }.to_string(), "position president");
    }
}
