//! Campus sign-in and sessions (#8): `sessions` (one per sign-in; the refresh-token family and the
//! `sid` claim of its access tokens), `sso_states` (the pending round trips to the campus OpenID
//! provider or CAS server: state, nonce and PKCE verifier), `sso_codes` (the single-use codes the web
//! app exchanges for tokens after a campus sign-in) and `user_totp` (administrators' second factor,
//! the secret encrypted at rest).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sessions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                // `password`, `oidc`, `cas`.
                .col(string_len("method", 16))
                // Authentication methods, space separated (`pwd otp`, `oidc`, `cas`).
                .col(string_len("amr", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_used_at"))
                .col(text_null("ip"))
                .col(text_null("user_agent"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_len_null("revoke_reason", 32))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_sessions_user").table("sessions").col("user_id").col("revoked_at").to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sso_states")
                // SHA-256 of the state sent to the provider.
                .col(string_len("id", 64).primary_key())
                .col(string_len("provider", 16))
                .col(text("nonce"))
                .col(text("code_verifier"))
                .col(text("return_to"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sso_codes")
                // SHA-256 of the code handed to the web app.
                .col(string_len("id", 64).primary_key())
                .col(uuid("user_id"))
                .col(string_len("method", 16))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sso_codes_user")
                        .from("sso_codes", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("user_totp")
                .col(uuid("user_id").primary_key())
                // nonce ‖ ciphertext (XChaCha20-Poly1305), base64url.
                .col(text("secret_enc"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("enabled_at"))
                // The last 30-second step a code was accepted for; a code is never accepted twice.
                .col(big_integer("last_step").default(0))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_totp_user")
                        .from("user_totp", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["user_totp", "sso_codes", "sso_states", "sessions"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
