//! The OpenAPI description of the engine's JSON: process definitions and form definitions.
//!
//! The engine is pure and knows nothing of OpenAPI, so these types mirror its serde shapes
//! (`tongban_engine::model`, `tongban_engine::form`) for the document alone: API fields holding a
//! definition stay `serde_json::Value` and point here with `value_type`. A test reads every
//! shipped process through both and requires the same JSON, so the mirror cannot drift from what
//! the engine accepts without failing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A form: its fields in display order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormDefinitionDoc {
    /// The fields, top to bottom.
    pub fields: Vec<FieldDefDoc>,
}

/// One field of a form (or one column of a table).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDefDoc {
    /// Key in the form data (`[a-z][a-z0-9_]*`); conditions read it as `form.<key>`.
    pub key: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// Type and its limits.
    pub kind: FieldKindDoc,
    /// A value must be given when the field is visible.
    #[serde(default)]
    pub required: bool,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// English help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_en: Option<String>,
    /// CEL condition over `form` (the fields above) and `applicant`; the field shows when true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
}

/// An option of a `select`, `radio` or `checkbox` field.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceDoc {
    /// Stored value.
    pub value: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// The type of a field and its limits, tagged by `type`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKindDoc {
    /// One line of text (default at most 200 characters).
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_len: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
        /// A named pattern: `phone_cn`, `email`, `id_card_cn`, `student_no`, `staff_no`, ….
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Several lines of text (default at most 5,000 characters).
    Textarea {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
    },
    /// A number.
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        #[serde(default)]
        integer: bool,
    },
    /// Money in yuan: a string with at most two decimals, such as `"1234.50"`.
    Money {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<String>,
    },
    /// A calendar date `YYYY-MM-DD`.
    Date {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<NaiveDate>,
    },
    /// A range of dates `{start, end}`, both ends included.
    DateRange {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_days: Option<u32>,
    },
    /// A drop-down list; with `multiple` an array of values.
    Select {
        options: Vec<ChoiceDoc>,
        #[serde(default)]
        multiple: bool,
    },
    /// Exactly one of a few options.
    Radio { options: Vec<ChoiceDoc> },
    /// Any number of a few options (an array of values).
    Checkbox { options: Vec<ChoiceDoc> },
    /// A user id.
    User {},
    /// A department id; with `multiple` an array of them.
    Department {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multiple: bool,
    },
    /// Uploaded attachments: an array of attachment ids (`POST /attachments`).
    File {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_files: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_size_mb: Option<u32>,
        /// Extensions such as `.pdf` or media types such as `image/*`; empty accepts anything.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accept: Vec<String>,
    },
    /// A certificate of the applicant's wallet, by id.
    Certificate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate_type: Option<String>,
    },
    /// Rows of the same columns (an array of objects).
    Table {
        #[schema(no_recursion)]
        columns: Vec<FieldDefDoc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_rows: Option<u32>,
    },
}

/// What a node's handler may do with a field: `editable`, `required` (editable, and filled before
/// approving), `read_only` (the default) or `hidden`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccessDoc {
    Editable,
    Required,
    ReadOnly,
    Hidden,
}

/// A process graph with its handlers, time limits and field permissions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessDefinitionDoc {
    /// Stable key (the BPMN process id).
    pub key: String,
    /// Name.
    pub name: String,
    /// The nodes.
    pub nodes: Vec<NodeDoc>,
    /// The sequence flows.
    pub flows: Vec<FlowDoc>,
    /// Time limit of the whole affair (办理时限).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<TimeLimitDoc>,
    /// Process administrators (user ids): they get tasks nobody else can take.
    #[serde(default)]
    pub admins: Vec<String>,
}

/// A time limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimeLimitDoc {
    /// How many units.
    pub amount: u32,
    /// `working_days` (法定节假日 skipped, 调休 counted), `working_hours` or `hours`.
    pub unit: TimeUnitDoc,
}

/// Unit of a time limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnitDoc {
    WorkingDays,
    WorkingHours,
    Hours,
}

/// One node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeDoc {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it does.
    pub kind: NodeKindDoc,
    /// Time limit of its tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<TimeLimitDoc>,
    /// Access of its handlers to each form field; unlisted fields are read-only.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub field_access: std::collections::BTreeMap<String, FieldAccessDoc>,
}

/// What a node does, tagged by `type`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKindDoc {
    /// Where the applicant submits; exactly one.
    Start,
    /// Ends the affair: `completed` (办结) or `rejected` (不予办理).
    End { outcome: EndOutcomeDoc },
    /// Handled by people.
    UserTask {
        /// Who handles it; everyone the rules find, in order, without duplicates.
        assignees: Vec<AssigneeRuleDoc>,
        /// One handler, one after another, or a countersign.
        mode: HandlingModeDoc,
        /// Approve automatically when the handler also handled the previous node.
        #[serde(default)]
        auto_approve_if_same_handler: bool,
        /// Handlers must write an opinion (意见) to approve, reject or return.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        opinion_required: bool,
    },
    /// Takes the first flow whose condition holds, else the default.
    ExclusiveGateway {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_flow: Option<String>,
    },
    /// Forks into every flow; as a join waits for all branches.
    ParallelGateway,
    /// Forks into every flow whose condition holds; as a join waits for the branches taken.
    InclusiveGateway {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_flow: Option<String>,
    },
    /// The server performs a call.
    ServiceTask { call: ServiceCallDoc },
    /// Carbon copy (抄送).
    Cc { recipients: Vec<AssigneeRuleDoc> },
}

/// How an affair ends.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndOutcomeDoc {
    Completed,
    Rejected,
}

/// How the users found handle a user task, tagged by `type`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandlingModeDoc {
    /// One handler (several found: a group task one of them claims).
    Single,
    /// Each in turn (依次审批).
    Sequential,
    /// All at once (会签 / 或签).
    Parallel { completion: CompletionDoc },
}

/// When a countersign is complete: `"all"` (会签), `"any"` (或签) or `{"percent": n}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompletionDoc {
    All,
    Any,
    Percent(u8),
}

/// A call of a service task, tagged by `type`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceCallDoc {
    /// Issue an e-certificate of this type to the applicant.
    IssueCertificate { certificate_type: String },
    /// Call a configured webhook.
    Webhook { hook: String },
    /// Send a notification from a template.
    Notify { template: String },
}

/// Who handles a task or receives a CC, tagged by `type`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssigneeRuleDoc {
    /// Named users (ids).
    Users { users: Vec<String> },
    /// Everyone holding a role (within its scope).
    Role { code: String },
    /// Whoever holds a position (`president`, `secretary`, …).
    Position { kind: String },
    /// Head of the applicant's department.
    ApplicantDepartmentHead,
    /// Head(s) of a department.
    DepartmentHead { of: DepartmentRefDoc },
    /// The supervising leader (分管院领导) of a department.
    SupervisingLeader { of: DepartmentRefDoc },
    /// The counsellor (辅导员) of the applicant's class.
    ClassCounsellor,
    /// The user(s) chosen in a user field.
    FormField { field: String },
    /// The user(s) the applicant picked under this key (发起人自选).
    ApplicantPicks { key: String },
    /// The leader of whoever handled the previous node.
    PreviousHandlerLeader,
}

/// Which department a rule means: `"applicant_department"`, `"process_department"`,
/// `{"department": code}` or `{"field": key}` (a department field of the form).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentRefDoc {
    ApplicantDepartment,
    Department(String),
    ProcessDepartment,
    Field(String),
}

/// A sequence flow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDoc {
    /// Unique id.
    pub id: String,
    /// Source node.
    pub from: String,
    /// Target node.
    pub to: String,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// CEL condition (only on flows leaving exclusive or inclusive gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongban_engine::form::FormDefinition;
    use tongban_engine::model::ProcessDefinition;

    /// Every shipped process and form reads the same through the engine and through the mirror.
    #[test]
    fn the_mirror_reads_every_shipped_definition_as_the_engine_does() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        for dir in ["demo/processes", "builtin/processes"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("dir") {
                let path = entry.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("read");
                let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
                let engine: ProcessDefinition = serde_json::from_value(doc["definition"].clone()).expect("engine");
                let mirror: ProcessDefinitionDoc =
                    serde_json::from_value(doc["definition"].clone()).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                assert_eq!(
                    serde_json::to_value(&mirror).expect("m"),
                    serde_json::to_value(&engine).expect("e"),
                    "{path:?}"
                );
                let engine: FormDefinition = serde_json::from_value(doc["form"].clone()).expect("engine form");
                let mirror: FormDefinitionDoc =
                    serde_json::from_value(doc["form"].clone()).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                assert_eq!(serde_json::to_value(&mirror).expect("m"), serde_json::to_value(&engine).expect("e"));
                seen += 1;
            }
        }
        assert!(seen >= 6);
        // Kinds no shipped form uses yet.
        let extra = serde_json::json!({ "fields": [
            { "key": "m", "label": "金额", "kind": { "type": "money", "min": "0.00", "max": "5000.00" } },
            { "key": "t", "label": "明细", "kind": { "type": "table", "min_rows": 1, "columns": [
                { "key": "d", "label": "日期", "kind": { "type": "date", "min": "2026-01-01" } },
                { "key": "r", "label": "期间", "kind": { "type": "date_range", "max_days": 7 } } ] } },
            { "key": "c", "label": "证照", "kind": { "type": "certificate", "certificate_type": "enrolment" } },
            { "key": "s", "label": "多选", "kind": { "type": "select", "multiple": true, "options": [ { "value": "a", "label": "甲" } ] } }
        ] });
        let engine: FormDefinition = serde_json::from_value(extra.clone()).expect("engine");
        let mirror: FormDefinitionDoc = serde_json::from_value(extra).expect("mirror");
        assert_eq!(serde_json::to_value(&mirror).expect("m"), serde_json::to_value(&engine).expect("e"));
    }
}
