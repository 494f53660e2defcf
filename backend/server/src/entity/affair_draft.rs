//! `affair_drafts`: An application being written (草稿); it becomes an affair on submission.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "affair_drafts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub applicant_id: Uuid,
    pub guide_id: Option<Uuid>,
    pub process_id: Uuid,
    pub title: String,
    pub form: Json,
    pub picks: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
