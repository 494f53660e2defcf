//! `audit_archives`: audit records moved to the object store after the retention period, with the
//! chain hash they end on (where verification of the records still in the database starts).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_archives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub from_pos: i64,
    #[sea_orm(unique)]
    pub to_pos: i64,
    pub count: i64,
    pub first_at: DateTimeUtc,
    pub last_at: DateTimeUtc,
    pub last_chain_hash: String,
    pub storage_key: String,
    pub sha256: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
