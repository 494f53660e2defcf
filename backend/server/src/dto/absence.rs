//! Out-of-office delegation (代理) and hand-over of a leaving user's tasks (离职交接).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::org::validate_code;

/// Process keys: each a valid key, no duplicates.
fn validate_keys(keys: &[String]) -> Result<(), ValidationError> {
    for k in keys {
        validate_code(k)?;
    }
    let mut seen = std::collections::HashSet::new();
    if keys.iter().all(|k| seen.insert(k)) { Ok(()) } else { Err(ValidationError::new("duplicate")) }
}

/// Free text that may span lines: no other control characters.
fn validate_note(s: &str) -> Result<(), ValidationError> {
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        Err(ValidationError::new("control_characters"))
    } else {
        Ok(())
    }
}

/// `POST /me/absences`, `POST /users/{id}/absences`: schedule an absence. While it lasts, new
/// tasks of the user go to the deputy, who sees the user recorded as the original assignee.
/// Chains are not followed: when the deputy is away too, the task still goes to the deputy.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAbsence {
    /// Who receives the tasks: an active user other than the absent one.
    pub deputy_id: Uuid,
    /// From (inclusive). May lie in the past.
    pub starts_at: DateTime<Utc>,
    /// Until (exclusive); after `starts_at`, in the future, at most 366 days after `starts_at`.
    pub ends_at: DateTime<Utc>,
    /// The processes it applies to; empty (default) means every process.
    #[serde(default)]
    #[validate(length(max = 100), custom(function = "validate_keys"))]
    pub process_keys: Vec<String>,
    /// A note (reason, how to reach the user).
    #[serde(default)]
    #[validate(length(max = 500), custom(function = "validate_note"))]
    pub note: String,
}

/// Where an absence is in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceStatus {
    /// Starts later.
    Scheduled,
    /// Going on now: new tasks go to the deputy.
    Active,
    /// Over.
    Ended,
}

/// A scheduled absence.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbsenceView {
    /// Id.
    pub id: Uuid,
    /// The absent user.
    pub user_id: Uuid,
    /// Who receives the user's new tasks meanwhile.
    pub deputy_id: Uuid,
    /// The deputy's display name.
    pub deputy_name: String,
    /// From (inclusive).
    pub starts_at: DateTime<Utc>,
    /// Until (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Processes it applies to; empty means every process.
    pub process_keys: Vec<String>,
    /// Note.
    pub note: String,
    /// Scheduled, active or ended, as of the response.
    pub status: AbsenceStatus,
    /// Optimistic-lock version (for cancelling).
    pub version: i32,
    /// Who scheduled it (the user, or an administrator).
    pub created_by: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed (cancelling an active absence ends it).
    pub updated_at: DateTime<Utc>,
}

/// `POST /users/{id}/handover`: hand every pending task of a leaving user to another (离职交接).
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HandoverRequest {
    /// Who takes the tasks over: an active user other than the leaving one.
    pub to_user_id: Uuid,
    /// Recorded as the comment of each transfer.
    #[validate(length(max = 2000), custom(function = "validate_note"))]
    pub comment: Option<String>,
}

/// One task handed over.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandedOverTask {
    /// The affair.
    pub affair_id: Uuid,
    /// The affair's number.
    pub affair_number: String,
    /// The task that was the leaving user's (now closed as transferred).
    pub task_id: Uuid,
}

/// A task that was not handed over, with the reason's error code (e.g. `task_already_handled`
/// when it was handled meanwhile, `forbidden` for a task delegated to the user).
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedTask {
    /// The task.
    pub task_id: Uuid,
    /// Stable error code.
    pub code: String,
}

/// An unclaimed group task the leaving user is a candidate of; it is left for the other
/// candidates to claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnclaimedTask {
    /// The affair.
    pub affair_id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// Whether anybody else (active) can claim it; when not, an administrator of the process
    /// should act on it.
    pub other_candidates: bool,
}

/// What a hand-over did.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverReport {
    /// Tasks transferred.
    pub transferred: u32,
    /// The transferred tasks with their affairs.
    pub affairs: Vec<HandedOverTask>,
    /// Tasks not transferred, each with why.
    pub skipped: Vec<SkippedTask>,
    /// Group tasks left unclaimed for the other candidates.
    pub unclaimed: Vec<UnclaimedTask>,
}
