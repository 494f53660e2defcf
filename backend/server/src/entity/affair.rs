//! `affairs`: one application and its handling (a process instance). `state` is the engine's
//! instance; the other columns are kept in step with it for queries.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "affairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub number: String,
    pub process_id: Uuid,
    pub process_version_id: Uuid,
    pub applicant_id: Uuid,
    pub department_id: Option<Uuid>,
    pub title: String,
    pub status: String,
    pub is_test: bool,
    pub state: Json,
    pub due_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The guide it was started from (hot services count these).
    pub guide_id: Option<Uuid>,
    pub handling_days: Option<f64>,
}

impl ActiveModelBehavior for ActiveModel {}
