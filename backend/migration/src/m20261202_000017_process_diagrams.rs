//! The designer's diagram (BPMN 2.0 with its layout) kept with a process's draft and copied into
//! each version published from it, so a process opens as it was drawn.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("processes").add_column(text_null("draft_diagram")).to_owned()).await?;
        m.alter_table(Table::alter().table("process_versions").add_column(text_null("diagram")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("process_versions").drop_column("diagram").to_owned()).await?;
        m.alter_table(Table::alter().table("processes").drop_column("draft_diagram").to_owned()).await
    }
}
