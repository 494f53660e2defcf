//! `ops_state`: what the operations tools record, by key (`last_backup`).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_state")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Value.
    pub value: Json,
    /// When last written.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
