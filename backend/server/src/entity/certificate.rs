//! `certificates`: an issued e-certificate and its signed document.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub type_id: Uuid,
    pub number: String,
    pub verify_code: String,
    pub holder_id: Uuid,
    pub affair_id: Option<Uuid>,
    pub department_id: Uuid,
    pub title: String,
    pub body: String,
    pub data: Json,
    pub document: Json,
    pub kid: String,
    pub status: String,
    pub issued_at: DateTimeUtc,
    pub issued_by: Option<Uuid>,
    pub valid_until: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_by: Option<Uuid>,
    pub revoke_reason: Option<String>,
    pub supersedes_id: Option<Uuid>,
    pub superseded_by_id: Option<Uuid>,
    pub version: i32,
}

impl ActiveModelBehavior for ActiveModel {}
