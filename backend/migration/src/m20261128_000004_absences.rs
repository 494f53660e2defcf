//! Out-of-office delegation (代理): a user's absences, each naming the deputy who receives the
//! user's new tasks while it lasts, for all processes or some.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("absences")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("deputy_id"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("ends_at"))
                .col(json_binary("process_keys"))
                .col(text("note"))
                .col(integer("version").default(1))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_absences_user").from("absences", "user_id").to("users", "id"),
                )
                .foreign_key(
                    ForeignKey::create().name("fk_absences_deputy").from("absences", "deputy_id").to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_absences_user_starts")
                .table("absences")
                .col("user_id")
                .col("starts_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("absences").to_owned()).await?;
        Ok(())
    }
}
