//! `api_clients`: an integrator's client credentials; what it may do is its system account's roles.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub client_id: String,
    #[sea_orm(unique)]
    pub user_id: Uuid,
    pub name: String,
    pub description: String,
    pub secret_hash: String,
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub secret_rotated_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub version: i32,
}

impl ActiveModelBehavior for ActiveModel {}
