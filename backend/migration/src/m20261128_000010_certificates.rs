//! Electronic certificates (#5): types defined by departments, issued certificates with their
//! signed documents, and per-type, per-year number sequences.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(name: &str, from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("certificate_types")
                .col(pk_uuid("id"))
                .col(string_len_uniq("code", 64))
                .col(string_len("name", 128))
                .col(string_len_null("name_en", 128))
                .col(uuid("department_id"))
                .col(text("template"))
                .col(integer_null("validity_days"))
                .col(string_len("number_prefix", 16))
                .col(json_binary("layout"))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "fk_certificate_types_department",
                    ("certificate_types", "department_id"),
                    ("departments", "id"),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("certificates")
                .col(pk_uuid("id"))
                .col(uuid("type_id"))
                .col(string_len_uniq("number", 64))
                .col(string_len_uniq("verify_code", 64))
                .col(uuid("holder_id"))
                .col(uuid_null("affair_id"))
                .col(uuid("department_id"))
                .col(string_len("title", 128))
                .col(text("body"))
                .col(json_binary("data"))
                .col(json_binary("document"))
                .col(string_len("kid", 64))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("issued_at"))
                .col(uuid_null("issued_by"))
                .col(timestamp_with_time_zone_null("valid_until"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(uuid_null("revoked_by"))
                .col(string_len_null("revoke_reason", 500))
                .col(uuid_null("supersedes_id"))
                .col(uuid_null("superseded_by_id"))
                .col(integer("version").default(1))
                .foreign_key(&mut fk("fk_certificates_type", ("certificates", "type_id"), ("certificate_types", "id")))
                .foreign_key(&mut fk("fk_certificates_holder", ("certificates", "holder_id"), ("users", "id")))
                .foreign_key(&mut fk("fk_certificates_affair", ("certificates", "affair_id"), ("affairs", "id")))
                .foreign_key(&mut fk(
                    "fk_certificates_department",
                    ("certificates", "department_id"),
                    ("departments", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_certificates_holder").table("certificates").col("holder_id").to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_certificates_type").table("certificates").col("type_id").to_owned())
            .await?;
        // One automatic certificate of a type per affair: a retried job cannot issue twice.
        // (NULL affair ids — issued by hand — do not collide.)
        m.create_index(
            Index::create()
                .name("uq_certificates_affair_type")
                .table("certificates")
                .col("affair_id")
                .col("type_id")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("certificate_sequences")
                .col(uuid("type_id"))
                .col(integer("year"))
                .col(big_integer("next_value").default(1))
                .primary_key(Index::create().col("type_id").col("year"))
                .foreign_key(&mut fk(
                    "fk_certificate_sequences_type",
                    ("certificate_sequences", "type_id"),
                    ("certificate_types", "id"),
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("certificate_sequences").to_owned()).await?;
        m.drop_table(Table::drop().table("certificates").to_owned()).await?;
        m.drop_table(Table::drop().table("certificate_types").to_owned()).await?;
        Ok(())
    }
}
