//! `violations`: the discipline office's register (第十四条): tasks overdue beyond the threshold,
//! handlers overridden by administrators, complaints.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "violations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    #[sea_orm(unique)]
    pub dedupe_key: Option<String>,
    pub affair_id: Uuid,
    pub task_id: Option<Uuid>,
    pub process_id: Uuid,
    pub department_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub detail: String,
    pub occurred_at: DateTimeUtc,
    pub status: String,
    pub handled_by: Option<Uuid>,
    pub handled_at: Option<DateTimeUtc>,
    pub handling_note: Option<String>,
    pub version: i32,
}

impl ActiveModelBehavior for ActiveModel {}
