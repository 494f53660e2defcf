//! `ops_alerts`: an alert raised, once per kind and time window (the unique `key`).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_alerts")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `<kind>:<window start>`.
    #[sea_orm(unique)]
    pub key: String,
    /// `job_failed`, `overdue_backlog` or `webhook_backlog`.
    pub kind: String,
    /// The subject line sent.
    pub subject: String,
    /// The figures behind it.
    pub detail: Json,
    /// When raised.
    pub created_at: DateTimeUtc,
    /// When sent to every configured channel.
    pub sent_at: Option<DateTimeUtc>,
    /// What went wrong sending it.
    pub error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
