//! `guides`: A service guide (办事指南): what lists, the hall and search need; full content per version in `guide_versions`.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "guides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub department_id: Uuid,
    pub category_id: Option<Uuid>,
    pub process_id: Option<Uuid>,
    pub name: String,
    pub name_en: Option<String>,
    pub summary: String,
    pub keywords: String,
    pub audiences: Json,
    pub channels: Json,
    pub status: String,
    pub published_version: Option<i32>,
    pub latest_version: i32,
    pub recommended: bool,
    pub recommend_rank: i32,
    pub protected: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
