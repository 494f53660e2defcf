//! The calendar's version (#9): a second counter in the `authz_version` row, moved by triggers on
//! every change to `holiday_years`. Servers keep the parsed working-day calendar and the
//! organisation snapshot (departments and positions, under `version`) per instance and read both
//! counters in one small query per command, instead of loading and parsing those tables each time.
//! Like `version`, it moves for changes made through any instance, a restore or plain SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE authz_version ADD COLUMN calendar BIGINT NOT NULL DEFAULT 0").await?;
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION tongban_bump_calendar() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN UPDATE authz_version SET calendar = calendar + 1 WHERE id = 1; RETURN NULL; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER trg_calendar_holiday_years AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE \
                     ON holiday_years FOR EACH STATEMENT EXECUTE FUNCTION tongban_bump_calendar()",
                )
                .await?;
            }
            _ => {
                for op in ["INSERT", "UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER trg_calendar_holiday_years_{} AFTER {op} ON holiday_years \
                         BEGIN UPDATE authz_version SET calendar = calendar + 1 WHERE id = 1; END",
                        op.to_lowercase()
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER trg_calendar_holiday_years ON holiday_years").await?;
                db.execute_unprepared("DROP FUNCTION tongban_bump_calendar()").await?;
            }
            _ => {
                for op in ["insert", "update", "delete"] {
                    db.execute_unprepared(&format!("DROP TRIGGER trg_calendar_holiday_years_{op}")).await?;
                }
            }
        }
        db.execute_unprepared("ALTER TABLE authz_version DROP COLUMN calendar").await?;
        Ok(())
    }
}
