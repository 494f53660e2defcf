//! `audit_seals`: the audit chain's head at a moment, signed with the server's Ed25519 key.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_seals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pos: i64,
    pub head_hash: String,
    pub sealed_at: DateTimeUtc,
    pub signed: Json,
}

impl ActiveModelBehavior for ActiveModel {}
