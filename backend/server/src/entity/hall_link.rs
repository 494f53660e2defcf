//! `hall_links`: A quick channel (快捷通道) configured for the hall.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "hall_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    pub title_en: Option<String>,
    pub url: Option<String>,
    pub guide_id: Option<Uuid>,
    pub icon: Option<String>,
    pub audiences: Json,
    pub sort_order: i32,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
