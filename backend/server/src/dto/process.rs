//! Process definition shapes. Definitions and forms travel as the engine's JSON (documented in
//! ARCHITECTURE.md and by `GET /processes/{id}`), so the API never drifts from what runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::org::{validate_code, validate_text};

string_enum! {
    /// Lifecycle of a published version: 试运行, 上线, 下线.
    VersionStatus { Trial => "trial", Online => "online", Offline => "offline" }
}

/// A process in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessSummary {
    /// Id.
    pub id: Uuid,
    /// Stable key (the BPMN process id).
    pub key: String,
    /// Name.
    pub name: String,
    /// Owning department (事项主体部门).
    pub department_id: Option<Uuid>,
    /// What it is for.
    pub description: String,
    /// Number of the version new affairs start on, if any is online.
    pub online_version: Option<i32>,
    /// Number of the newest published version.
    pub latest_version: Option<i32>,
    /// Optimistic-lock version of the draft.
    pub version: i32,
    /// Last change of the draft.
    pub updated_at: DateTime<Utc>,
}

/// A process with its draft and versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: ProcessSummary,
    /// The working draft: a process definition (nodes, flows, assignee rules, time limits).
    #[schema(value_type = crate::dto::definition::ProcessDefinitionDoc)]
    pub draft: serde_json::Value,
    /// The draft's form definition (fields).
    #[schema(value_type = crate::dto::definition::FormDefinitionDoc)]
    pub draft_form: serde_json::Value,
    /// The designer's diagram of the draft, when the draft was saved with one.
    pub draft_diagram: Option<String>,
    /// Published versions, newest first.
    pub versions: Vec<VersionView>,
    /// The draft checked as it was saved: graph, conditions, assignee rules, form and references.
    pub validation: ValidationReport,
    /// The requirement plan the process was built from, with its change requests.
    pub requirement_plan: Option<crate::dto::requirement::PlanRef>,
}

/// A published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Id.
    pub id: Uuid,
    /// Number, from 1.
    pub number: i32,
    /// Lifecycle status.
    pub status: VersionStatus,
    /// Who may start affairs on it while in trial.
    pub testers: Vec<Uuid>,
    /// Who published it.
    pub published_by: Option<Uuid>,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Who last changed its status.
    pub status_changed_by: Option<Uuid>,
    /// When.
    pub status_changed_at: DateTime<Utc>,
}

/// A published version with its (immutable) definition and form.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDetail {
    /// Version fields.
    #[serde(flatten)]
    pub version: VersionView,
    /// The definition as published.
    #[schema(value_type = crate::dto::definition::ProcessDefinitionDoc)]
    pub definition: serde_json::Value,
    /// The designer's diagram as published, when there was one.
    pub diagram: Option<String>,
    /// The form as published.
    #[schema(value_type = crate::dto::definition::FormDefinitionDoc)]
    pub form: serde_json::Value,
}

/// `POST /processes`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateProcess {
    /// Stable key, also the BPMN process id.
    #[validate(custom(function = "validate_code"))]
    pub key: String,
    /// Name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    pub name: String,
    /// Owning department.
    pub department_id: Option<Uuid>,
    /// What it is for.
    #[validate(length(max = 4000))]
    #[serde(default)]
    pub description: String,
    /// Initial definition; a start → end skeleton when omitted.
    #[schema(value_type = Option<crate::dto::definition::ProcessDefinitionDoc>)]
    pub definition: Option<serde_json::Value>,
    /// Initial form; empty when omitted.
    #[schema(value_type = Option<crate::dto::definition::FormDefinitionDoc>)]
    pub form: Option<serde_json::Value>,
}

/// `PUT /processes/{id}`: replace the draft.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateProcess {
    /// Name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    pub name: String,
    /// Owning department.
    pub department_id: Option<Uuid>,
    /// What it is for.
    #[validate(length(max = 4000))]
    pub description: String,
    /// The draft definition (may be incomplete; `validate` says what is missing).
    #[schema(value_type = crate::dto::definition::ProcessDefinitionDoc)]
    pub definition: serde_json::Value,
    /// The draft form.
    #[schema(value_type = crate::dto::definition::FormDefinitionDoc)]
    pub form: serde_json::Value,
    /// The version this update is based on.
    /// The designer's diagram of this draft (BPMN 2.0 XML with its layout, at most 2 MiB), kept
    /// to open it again as drawn; left out, any kept diagram is dropped (it no longer matches).
    #[validate(length(max = 2097152))]
    #[serde(default)]
    pub diagram: Option<String>,
    pub version: i32,
}

/// One problem found by validation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DefinitionProblem {
    /// `definition` or `form`.
    pub part: String,
    /// Stable code.
    pub code: String,
    /// The node at fault.
    pub node: Option<String>,
    /// The flow at fault.
    pub flow: Option<String>,
    /// The form field at fault.
    pub field: Option<String>,
    /// Explanation.
    pub message: String,
}

/// `POST /processes/{id}/validate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationReport {
    /// No problems.
    pub valid: bool,
    /// Every problem found.
    pub problems: Vec<DefinitionProblem>,
}

/// `POST /processes/{id}/versions`: publish the draft as a new version.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// `trial` (default; needs testers) or `online`.
    pub status: Option<VersionStatus>,
    /// Users who may start affairs during the trial.
    #[validate(length(max = 200))]
    #[serde(default)]
    pub testers: Vec<Uuid>,
    /// The draft version being published (guards against publishing something unseen).
    pub version: i32,
}

/// `POST /processes/{id}/lifecycle`: move a version to another status.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    /// The version number.
    pub number: i32,
    /// The new status. Putting a version online takes the previously online version offline;
    /// running affairs keep the version they started on.
    pub status: VersionStatus,
    /// New testers (for `trial`).
    #[validate(length(max = 200))]
    pub testers: Option<Vec<Uuid>>,
}

/// `POST /processes/{id}/migrate`: move running affairs to another version.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MigrateRequest {
    /// The version the affairs run on now.
    pub from_version: i32,
    /// The version to move them to.
    pub to_version: i32,
    /// Only report what would happen.
    #[serde(default)]
    pub dry_run: bool,
    /// Only these affairs (default: every running affair on `from_version`).
    #[validate(length(max = 1000))]
    pub affair_ids: Option<Vec<Uuid>>,
}

/// One affair in a migration report.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationItem {
    /// The affair.
    pub affair_id: Uuid,
    /// Its number.
    pub number: String,
    /// Why it cannot move (empty when it can).
    pub problems: Vec<MigrationProblemView>,
}

/// Why an affair cannot move.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationProblemView {
    /// The node concerned.
    pub node: String,
    /// `node_missing`, `kind_changed`, `mode_changed`, `affair_finished`, `different_process`.
    pub code: String,
    /// Explanation.
    pub message: String,
}

/// What a migration did or would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Affairs that can move (and, unless a dry run, did).
    pub movable: Vec<MigrationItem>,
    /// Affairs that cannot move, with the reasons.
    pub blocked: Vec<MigrationItem>,
    /// How many moved.
    pub moved: usize,
}
