//! Requirement plans (网上办事流程建设需求计划, 第六条~第九条) and their change requests (第八条).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::affair::PersonRef;
pub use super::common::DepartmentRef;
use super::common::PageQuery;
use super::process::VersionStatus;

string_enum! {
    /// Where a requirement plan stands: in approval (审批中), then either refused (不予批准) or
    /// withdrawn (已撤回), or approved and being built (建设中), in trial run (试运行) and online (已上线).
    PlanStatus {
        InApproval => "in_approval",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
        Building => "building",
        Trial => "trial",
        Online => "online",
    }
}

string_enum! {
    /// Where a change request stands.
    ChangeStatus { InApproval => "in_approval", Approved => "approved", Rejected => "rejected", Withdrawn => "withdrawn" }
}

string_enum! {
    /// Who owes a duty of 第九条: the department owning the business (业务流程主体部门) or the IT office.
    Party { Department => "department", ItOffice => "it_office" }
}

string_enum! {
    /// A recorded step of a requirement plan.
    PlanEventKind {
        Submitted => "submitted",
        Resubmitted => "resubmitted",
        Approved => "approved",
        Rejected => "rejected",
        Withdrawn => "withdrawn",
        DraftCreated => "draft_created",
        SchemeProposed => "scheme_proposed",
        SchemeConfirmed => "scheme_confirmed",
        TestersNamed => "testers_named",
        TrialStarted => "trial_started",
        TestingDone => "testing_done",
        Online => "online",
        OwnersNamed => "owners_named",
        ChangeRequested => "change_requested",
        ChangeApproved => "change_approved",
        ChangeRejected => "change_rejected",
        ChangeWithdrawn => "change_withdrawn",
    }
}

string_enum! {
    /// An action the caller may take on a requirement plan now.
    PlanAction {
        Scheme => "scheme",
        ConfirmScheme => "confirm_scheme",
        Testers => "testers",
        Trial => "trial",
        TestingDone => "testing_done",
        Online => "online",
        BusinessOwner => "business_owner",
        TechnicalOwner => "technical_owner",
        RequestChange => "request_change",
    }
}

/// A requirement plan in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanSummary {
    /// Id.
    pub id: Uuid,
    /// The approval affair's number (the form's number).
    pub number: String,
    /// The approval affair.
    pub affair_id: Uuid,
    /// Where it stands.
    pub status: PlanStatus,
    /// The applying department (申请建设部门).
    pub department: DepartmentRef,
    /// The requested process's name (流程名称).
    pub process_name: String,
    /// Who applied.
    pub applicant: PersonRef,
    /// The process built from it, once approved.
    pub process_id: Option<Uuid>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When the approval chain ended with approval.
    pub approved_at: Option<DateTime<Utc>>,
}

/// One opinion (意见) of the approval chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpinionView {
    /// The node, e.g. `applying_dept`.
    pub node_id: String,
    /// Its caption, e.g. 申请部门意见.
    pub node_name: String,
    /// Who signed.
    pub by: PersonRef,
    /// The signer's department's name, where that matters (the related departments' countersign).
    pub department: Option<String>,
    /// The signer's department.
    pub department_id: Option<Uuid>,
    /// `approved`, `rejected` or `returned`.
    pub decision: String,
    /// The opinion's text.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A file of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanFile {
    /// The form field, e.g. `flowchart`.
    pub field: String,
    /// The field's label, e.g. 业务流程图.
    pub label: String,
    /// The attachment (`GET /attachments/{id}`).
    pub id: Uuid,
    /// File name.
    pub filename: String,
}

/// One duty of 第九条 and whether it is done.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChecklistItem {
    /// Stable code: `plan`, `implementation_plan`, `scheme_confirmed`, `build`, `testing_done`,
    /// `online`, `business_owner`, `technical_owner`.
    pub code: String,
    /// Whose duty.
    pub party: Party,
    /// Where the regulation says so, e.g. 第九条㈠1.
    pub article: String,
    /// In Chinese.
    pub title: String,
    /// In English.
    pub title_en: String,
    /// Done.
    pub done: bool,
    /// When.
    pub done_at: Option<DateTime<Utc>>,
    /// By whom.
    pub done_by: Option<PersonRef>,
}

/// A recorded step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanEventView {
    /// What happened.
    pub kind: PlanEventKind,
    /// Who did it; `null` for the system.
    pub actor: Option<PersonRef>,
    /// When.
    pub at: DateTime<Utc>,
    /// The note given, if any.
    pub note: String,
}

/// The process built from a request, with its versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanProcess {
    /// Process id (`GET /processes/{id}`).
    pub id: Uuid,
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Published versions, newest first.
    pub versions: Vec<PlanVersion>,
}

/// A published version of the built process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanVersion {
    /// Number.
    pub number: i32,
    /// Lifecycle status.
    pub status: VersionStatus,
    /// Trial affairs started on it and finished (测试办件).
    pub finished_test_affairs: u64,
}

/// A change request (需求变更申请) with its feasibility assessment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeView {
    /// Id.
    pub id: Uuid,
    /// Its affair.
    pub affair_id: Uuid,
    /// Its number.
    pub number: String,
    /// Where it stands.
    pub status: ChangeStatus,
    /// Who asked.
    pub applicant: PersonRef,
    /// What changes.
    pub change_content: String,
    /// Why.
    pub change_reason: String,
    /// The IT office's conclusion: `feasible`, `conditional` or `infeasible`.
    pub feasibility: Option<String>,
    /// The IT office's technical feasibility assessment (技术可行性评估).
    pub assessment: Option<String>,
    /// Estimated effort in working days.
    pub estimated_days: Option<i32>,
    /// Who assessed.
    pub assessed_by: Option<PersonRef>,
    /// When.
    pub assessed_at: Option<DateTime<Utc>>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A requirement plan with the whole form, the opinions in order, the process built from it,
/// the duties of 第九条, its history and its change requests.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: PlanSummary,
    /// 流程建设主要内容简要说明.
    pub summary_text: String,
    /// 申请原因及要求.
    pub reasons: String,
    /// 申报时间.
    pub applied_on: Option<NaiveDate>,
    /// 联系人.
    pub contact_name: String,
    /// 联系电话.
    pub contact_phone: String,
    /// Whether the requested process has president or secretary steps (注3).
    pub has_leader_steps: bool,
    /// 流程相关职能部门.
    pub related_departments: Vec<DepartmentRef>,
    /// The attached files (the detailed reasons, the process description, the flowchart).
    pub files: Vec<PlanFile>,
    /// The opinions, in the order of the form.
    pub opinions: Vec<OpinionView>,
    /// The process built from it.
    pub process: Option<PlanProcess>,
    /// The IT office's construction scheme (建设方案).
    pub scheme: Option<String>,
    /// When it is planned to go online.
    pub planned_online_on: Option<NaiveDate>,
    /// The applying department's testers for the trial run (第九条㈠3).
    pub testers: Vec<PersonRef>,
    /// Who manages the process after it goes online (第九条㈠4).
    pub business_owner: Option<PersonRef>,
    /// Who maintains it technically (第九条㈡4).
    pub technical_owner: Option<PersonRef>,
    /// The duties of 第九条.
    pub checklist: Vec<ChecklistItem>,
    /// Every recorded step, oldest first.
    pub events: Vec<PlanEventView>,
    /// Change requests, oldest first.
    pub changes: Vec<ChangeView>,
    /// What the caller may do now.
    pub allowed_actions: Vec<PlanAction>,
    /// Optimistic-lock version: send it back with every change.
    pub version: i32,
}

/// The reference a process keeps to the request it was built from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanRef {
    /// The request.
    pub id: Uuid,
    /// Its number.
    pub number: String,
    /// Where it stands.
    pub status: PlanStatus,
    /// Its change requests (the process's requirement history).
    pub changes: Vec<ChangeView>,
}

/// `GET /requirement-plans` filters.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Only in this state.
    pub status: Option<PlanStatus>,
    /// Only this applying department's.
    pub department_id: Option<Uuid>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl PlanQuery {
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

fn validate_long_text(s: &str) -> Result<(), ValidationError> {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Err(ValidationError::new("control_characters"))
    } else {
        Ok(())
    }
}

/// `PUT /requirement-plans/{id}/scheme`: the IT office's construction scheme (第六条㈡, 第九条㈡1–2).
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SchemeRequest {
    /// The scheme: what is built, how, by when.
    #[validate(length(min = 1, max = 10000), custom(function = "validate_long_text"))]
    #[schema(min_length = 1, max_length = 10000)]
    pub scheme: String,
    /// When the process is planned to go online.
    pub planned_online_on: Option<NaiveDate>,
    /// The plan's version as read.
    pub version: i32,
}

/// A step confirmed with an optional note (scheme confirmed, testing done, trial, online).
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PlanStepRequest {
    /// A note kept with the step.
    #[validate(length(max = 2000), custom(function = "validate_long_text"))]
    #[schema(max_length = 2000)]
    #[serde(default)]
    pub note: String,
    /// The plan's version as read.
    pub version: i32,
}

/// `PUT /requirement-plans/{id}/testers`: the applying department's testers.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TestersRequest {
    /// 1–50 users.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    pub user_ids: Vec<Uuid>,
    /// The plan's version as read.
    pub version: i32,
}

/// `PUT /requirement-plans/{id}/owners`: who manages the process after it goes online. The
/// department names the business owner, the IT office the technical one; a field left out stays.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OwnersRequest {
    /// Business owner (第九条㈠4), named by the applying department.
    pub business_owner_id: Option<Uuid>,
    /// Technical maintainer (第九条㈡4), named by the IT office.
    pub technical_owner_id: Option<Uuid>,
    /// The plan's version as read.
    pub version: i32,
}
