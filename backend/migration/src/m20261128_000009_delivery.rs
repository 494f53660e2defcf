//! Delivery of notifications beyond the in-app list (e-mail, the push webhook for the app and
//! WeChat): the notification row itself is the outbox, claimed by one server instance at a time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            timestamp_with_time_zone_null("email_sent_at"),
            timestamp_with_time_zone_null("push_sent_at"),
            timestamp_with_time_zone_null("delivered_at"),
            timestamp_with_time_zone_null("delivery_locked_until"),
            integer("delivery_attempts").default(0).to_owned(),
            text_null("delivery_error"),
        ] {
            m.alter_table(Table::alter().table("notifications").add_column(col).to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("idx_notifications_delivery")
                .table("notifications")
                .col("delivered_at")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_notifications_delivery").table("notifications").to_owned()).await?;
        for c in [
            "delivery_error",
            "delivery_attempts",
            "delivery_locked_until",
            "delivered_at",
            "push_sent_at",
            "email_sent_at",
        ] {
            m.alter_table(Table::alter().table("notifications").drop_column(c).to_owned()).await?;
        }
        Ok(())
    }
}
