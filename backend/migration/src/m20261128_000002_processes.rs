//! Process definitions (working drafts and immutable published versions) and the holiday calendar.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("processes")
                .col(pk_uuid("id"))
                .col(string_len_uniq("key", 64))
                .col(string_len("name", 128))
                .col(uuid_null("department_id"))
                .col(text("description").default(""))
                .col(json_binary("draft"))
                .col(json_binary("draft_form"))
                .col(uuid_null("created_by"))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_processes_department")
                        .from("processes", "department_id")
                        .to("departments", "id")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("process_versions")
                .col(pk_uuid("id"))
                .col(uuid("process_id"))
                .col(integer("number"))
                .col(json_binary("definition"))
                .col(json_binary("form"))
                .col(string_len("status", 16))
                .col(json_binary("testers"))
                .col(uuid_null("published_by"))
                .col(timestamp_with_time_zone("published_at"))
                .col(uuid_null("status_changed_by"))
                .col(timestamp_with_time_zone("status_changed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_process_versions_process")
                        .from("process_versions", "process_id")
                        .to("processes", "id")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_process_versions_number")
                .table("process_versions")
                .col("process_id")
                .col("number")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_process_versions_status").table("process_versions").col("status").to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("holiday_years")
                .col(integer("year").primary_key())
                .col(json_binary("data"))
                .col(integer("version").default(1))
                .col(uuid_null("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["holiday_years", "process_versions", "processes"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
