//! The authorisation version (#9): one counter that every change to what a principal may do moves
//! on — role assignments, role permissions, roles, positions (分管 leaders), the department tree,
//! and a user's department, username or display name. Servers cache each user's resolved grants
//! under the version they were read at and read the counter with the session check, in the same
//! single query, so a change made through any instance, a restore or plain SQL is in force on the
//! next request everywhere.
//!
//! The counter moves by triggers, so no writer can forget it: on PostgreSQL once per statement
//! (a `COPY` of 30,000 role rows moves it once), on SQLite once per row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables whose every change moves the counter.
const TABLES: [&str; 5] = ["user_roles", "role_permissions", "roles", "positions", "departments"];
/// The columns of `users` a principal carries.
const USER_COLUMNS: [&str; 3] = ["department_id", "username", "display_name"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("CREATE TABLE authz_version (id SMALLINT PRIMARY KEY, version BIGINT NOT NULL)").await?;
        db.execute_unprepared("INSERT INTO authz_version (id, version) VALUES (1, 0)").await?;
        let changed = |old: &str, new: &str, op: &str| {
            USER_COLUMNS.iter().map(|c| format!("{old}.{c} {op} {new}.{c}")).collect::<Vec<_>>().join(" OR ")
        };
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION tongban_bump_authz() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN UPDATE authz_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$",
                )
                .await?;
                for t in TABLES {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER trg_authz_{t} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} \
                         FOR EACH STATEMENT EXECUTE FUNCTION tongban_bump_authz()"
                    ))
                    .await?;
                }
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER trg_authz_users AFTER UPDATE ON users FOR EACH ROW WHEN ({}) \
                     EXECUTE FUNCTION tongban_bump_authz()",
                    changed("OLD", "NEW", "IS DISTINCT FROM")
                ))
                .await?;
            }
            _ => {
                for t in TABLES {
                    for op in ["INSERT", "UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER trg_authz_{t}_{} AFTER {op} ON {t} \
                             BEGIN UPDATE authz_version SET version = version + 1 WHERE id = 1; END",
                            op.to_lowercase()
                        ))
                        .await?;
                    }
                }
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER trg_authz_users AFTER UPDATE ON users WHEN {} \
                     BEGIN UPDATE authz_version SET version = version + 1 WHERE id = 1; END",
                    changed("OLD", "NEW", "IS NOT")
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                for t in TABLES {
                    db.execute_unprepared(&format!("DROP TRIGGER trg_authz_{t} ON {t}")).await?;
                }
                db.execute_unprepared("DROP TRIGGER trg_authz_users ON users").await?;
                db.execute_unprepared("DROP FUNCTION tongban_bump_authz()").await?;
            }
            _ => {
                for t in TABLES {
                    for op in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!("DROP TRIGGER trg_authz_{t}_{op}")).await?;
                    }
                }
                db.execute_unprepared("DROP TRIGGER trg_authz_users").await?;
            }
        }
        db.execute_unprepared("DROP TABLE authz_version").await?;
        Ok(())
    }
}
