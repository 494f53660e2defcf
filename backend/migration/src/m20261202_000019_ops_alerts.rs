//! Operations (#8): `ops_state` keeps what the operations tools record (the last successful backup),
//! `ops_alerts` every alert raised, one row per kind and time window (its unique `key`), so several
//! instances and repeated sweeps send each alert once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ops_state")
                .col(string_len("key", 64).primary_key())
                .col(json_binary("value"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("ops_alerts")
                .col(pk_uuid("id"))
                // `<kind>:<window start>`.
                .col(string_len_uniq("key", 128))
                .col(string_len("kind", 32))
                .col(text("subject"))
                .col(json_binary("detail"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(text_null("error"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ops_alerts_kind_created")
                .table("ops_alerts")
                .col("kind")
                .col("created_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("ops_alerts").to_owned()).await?;
        m.drop_table(Table::drop().table("ops_state").to_owned()).await
    }
}
