//! Affairs (applications) and tasks (待办).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

/// `POST /affairs`: apply for a service by submitting its form. Name the service by exactly one
/// of `guide_id` (the guide's linked process) or `process_key`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAffair {
    /// The process to apply through (its key).
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub process_key: Option<String>,
    /// The published guide to apply from (its linked process is used).
    pub guide_id: Option<Uuid>,
    /// The form data, validated against the version's form. `file` fields hold attachment ids
    /// (`POST /attachments`) uploaded by the applicant and not attached elsewhere.
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
    /// The node asks for an opinion (意见) to approve, reject or return.
    pub opinion_required: bool,
    /// Fields the node requires filled in before approving (节点必填).
    pub required_fields: Vec<String>,
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

/// One row of the handler workspace: a task (to-do and done lists) or an affair (CC'd to me,
/// started by me), with what the list needs to show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskListItem {
    /// The task; `null` in the `cc` and `started` lists, whose rows are affairs.
    pub id: Option<Uuid>,
    /// The affair.
    pub affair_id: Uuid,
    /// Affair number.
    pub affair_number: String,
    /// Affair title.
    pub affair_title: String,
    /// Affair status.
    pub affair_status: String,
    /// The process.
    pub process_id: Uuid,
    /// Its name.
    pub process_name: String,
    /// Applicant.
    pub applicant_id: Uuid,
    /// Applicant's name.
    pub applicant_name: String,
    /// The task's node; for affairs, the first node waiting now (`null` when none is).
    pub node_id: Option<String>,
    /// That node's name, e.g. 辅导员审核.
    pub node_name: Option<String>,
    /// Who must act (`null` for an unclaimed group task and for affairs).
    pub assignee_id: Option<Uuid>,
    /// Whom the task was meant for when it went to someone else.
    pub original_assignee_id: Option<Uuid>,
    /// Task status (`pending`, `done`, `cancelled`); `null` for affairs.
    pub status: Option<String>,
    /// Task kind (`normal`, `delegated`, `added_before`, `added_after`, `service_failure`).
    pub kind: Option<String>,
    /// How the task was closed.
    pub result: Option<String>,
    /// When the task arrived, the copy was sent, or the affair was created.
    pub created_at: DateTime<Utc>,
    /// Due: the task's time limit, or the affair's for affairs.
    pub due_at: Option<DateTime<Utc>>,
    /// Past its due time while open (a task pending, an affair not finished).
    pub overdue: bool,
    /// When the task was closed, or the affair finished.
    pub closed_at: Option<DateTime<Utc>>,
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
    /// The definition of the fields the caller may see (labels, kinds, options, conditions), in
    /// order.
    #[schema(value_type = crate::dto::definition::FormDefinitionDoc)]
    pub form_definition: serde_json::Value,
    /// What the caller may do with each of those fields now: what the node of their pending
    /// task allows (`editable`, `required`), for the applicant of a returned affair what the start
    /// allows, else `read_only`.
    #[schema(value_type = std::collections::BTreeMap<String, crate::dto::definition::FieldAccessDoc>)]
    pub field_access: std::collections::BTreeMap<String, tongban_engine::form::FieldAccess>,
    /// Names of the users the form shows (user fields).
    pub people: Vec<PersonRef>,
    /// Names of the departments the form shows (department fields).
    pub departments: Vec<crate::dto::common::DepartmentRef>,
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
    /// What the caller may do now: for the applicant `withdraw`, `urge`, `resubmit`, `rate`,
    /// `message`; for a handler of a pending task the task actions (`approve`, `reject`, `return`,
    /// …), `claim` for a group task, and `message`.
    pub allowed_actions: Vec<String>,
    /// Optimistic-lock version.
    pub version: i32,
    /// The guide it was started from.
    pub guide_id: Option<Uuid>,
    /// The process's name.
    pub process_name: String,
    /// The applicant's name.
    pub applicant_name: String,
    /// Materials (申请材料): attached files by form field, with download links. Fields hidden
    /// from the caller are left out.
    pub materials: Vec<MaterialGroup>,
    /// E-certificates attached as materials, checked as of now. Fields hidden from the caller are
    /// left out.
    pub certificates: Vec<CertificateMaterial>,
    /// Every node from start to end (main order first, then branches): `done`, `current`,
    /// `pending` or, once the affair is finished, `skipped` for nodes it never reached.
    pub timeline: Vec<TimelineNode>,
    /// The applicant's rating (评价), once given.
    pub rating: Option<RatingView>,
}

/// Someone named in a view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonRef {
    /// User id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
}

/// The files of one form field.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialGroup {
    /// The field (a path such as `items[0].receipt` inside tables).
    pub field_key: String,
    /// The field's label.
    pub label: String,
    /// The files, in the order of the form.
    pub files: Vec<crate::dto::attachment::AttachmentView>,
}

/// An e-certificate the applicant attached as a material (第十一条), as checked now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateMaterial {
    /// The form field.
    pub field_key: String,
    /// The field's label.
    pub label: String,
    /// The certificate.
    pub certificate_id: Uuid,
    /// Its number.
    pub number: String,
    /// Its type.
    pub type_name: String,
    /// `valid`, `revoked`, `superseded` or `expired`, as of now.
    pub status: String,
    /// Valid until.
    pub valid_until: Option<DateTime<Utc>>,
    /// Held by the applicant, valid now, and its signature holds.
    pub verified: bool,
}

/// One node of the affair's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineNode {
    /// Node id.
    pub node_id: String,
    /// Node name, e.g. 辅导员审核.
    pub name: String,
    /// `start`, `user_task`, `service_task`, `cc` or `end`.
    pub kind: String,
    /// `done`, `current`, `pending` or `skipped`.
    pub state: String,
    /// What happened there, oldest first: who, when, what, with their opinion.
    pub records: Vec<TimelineRecord>,
    /// For a current node: who must act now (candidates of an unclaimed group task).
    pub assignees: Vec<PersonRef>,
    /// When it was first reached.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was last completed.
    pub finished_at: Option<DateTime<Utc>>,
    /// For a current node: the earliest due time of its pending tasks.
    pub due_at: Option<DateTime<Utc>>,
    /// For a current node: past that due time.
    pub overdue: bool,
}

/// One thing that happened at a node.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`null` for the system).
    pub actor: Option<PersonRef>,
    /// What, e.g. `submitted`, `approved`, `returned`, `service_failed`.
    pub action: String,
    /// The opinion (意见).
    pub comment: Option<String>,
}

/// `POST /affairs/{id}/rating`: the applicant rates a completed affair (评价), once.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (very unsatisfied) to 5 (very satisfied).
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub score: i16,
    /// A comment.
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub comment: Option<String>,
}

/// A rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    /// 1–5.
    pub score: i16,
    /// The comment (may be empty).
    pub comment: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// `POST /affairs/{id}/messages`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// The text.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
}

/// A message on an affair.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Id.
    pub id: Uuid,
    /// The affair.
    pub affair_id: Uuid,
    /// Who wrote it.
    pub sender: PersonRef,
    /// Written by the applicant (otherwise by a handler).
    pub from_applicant: bool,
    /// The text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
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
    /// The applicant.
    pub applicant_id: Uuid,
    /// The applicant's name.
    pub applicant_name: String,
    /// The process's name.
    pub process_name: String,
    /// The guide it was started from.
    pub guide_id: Option<Uuid>,
    /// Past its due time while not finished.
    pub overdue: bool,
}

string_enum! {
    /// Whose affairs a list shows.
    AffairScope { Mine => "mine", Department => "department", All => "all" }
}

string_enum! {
    /// Order of an affair list.
    AffairSort {
        CreatedAsc => "created_at",
        CreatedDesc => "-created_at",
        SubmittedAsc => "submitted_at",
        SubmittedDesc => "-submitted_at",
        DueAsc => "due_at",
        DueDesc => "-due_at",
    }
}

string_enum! {
    /// An affair status.
    AffairStatus {
        Submitted => "submitted",
        InProgress => "in_progress",
        Returned => "returned",
        Withdrawn => "withdrawn",
        Rejected => "rejected",
        Completed => "completed",
    }
}

/// Filters of `GET /affairs`.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AffairQuery {
    /// `mine` (default): affairs I applied for. `department`: affairs handled by, or applied for
    /// from, the departments my `affair.read` permission reaches (department admins their
    /// department, 分管院领导 the supervised ones). `all`: every affair my `affair.read` reaches
    /// (the whole college for the IT office). Both need `affair.read` (403 otherwise).
    #[param(inline)]
    pub scope: Option<AffairScope>,
    /// Only this status.
    #[param(inline)]
    pub status: Option<AffairStatus>,
    /// Only this process.
    pub process_id: Option<Uuid>,
    /// Number or title contains.
    #[validate(length(max = 100), custom(function = "crate::dto::org::validate_text"))]
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Order (default `-created_at`).
    #[param(inline)]
    pub sort: Option<AffairSort>,
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
    /// The affair's `version` as read: when sent, a changed affair gets 409 `version_conflict`
    /// instead of the action (the task itself being handled meanwhile is always 409
    /// `task_already_handled`).
    pub version: Option<i32>,
}

/// `GET /application-forms` parameters: exactly one of a guide (its linked process) or a process key.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct ApplicationFormQuery {
    /// A published guide with online applying.
    pub guide_id: Option<Uuid>,
    /// A process key.
    #[validate(length(min = 1, max = 64))]
    pub process_key: Option<String>,
}

/// A pick the applicant makes at submission (发起人自选): who handles a node.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickView {
    /// The key to send in `picks`.
    pub key: String,
    /// The node the picked users handle.
    pub node_id: String,
    /// Its name, as the label of the pick.
    pub node_name: String,
    /// Several people may be picked (the node is a countersign or sequential).
    pub multiple: bool,
}

/// What an applicant needs to apply (`POST /affairs`): the form of the version they would start
/// on — a trial version they test, else the online one — what they fill in, and their picks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationForm {
    /// The process.
    pub process_id: Uuid,
    /// Its key.
    pub process_key: String,
    /// Its name.
    pub process_name: String,
    /// The guide asked about, if any.
    pub guide_id: Option<Uuid>,
    /// The version a new affair starts on.
    pub version: i32,
    /// That version is a trial run (试运行) the caller tests.
    pub is_test: bool,
    /// The form.
    #[schema(value_type = crate::dto::definition::FormDefinitionDoc)]
    pub form: serde_json::Value,
    /// What the applicant may fill in (the start node's field access; unlisted fields are filled
    /// by handlers later).
    #[schema(value_type = std::collections::BTreeMap<String, crate::dto::definition::FieldAccessDoc>)]
    pub field_access: std::collections::BTreeMap<String, tongban_engine::form::FieldAccess>,
    /// The handlers the applicant picks.
    pub picks: Vec<PickView>,
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
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// `todo` (default; 待办, including unclaimed group tasks), `done` (已办), `cc` (affairs
    /// copied to me, 抄送) or `started` (affairs I applied for).
    #[param(inline)]
    pub status: Option<TaskListStatus>,
    /// Only affairs of this process.
    pub process_id: Option<Uuid>,
    /// Affair number or title contains.
    #[validate(length(max = 100), custom(function = "crate::dto::org::validate_text"))]
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
    /// Only overdue rows (`true`) or only rows that are not (`false`).
    pub overdue: Option<bool>,
    /// Arrived (task) or created (affair) at or after.
    pub from: Option<DateTime<Utc>>,
    /// Arrived or created before.
    pub to: Option<DateTime<Utc>>,
    /// Order: `due_at` (default for `todo`: soonest due first, none last), `-due_at`,
    /// `created_at`, `-created_at` (default otherwise).
    #[param(inline)]
    pub sort: Option<TaskSort>,
}

/// Which tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskListStatus {
    /// Pending on me or claimable by me.
    Todo,
    /// Handled by me.
    Done,
    /// Affairs copied to me.
    Cc,
    /// Affairs I applied for.
    Started,
}

string_enum! {
    /// Order of the workspace lists.
    TaskSort { DueAsc => "due_at", DueDesc => "-due_at", CreatedAsc => "created_at", CreatedDesc => "-created_at" }
}

/// `GET /tasks/counts`: the sizes of the workspace lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCounts {
    /// 待办: pending on me or claimable by me.
    pub todo: u64,
    /// 已办: tasks I handled.
    pub done: u64,
    /// 抄送: affairs copied to me.
    pub cc: u64,
    /// Affairs I applied for.
    pub started: u64,
    /// To-do tasks past their due time.
    pub overdue: u64,
}

/// `GET /progress` (public 事务查询).
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// The affair number, e.g. SW2026112800017.
    #[validate(length(min = 1, max = 32), custom(function = "crate::dto::org::validate_number"))]
    #[param(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9+-]{1,32}$")]
    pub number: String,
    /// The last 4 characters of the applicant's 学号 or 工号.
    #[validate(length(equal = 4), custom(function = "crate::dto::org::validate_number"))]
    #[param(min_length = 4, max_length = 4, pattern = "^[A-Za-z0-9+-]{4}$")]
    pub id_suffix: String,
}

/// Progress of an affair as the public look-up shows it: no names, opinions or form data.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressView {
    /// Number.
    pub number: String,
    /// The service.
    pub process_name: String,
    /// `submitted`, `in_progress`, `returned`, `withdrawn`, `rejected`, `completed`.
    pub status: String,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The nodes, from start to end.
    pub nodes: Vec<ProgressNode>,
}

/// A node in the public progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressNode {
    /// Node name.
    pub name: String,
    /// `done`, `current`, `pending` or `skipped`.
    pub state: String,
}
