//! `archives`: the archive package of a finished affair, kept in the object store.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "archives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub affair_id: Uuid,
    pub affair_number: String,
    pub department_id: Option<Uuid>,
    pub outcome: String,
    pub finished_at: DateTimeUtc,
    pub storage_key: String,
    pub size: i64,
    pub sha256: String,
    pub file_count: i32,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
