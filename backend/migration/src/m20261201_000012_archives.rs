//! Archives (#5, 第十二条): one package per finished affair (summary PDF, files, audit excerpt,
//! manifest), kept in the object store with its SHA-256; and bulk exports by department and date.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("archives")
                .col(pk_uuid("id"))
                // One package per affair: a retried job cannot archive twice.
                .col(uuid_uniq("affair_id"))
                .col(string_len("affair_number", 32))
                .col(uuid_null("department_id"))
                .col(string_len("outcome", 16))
                .col(timestamp_with_time_zone("finished_at"))
                .col(string_len("storage_key", 256))
                .col(big_integer("size"))
                .col(string_len("sha256", 64))
                .col(integer("file_count"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_archives_affair").from("archives", "affair_id").to("affairs", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_archives_department_finished")
                .table("archives")
                .col("department_id")
                .col("finished_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("archive_exports")
                .col(pk_uuid("id"))
                .col(uuid("requested_by"))
                .col(uuid_null("department_id"))
                .col(timestamp_with_time_zone("date_from"))
                .col(timestamp_with_time_zone("date_to"))
                .col(string_len("status", 16))
                .col(integer_null("archive_count"))
                .col(string_len_null("storage_key", 256))
                .col(big_integer_null("size"))
                .col(string_len_null("sha256", 64))
                .col(text_null("error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_archive_exports_user")
                        .from("archive_exports", "requested_by")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_archive_exports_requested_by")
                .table("archive_exports")
                .col("requested_by")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("archive_exports").to_owned()).await?;
        m.drop_table(Table::drop().table("archives").to_owned()).await
    }
}
