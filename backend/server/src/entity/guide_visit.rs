//! `guide_visits`: A user's visits to a guide (recent services).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "guide_visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub guide_id: Uuid,
    pub visits: i32,
    pub last_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
