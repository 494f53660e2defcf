//! Affairs (process instances), their tasks for to-do lists, affair numbers, idempotency keys and
//! the job table for service calls and timers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn idx(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("affairs")
                .col(pk_uuid("id"))
                .col(string_len_uniq("number", 32))
                .col(uuid("process_id"))
                .col(uuid("process_version_id"))
                .col(uuid("applicant_id"))
                .col(uuid_null("department_id"))
                .col(string_len("title", 200))
                .col(string_len("status", 16))
                .col(boolean("is_test").default(false))
                .col(json_binary("state"))
                .col(timestamp_with_time_zone_null("due_at"))
                .col(timestamp_with_time_zone_null("submitted_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(integer("version").default(1))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_affairs_process").from("affairs", "process_id").to("processes", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_affairs_version")
                        .from("affairs", "process_version_id")
                        .to("process_versions", "id"),
                )
                .foreign_key(
                    ForeignKey::create().name("fk_affairs_applicant").from("affairs", "applicant_id").to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_affairs_applicant", "affairs", &["applicant_id", "created_at"])).await?;
        m.create_index(idx("idx_affairs_process_status", "affairs", &["process_id", "status"])).await?;
        m.create_index(idx("idx_affairs_department_status", "affairs", &["department_id", "status"])).await?;

        m.create_table(
            Table::create()
                .table("tasks")
                .col(pk_uuid("id"))
                .col(uuid("affair_id"))
                .col(integer("seq"))
                .col(string_len("node_id", 64))
                .col(string_len("node_name", 128))
                .col(uuid_null("assignee_id"))
                .col(uuid_null("original_assignee_id"))
                .col(string_len("status", 16))
                .col(string_len("kind", 32))
                .col(string_len_null("result", 32))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("due_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_tasks_affair")
                        .from("tasks", "affair_id")
                        .to("affairs", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("uq_tasks_affair_seq").table("tasks").col("affair_id").col("seq").unique().to_owned(),
        )
        .await?;
        m.create_index(idx("idx_tasks_assignee_status", "tasks", &["assignee_id", "status", "created_at"])).await?;
        m.create_index(idx("idx_tasks_status_due", "tasks", &["status", "due_at"])).await?;

        m.create_table(
            Table::create()
                .table("task_candidates")
                .col(uuid("task_id"))
                .col(uuid("user_id"))
                .primary_key(Index::create().col("task_id").col("user_id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_task_candidates_task")
                        .from("task_candidates", "task_id")
                        .to("tasks", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_task_candidates_user", "task_candidates", &["user_id"])).await?;

        m.create_table(
            Table::create()
                .table("affair_numbers")
                .col(string_len("day", 8).primary_key())
                .col(integer("last"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("user_id"))
                .col(string_len("key", 128))
                .col(string_len("request_hash", 64))
                .col(integer("status_code"))
                .col(json_binary("body"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("user_id").col("key"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("jobs")
                .col(pk_uuid("id"))
                .col(string_len("kind", 32))
                .col(uuid_null("affair_id"))
                .col(json_binary("payload"))
                .col(timestamp_with_time_zone("run_at"))
                .col(integer("attempts").default(0))
                .col(string_len_null("locked_by", 64))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone_null("done_at"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_jobs_due", "jobs", &["done_at", "run_at"])).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["jobs", "idempotency_keys", "affair_numbers", "task_candidates", "tasks", "affairs"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
