//! `tasks`: the engine's tasks, one row each, for to-do lists and supervision.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub affair_id: Uuid,
    pub seq: i32,
    pub node_id: String,
    pub node_name: String,
    pub assignee_id: Option<Uuid>,
    pub original_assignee_id: Option<Uuid>,
    pub status: String,
    pub kind: String,
    pub result: Option<String>,
    pub created_at: DateTimeUtc,
    pub due_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
    pub overdue_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
