//! `notifications`: messages to a user (new tasks, returns, results, reminders, overdue warnings),
//! and the outbox state of their delivery by e-mail and the push webhook.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub affair_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub read_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub email_sent_at: Option<DateTimeUtc>,
    pub push_sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub delivery_locked_until: Option<DateTimeUtc>,
    pub delivery_attempts: i32,
    pub delivery_error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
