//! Supervision (第三条, 第十四条): figures per department and process, electronic supervision cards,
//! the violations register and quarterly assessment.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::affair::PersonRef;
use super::common::PageQuery;

string_enum! {
    /// 黄牌 (a task or affair past 90 % of its time limit) or 红牌 (overdue).
    CardKind { Yellow => "yellow", Red => "red" }
}

string_enum! {
    /// What a card is about: one handler's task, or the whole affair's time limit.
    CardSubject { Task => "task", Affair => "affair" }
}

string_enum! {
    /// A violation (第十四条): a task overdue beyond the threshold, a handler overridden by an
    /// administrator, a complaint (a low rating, or one recorded by the discipline office).
    ViolationKind { Overdue => "overdue", Override => "override", Complaint => "complaint" }
}

string_enum! {
    /// Whether the discipline office has dealt with a violation.
    ViolationStatus { Open => "open", Handled => "handled" }
}

fn validate_period(q: &StatsQuery) -> Result<(), ValidationError> {
    match (q.from, q.to) {
        (Some(f), Some(t)) if t < f => Err(ValidationError::new("to_before_from")),
        (Some(f), Some(t)) if (t - f).num_days() > 3660 => Err(ValidationError::new("period_too_long")),
        _ => Ok(()),
    }
}

/// A period of China-time days, both ends included (default: the last 30 days), optionally one
/// handling department's.
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[validate(schema(function = "validate_period"))]
pub struct StatsQuery {
    /// First day.
    pub from: Option<NaiveDate>,
    /// Last day.
    pub to: Option<NaiveDate>,
    /// Only processes of this handling department (and its sub-departments).
    pub department_id: Option<Uuid>,
}

/// The figures of one department, one process or everything in reach, over a period.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StatsRow {
    /// The department or process; `null` for the total.
    pub id: Option<Uuid>,
    /// Its name.
    pub name: String,
    /// The handling department (for a process).
    pub department_id: Option<Uuid>,
    /// Affairs submitted in the period.
    pub submitted: u64,
    /// Affairs that ended in the period, completed (办结).
    pub completed: u64,
    /// …rejected (不予办理).
    pub rejected: u64,
    /// …withdrawn by the applicant.
    pub withdrawn: u64,
    /// Returns (退回) handlers made in the period.
    pub returns: u64,
    /// Affairs running now.
    pub open_now: u64,
    /// Affairs running now past their time limit.
    pub overdue_now: u64,
    /// Of the affairs completed or rejected in the period, those that ended within their limit.
    pub on_time: u64,
    /// `on_time` / (completed + rejected); `null` when none ended.
    pub on_time_rate: Option<f64>,
    /// Handling time, in working days, of the affairs completed or rejected in the period.
    pub avg_days: Option<f64>,
    /// Median of the same.
    pub median_days: Option<f64>,
    /// 90th percentile of the same.
    pub p90_days: Option<f64>,
    /// Longest of the same.
    pub max_days: Option<f64>,
    /// Average rating (1–5) given in the period.
    pub satisfaction: Option<f64>,
    /// Ratings given in the period.
    pub ratings: u64,
    /// Yellow cards issued in the period.
    pub yellow_cards: u64,
    /// Red cards issued in the period.
    pub red_cards: u64,
    /// Violations registered in the period.
    pub violations: u64,
}

/// Submissions and ends on one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCount {
    /// The China-time day.
    pub day: NaiveDate,
    /// Affairs submitted.
    pub submitted: u64,
    /// Affairs that ended.
    pub finished: u64,
}

/// The whole picture over a period: the total, each department, each process, and the days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatsOverview {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Everything in reach.
    pub total: StatsRow,
    /// Per handling department, by submissions.
    pub departments: Vec<StatsRow>,
    /// Per process, by submissions.
    pub processes: Vec<StatsRow>,
    /// Per day.
    pub days: Vec<DayCount>,
}

/// `GET /stats/cards` filters.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// Only yellow or red cards.
    pub kind: Option<CardKind>,
    /// Only cards still open (`true`) or resolved (`false`).
    pub open: Option<bool>,
    /// Only this handling department's (and its sub-departments').
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

impl CardQuery {
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

/// An electronic supervision card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CardView {
    /// Id.
    pub id: Uuid,
    /// Yellow or red.
    pub kind: CardKind,
    /// A task or the whole affair.
    pub subject: CardSubject,
    /// The affair.
    pub affair_id: Uuid,
    /// Its number.
    pub affair_number: String,
    /// Its title.
    pub affair_title: String,
    /// The task, for a task card.
    pub task_id: Option<Uuid>,
    /// The node, for a task card.
    pub node_name: String,
    /// The process.
    pub process_id: Uuid,
    /// Its name.
    pub process_name: String,
    /// The handling department.
    pub department_id: Option<Uuid>,
    /// Its name.
    pub department_name: String,
    /// Who held the task.
    pub handler: Option<PersonRef>,
    /// The time limit.
    pub due_at: Option<DateTime<Utc>>,
    /// When the card was issued.
    pub issued_at: DateTime<Utc>,
    /// When the task or affair was dealt with; `null` while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// `GET /stats/violations` filters.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct ViolationQuery {
    /// Only of this kind.
    pub kind: Option<ViolationKind>,
    /// Only open or handled ones.
    pub status: Option<ViolationStatus>,
    /// Only this handling department's (and its sub-departments').
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

impl ViolationQuery {
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

/// A registered violation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationView {
    /// Id.
    pub id: Uuid,
    /// What kind.
    pub kind: ViolationKind,
    /// The affair.
    pub affair_id: Uuid,
    /// Its number.
    pub affair_number: String,
    /// The task, where one is concerned.
    pub task_id: Option<Uuid>,
    /// The process.
    pub process_id: Uuid,
    /// Its name.
    pub process_name: String,
    /// The handling department.
    pub department_id: Option<Uuid>,
    /// Its name.
    pub department_name: String,
    /// Who is concerned (the late or overridden handler).
    pub user: Option<PersonRef>,
    /// What happened.
    pub detail: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Open or handled.
    pub status: ViolationStatus,
    /// Who dealt with it.
    pub handled_by: Option<PersonRef>,
    /// When.
    pub handled_at: Option<DateTime<Utc>>,
    /// How (责令改正, 约谈, …).
    pub handling_note: Option<String>,
    /// Optimistic-lock version.
    pub version: i32,
}

fn validate_note(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("required"));
    }
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ValidationError::new("control_characters"));
    }
    Ok(())
}

/// `POST /stats/violations/{id}/handle`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HandleViolation {
    /// How it was dealt with.
    #[validate(length(min = 1, max = 2000), custom(function = "validate_note"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
    /// The violation's version as read.
    pub version: i32,
}

/// `POST /stats/violations`: a complaint received outside the system, about an affair.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RecordComplaint {
    /// The affair's number.
    #[validate(length(min = 1, max = 32))]
    #[schema(min_length = 1, max_length = 32)]
    pub affair_number: String,
    /// What the complaint says.
    #[validate(length(min = 1, max = 2000), custom(function = "validate_note"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub detail: String,
}

/// `GET /stats/assessment`: a quarter.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AssessmentQuery {
    /// Year.
    #[validate(range(min = 2000, max = 2100))]
    #[param(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// Quarter, 1–4.
    #[validate(range(min = 1, max = 4))]
    #[param(minimum = 1, maximum = 4)]
    pub quarter: u32,
}

/// A department's figures for the quarterly assessment (网上办事考核, 第三条), ranked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentRow {
    /// Rank by on-time rate, then fewer red cards and violations, then satisfaction.
    pub rank: u32,
    /// The figures.
    #[serde(flatten)]
    pub figures: StatsRow,
}

/// The quarter's assessment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assessment {
    /// Year.
    pub year: i32,
    /// Quarter.
    pub quarter: u32,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Per handling department, ranked.
    pub departments: Vec<AssessmentRow>,
}
