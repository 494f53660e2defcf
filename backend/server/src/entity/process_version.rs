//! `process_versions`: immutable published versions of a process and their lifecycle status.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "process_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub process_id: Uuid,
    pub number: i32,
    pub definition: Json,
    pub form: Json,
    pub diagram: Option<String>,
    pub status: String,
    pub testers: Json,
    pub published_by: Option<Uuid>,
    pub published_at: DateTimeUtc,
    pub status_changed_by: Option<Uuid>,
    pub status_changed_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
