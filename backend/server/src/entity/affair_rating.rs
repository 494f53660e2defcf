//! `affair_ratings`: The applicant's rating of a finished affair (评价).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "affair_ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub affair_id: Uuid,
    pub user_id: Uuid,
    pub guide_id: Option<Uuid>,
    pub score: i16,
    pub comment: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
