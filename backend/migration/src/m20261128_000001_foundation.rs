//! Organisation model, accounts, sessions and the audit trail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(name: &str, from: (&'static str, &'static str), to: (&'static str, &'static str)) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).to_owned()
}

fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("departments")
                .col(pk_uuid("id"))
                .col(uuid_null("parent_id"))
                .col(string_len_uniq("code", 64))
                .col(string_len("name", 128))
                .col(string_len_null("name_en", 128))
                .col(string_len("kind", 32))
                .col(integer("sort_order").default(0))
                .col(boolean("active").default(true))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_departments_parent", ("departments", "parent_id"), ("departments", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_departments_parent", "departments", &["parent_id"])).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(string_len_uniq("username", 64))
                .col(string_len("display_name", 128))
                .col(string_len("kind", 32))
                .col(string_len_null("student_no", 32).unique_key())
                .col(string_len_null("staff_no", 32).unique_key())
                .col(uuid_null("department_id"))
                .col(string_len_null("email", 254))
                .col(string_len_null("phone", 32))
                .col(text_null("password_hash"))
                .col(string_len("status", 16))
                .col(integer("auth_epoch").default(0))
                .col(timestamp_with_time_zone_null("password_changed_at"))
                .col(timestamp_with_time_zone_null("last_login_at"))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_users_department", ("users", "department_id"), ("departments", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_users_department", "users", &["department_id"])).await?;

        m.create_table(
            Table::create()
                .table("roles")
                .col(pk_uuid("id"))
                .col(string_len_uniq("code", 64))
                .col(string_len("name", 128))
                .col(string_len_null("name_en", 128))
                .col(text("description").default(""))
                .col(boolean("builtin").default(false))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("role_permissions")
                .col(uuid("role_id"))
                .col(string_len("permission", 64))
                .primary_key(Index::create().col("role_id").col("permission"))
                .foreign_key(
                    &mut fk("fk_role_permissions_role", ("role_permissions", "role_id"), ("roles", "id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("user_roles")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(uuid("role_id"))
                .col(string_len("scope", 16))
                .col(uuid_null("department_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    &mut fk("fk_user_roles_user", ("user_roles", "user_id"), ("users", "id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(&mut fk("fk_user_roles_role", ("user_roles", "role_id"), ("roles", "id")))
                .foreign_key(&mut fk(
                    "fk_user_roles_department",
                    ("user_roles", "department_id"),
                    ("departments", "id"),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_user_roles_user", "user_roles", &["user_id"])).await?;
        m.create_index(index("idx_user_roles_role", "user_roles", &["role_id"])).await?;

        m.create_table(
            Table::create()
                .table("positions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(string_len("kind", 32))
                .col(uuid_null("department_id"))
                .col(string_len("title", 128))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    &mut fk("fk_positions_user", ("positions", "user_id"), ("users", "id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .foreign_key(&mut fk("fk_positions_department", ("positions", "department_id"), ("departments", "id")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_positions_user", "positions", &["user_id"])).await?;
        m.create_index(index("idx_positions_department_kind", "positions", &["department_id", "kind"])).await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("family_id"))
                .col(uuid("user_id"))
                .col(string_len_uniq("token_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_len_null("revoke_reason", 32))
                .col(string_len_null("ip", 64))
                .col(string_len_null("user_agent", 256))
                .foreign_key(
                    &mut fk("fk_refresh_tokens_user", ("refresh_tokens", "user_id"), ("users", "id"))
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_refresh_tokens_family", "refresh_tokens", &["family_id"])).await?;
        m.create_index(index("idx_refresh_tokens_user", "refresh_tokens", &["user_id"])).await?;

        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(big_pk_auto("id"))
                .col(string_len("username", 64))
                .col(string_len("ip", 64))
                .col(boolean("success"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_login_attempts_username_at", "login_attempts", &["username", "at"])).await?;
        m.create_index(index("idx_login_attempts_ip_at", "login_attempts", &["ip", "at"])).await?;

        m.create_table(
            Table::create()
                .table("audit_logs")
                .col(big_pk_auto("seq"))
                .col(uuid_uniq("id"))
                .col(timestamp_with_time_zone("at"))
                .col(uuid_null("actor_id"))
                .col(string_len_null("actor_name", 128))
                .col(string_len_null("ip", 64))
                .col(string_len_null("request_id", 64))
                .col(string_len("action", 64))
                .col(string_len("object_type", 64))
                .col(string_len_null("object_id", 64))
                .col(boolean("success").default(true))
                .col(json_binary_null("before"))
                .col(json_binary_null("after"))
                .col(string_len("hash", 64))
                .col(string_len_null("prev_hash", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_audit_logs_object", "audit_logs", &["object_type", "object_id"])).await?;
        m.create_index(index("idx_audit_logs_actor_at", "audit_logs", &["actor_id", "at"])).await?;
        m.create_index(index("idx_audit_logs_at", "audit_logs", &["at"])).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_logs",
            "login_attempts",
            "refresh_tokens",
            "positions",
            "user_roles",
            "role_permissions",
            "roles",
            "users",
            "departments",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
