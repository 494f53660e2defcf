//! The tamper-evident audit chain (#8): each record, once sealed, has a position in the chain, the
//! hash of the record before it and its own chain hash; signed seals of the chain's head; and the
//! archives that hold records moved out of the database after the retention period.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("audit_logs").add_column(big_integer_null("chain_pos")).to_owned()).await?;
        m.alter_table(Table::alter().table("audit_logs").add_column(string_len_null("chain_hash", 64)).to_owned())
            .await?;
        m.create_index(
            Index::create().name("uq_audit_logs_chain_pos").table("audit_logs").col("chain_pos").unique().to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_seals")
                .col(pk_uuid("id"))
                .col(big_integer("pos"))
                .col(string_len("head_hash", 64))
                .col(timestamp_with_time_zone("sealed_at"))
                // The signed document ({certificate: {type, pos, head_hash, sealed_at, kid}, signature}).
                .col(json_binary("signed"))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_audit_seals_pos").table("audit_seals").col("pos").to_owned()).await?;
        m.create_table(
            Table::create()
                .table("audit_archives")
                .col(pk_uuid("id"))
                .col(big_integer("from_pos"))
                .col(big_integer_uniq("to_pos"))
                .col(big_integer("count"))
                .col(timestamp_with_time_zone("first_at"))
                .col(timestamp_with_time_zone("last_at"))
                .col(string_len("last_chain_hash", 64))
                .col(string_len("storage_key", 256))
                .col(string_len("sha256", 64))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("audit_archives").to_owned()).await?;
        m.drop_table(Table::drop().table("audit_seals").to_owned()).await?;
        m.drop_index(Index::drop().name("uq_audit_logs_chain_pos").table("audit_logs").to_owned()).await?;
        m.alter_table(Table::alter().table("audit_logs").drop_column("chain_hash").to_owned()).await?;
        m.alter_table(Table::alter().table("audit_logs").drop_column("chain_pos").to_owned()).await
    }
}
