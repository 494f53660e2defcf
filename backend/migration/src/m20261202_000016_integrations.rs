//! Integrators (#8): API clients with client-credentials tokens (each backed by a system account
//! whose roles bound what it may do), webhooks for affair and certificate events signed with
//! HMAC-SHA256, and their delivery log (the outbox, retried with back-off).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("api_clients")
                .col(pk_uuid("id"))
                .col(string_len_uniq("client_id", 64))
                .col(uuid_uniq("user_id"))
                .col(string_len("name", 128))
                .col(text("description"))
                .col(string_len("secret_hash", 64))
                .col(string_len("status", 16))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("secret_rotated_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(integer("version"))
                .foreign_key(
                    ForeignKey::create().name("fk_api_clients_user").from("api_clients", "user_id").to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhooks")
                .col(pk_uuid("id"))
                .col(string_len_uniq("name", 64))
                .col(string_len("url", 1024))
                .col(string_len("secret", 128))
                .col(json_binary("events"))
                .col(uuid_null("department_id"))
                .col(boolean("active"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(integer("version"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(pk_uuid("id"))
                .col(uuid("webhook_id"))
                .col(string_len("event", 64))
                .col(json_binary("payload"))
                // `pending`, `delivered` or `failed` (given up).
                .col(string_len("status", 16))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(integer_null("last_status"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_webhook")
                        .from("webhook_deliveries", "webhook_id")
                        .to("webhooks", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_due")
                .table("webhook_deliveries")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_webhook")
                .table("webhook_deliveries")
                .col("webhook_id")
                .col("created_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("webhook_deliveries").to_owned()).await?;
        m.drop_table(Table::drop().table("webhooks").to_owned()).await?;
        m.drop_table(Table::drop().table("api_clients").to_owned()).await
    }
}
