//! Affairs (applications) and tasks (待办).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

/// `POST /affairs`: apply for a service by submitting its form.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAffair {
    /// The process to apply through (its key).
    #[validate(length(min = 1, max = 64))]
    pub process_key: String,
    /// The form data, validated against the version's form.
    pub form: serde_json::Value,
    /// Handlers the applicant picks (发起人自选), by pick key.
    #[serde(default)]
    pub picks: BTreeMap<String, Vec<Uuid>>,
}

/// A task as lists and the affair page show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    /// Id.
    pub id: Uuid,
    /// The affair.
    pub affair_id: Uuid,
    /// The node.
    pub node_id: String,
    /// The node's name.
    pub node_name: String,
    /// Who must act (`null` for an unclaimed group task).
    pub assignee_id: Option<Uuid>,
    /// Whom it was meant for when it went to someone else.
    pub original_assignee_id: Option<Uuid>,
    /// `pending`, `done` or `cancelled`.
    pub status: String,
    /// `normal`, `delegated`, `added_before`, `added_after`.
    pub kind: String,
    /// How it was closed.
    pub result: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Due (working-day time limit).
    pub due_at: Option<DateTime<Utc>>,
    /// Past its due time while pending.
    pub overdue: bool,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A task in a to-do list, with its affair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskListItem {
    /// The task.
    #[serde(flatten)]
    pub task: TaskView,
    /// Affair number.
    pub affair_number: String,
    /// Affair title.
    pub affair_title: String,
    /// Applicant.
    pub applicant_id: Uuid,
}

/// One entry of an affair's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    /// Order.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`null` for the system).
    pub actor_id: Option<String>,
    /// What, e.g. `submitted`, `approved`, `returned`.
    pub action: String,
    /// At which node.
    pub node_id: Option<String>,
    /// The opinion (意见).
    pub comment: Option<String>,
    /// Form fields changed.
    pub changed_fields: Vec<String>,
    /// Anything else recorded (targets, users, reasons).
    pub detail: serde_json::Value,
}

/// An affair with its form, tasks and timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffairView {
    /// Id.
    pub id: Uuid,
    /// Human number, e.g. SW2026112800017.
    pub number: String,
    /// Title.
    pub title: String,
    /// The process.
    pub process_id: Uuid,
    /// Its key.
    pub process_key: String,
    /// The version it runs on.
    pub process_version: i32,
    /// The applicant.
    pub applicant_id: Uuid,
    /// `submitted`, `in_progress`, `returned`, `withdrawn`, `rejected`, `completed`.
    pub status: String,
    /// Started on a trial version (kept out of statistics).
    pub is_test: bool,
    /// The form data (fields hidden from the caller removed).
    pub form: serde_json::Value,
    /// Tasks, oldest first.
    pub tasks: Vec<TaskView>,
    /// Every action, in order.
    pub history: Vec<HistoryView>,
    /// Due (time limit of the whole affair).
    pub due_at: Option<DateTime<Utc>>,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the caller may do now, e.g. `withdraw`, `urge`, `resubmit`.
    pub allowed_actions: Vec<String>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// An affair in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffairSummary {
    /// Id.
    pub id: Uuid,
    /// Number.
    pub number: String,
    /// Title.
    pub title: String,
    /// Process key.
    pub process_id: Uuid,
    /// Status.
    pub status: String,
    /// Test affair.
    pub is_test: bool,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Due.
    pub due_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Where a return goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnTo {
    /// Back to the applicant.
    Applicant,
    /// To the previous node.
    Previous,
    /// To the node in `target_node_id`.
    Node,
}

/// A handling action on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    /// 同意.
    Approve,
    /// 不同意 (the affair ends rejected).
    Reject,
    /// 退回.
    Return,
    /// 转办 (to `user_ids[0]`).
    Transfer,
    /// 委派 (to `user_ids[0]`; comes back after they handle it).
    Delegate,
    /// 前加签.
    AddSignerBefore,
    /// 后加签.
    AddSignerAfter,
    /// 减签 (`user_ids[0]`, a signer you added who has not signed).
    RemoveSigner,
    /// 认领 a group task.
    Claim,
    /// 撤回 your approval before anybody else acted.
    Withdraw,
    /// 抄送 to `user_ids`.
    Cc,
    /// Comment only.
    Comment,
}

/// `POST /tasks/{id}/actions`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TaskActionRequest {
    /// What to do.
    pub action: TaskAction,
    /// The opinion (意见).
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
    /// Changes to fields this node may edit.
    pub form_patch: Option<serde_json::Map<String, serde_json::Value>>,
    /// For `return`: where to.
    pub return_to: Option<ReturnTo>,
    /// For `return` to a node.
    #[validate(length(max = 64))]
    pub target_node_id: Option<String>,
    /// For transfer, delegate, add/remove signer and CC.
    #[validate(length(max = 50))]
    #[serde(default)]
    pub user_ids: Vec<Uuid>,
}

/// `POST /affairs/{id}/resubmit`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResubmitRequest {
    /// The corrected form (whole).
    pub form: serde_json::Value,
    /// Straight back to the node that returned it (default), or through the flow again.
    #[serde(default)]
    pub through_flow: bool,
    /// A note for the handlers.
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
}

/// A comment or a reason, for withdraw, urge and comment.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The text.
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
}

/// `POST /tasks/batch`: approve several tasks.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct BatchApproveRequest {
    /// The tasks.
    #[validate(length(min = 1, max = 100))]
    pub task_ids: Vec<Uuid>,
    /// The opinion for all of them.
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
}

/// Result for one task of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemResult {
    /// The task.
    pub task_id: Uuid,
    /// Approved.
    pub ok: bool,
    /// The problem code when not.
    pub code: Option<String>,
}

/// Filters for `GET /tasks`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `todo` (default; includes unclaimed group tasks) or `done`.
    #[param(inline)]
    pub status: Option<TaskListStatus>,
}

/// Which tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskListStatus {
    /// Pending on me or claimable by me.
    Todo,
    /// Handled by me.
    Done,
}
