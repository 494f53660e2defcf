//! `archive_exports`: a bulk export of archives by department and date range, built by a job.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "archive_exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub requested_by: Uuid,
    pub department_id: Option<Uuid>,
    pub date_from: DateTimeUtc,
    pub date_to: DateTimeUtc,
    pub status: String,
    pub archive_count: Option<i32>,
    pub storage_key: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
