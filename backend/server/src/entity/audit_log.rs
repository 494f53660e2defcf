//! `audit_logs`: the append-only audit trail.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: Uuid,
    pub at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub success: bool,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub hash: String,
    pub prev_hash: Option<String>,
    pub chain_pos: Option<i64>,
    pub chain_hash: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
