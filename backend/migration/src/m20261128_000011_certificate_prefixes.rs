//! Certificate numbers are `{prefix}{year}{sequence}` with a sequence per type: two types sharing
//! a prefix would hand out the same numbers, so a prefix belongs to one type.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("uq_certificate_types_prefix")
                .table("certificate_types")
                .col("number_prefix")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("uq_certificate_types_prefix").table("certificate_types").to_owned()).await
    }
}
