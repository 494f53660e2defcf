//! `guide_versions`: One edit of a guide's full content (`draft`, `published`, `superseded`).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "guide_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guide_id: Uuid,
    pub number: i32,
    pub status: String,
    pub content: Json,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub published_by: Option<Uuid>,
    pub published_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
