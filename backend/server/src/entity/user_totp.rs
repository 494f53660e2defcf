//! `user_totp`: a user's TOTP second factor (RFC 6238), the secret encrypted at rest.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_totp")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub secret_enc: String,
    pub created_at: DateTimeUtc,
    pub enabled_at: Option<DateTimeUtc>,
    pub last_step: i64,
}

impl ActiveModelBehavior for ActiveModel {}
