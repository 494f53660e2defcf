//! Archives (办件归档): the package of a finished affair and bulk exports.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::common::PageQuery;

/// The archive package of one finished affair.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArchiveView {
    /// Archive id.
    pub id: Uuid,
    /// The affair.
    pub affair_id: Uuid,
    /// The affair's number.
    pub affair_number: String,
    /// The department handling the process.
    pub department_id: Option<Uuid>,
    /// completed / rejected / withdrawn.
    pub outcome: String,
    /// When the affair ended.
    pub finished_at: DateTime<Utc>,
    /// Size of the package (ZIP) in bytes.
    pub size: i64,
    /// SHA-256 of the package, hex.
    pub sha256: String,
    /// Files in the package, the manifest included.
    pub file_count: i32,
    /// When the package was made.
    pub created_at: DateTime<Utc>,
}

/// `GET /archives` filters: the department handling the process and the date the affair ended.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[validate(schema(function = "validate_query_range"))]
pub struct ArchiveQuery {
    /// Only this department's (the one handling the process).
    pub department_id: Option<Uuid>,
    /// Ended on or after this day (China time).
    pub from: Option<NaiveDate>,
    /// Ended on or before this day (China time).
    pub to: Option<NaiveDate>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl ArchiveQuery {
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

fn validate_query_range(q: &ArchiveQuery) -> Result<(), ValidationError> {
    match (q.from, q.to) {
        (Some(f), Some(t)) if f > t => Err(ValidationError::new("date_range")),
        _ => Ok(()),
    }
}

/// Export the archives of a department (or of all, for those who see all) whose affairs ended in a
/// date range, as one ZIP of packages with an index.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "validate_export_range"))]
pub struct CreateExport {
    /// The department handling the processes; all departments when absent (needs the whole
    /// college in scope).
    pub department_id: Option<Uuid>,
    /// First day (China time), inclusive.
    pub from: NaiveDate,
    /// Last day (China time), inclusive; at most 366 days after `from`.
    pub to: NaiveDate,
}

fn validate_export_range(r: &CreateExport) -> Result<(), ValidationError> {
    if r.from > r.to || (r.to - r.from).num_days() > 366 {
        return Err(ValidationError::new("date_range"));
    }
    Ok(())
}

string_enum! {
    /// An export waiting for a worker, being built, ready, or failed.
    ExportStatus { Pending => "pending", Running => "running", Done => "done", Failed => "failed" }
}

/// A bulk export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportView {
    /// Export id.
    pub id: Uuid,
    /// The department, or none for all.
    pub department_id: Option<Uuid>,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Where it stands.
    pub status: ExportStatus,
    /// Packages in it, once done.
    pub archive_count: Option<i32>,
    /// Size of the export in bytes, once done.
    pub size: Option<i64>,
    /// SHA-256 of the export, once done.
    pub sha256: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Requested.
    pub created_at: DateTime<Utc>,
    /// Done or failed.
    pub finished_at: Option<DateTime<Utc>>,
}
