//! Notifications, and the timer marks on tasks (reminded before due, overdue).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("kind", 32))
                .col(string_len("title", 200))
                .col(text("body").default(""))
                .col(uuid_null("affair_id"))
                .col(uuid_null("task_id"))
                .col(timestamp_with_time_zone_null("read_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_notifications_user")
                        .from("notifications", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_user_created")
                .table("notifications")
                .col("user_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table("tasks").add_column(timestamp_with_time_zone_null("reminded_at")).to_owned(),
        )
        .await?;
        m.alter_table(Table::alter().table("tasks").add_column(timestamp_with_time_zone_null("overdue_at")).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("tasks").drop_column("overdue_at").to_owned()).await?;
        m.alter_table(Table::alter().table("tasks").drop_column("reminded_at").to_owned()).await?;
        m.drop_table(Table::drop().table("notifications").to_owned()).await
    }
}
