//! Supervision (#8, 第三条, 第十四条): each finished affair's handling time in working days, the
//! electronic supervision cards (黄牌 at 90 % of a time limit, 红牌 when overdue) and the violations
//! register of the discipline office.

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
        // Working days from submission to the end, on the calendar in force when it ended.
        m.alter_table(Table::alter().table("affairs").add_column(double_null("handling_days")).to_owned()).await?;
        m.create_index(idx("idx_affairs_finished", "affairs", &["finished_at"])).await?;
        m.create_index(idx("idx_affairs_submitted", "affairs", &["submitted_at"])).await?;
        m.create_table(
            Table::create()
                .table("supervision_cards")
                .col(pk_uuid("id"))
                // `yellow` or `red`.
                .col(string_len("kind", 8))
                // `task` or `affair`.
                .col(string_len("subject", 8))
                // "{kind}:{task or affair id}": one card of a kind per subject, whichever instance
                // issues it first.
                .col(string_len_uniq("subject_key", 64))
                .col(uuid("affair_id"))
                .col(uuid_null("task_id"))
                .col(uuid("process_id"))
                .col(uuid_null("department_id"))
                .col(uuid_null("handler_id"))
                .col(string_len("node_name", 128))
                .col(timestamp_with_time_zone_null("due_at"))
                .col(timestamp_with_time_zone("issued_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_cards_department_issued", "supervision_cards", &["department_id", "issued_at"]))
            .await?;
        m.create_index(idx("idx_cards_open", "supervision_cards", &["resolved_at", "subject"])).await?;
        m.create_table(
            Table::create()
                .table("violations")
                .col(pk_uuid("id"))
                // `overdue`, `override` or `complaint`.
                .col(string_len("kind", 16))
                // Set for violations found by the system, so each is registered once.
                .col(string_len_null("dedupe_key", 80).unique_key())
                .col(uuid("affair_id"))
                .col(uuid_null("task_id"))
                .col(uuid("process_id"))
                .col(uuid_null("department_id"))
                .col(uuid_null("user_id"))
                .col(text("detail"))
                .col(timestamp_with_time_zone("occurred_at"))
                // `open` or `handled`.
                .col(string_len("status", 16))
                .col(uuid_null("handled_by"))
                .col(timestamp_with_time_zone_null("handled_at"))
                .col(text_null("handling_note"))
                .col(integer("version"))
                .to_owned(),
        )
        .await?;
        m.create_index(idx("idx_violations_department_occurred", "violations", &["department_id", "occurred_at"])).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("violations").to_owned()).await?;
        m.drop_table(Table::drop().table("supervision_cards").to_owned()).await?;
        m.drop_index(Index::drop().name("idx_affairs_submitted").table("affairs").to_owned()).await?;
        m.drop_index(Index::drop().name("idx_affairs_finished").table("affairs").to_owned()).await?;
        m.alter_table(Table::alter().table("affairs").drop_column("handling_days").to_owned()).await
    }
}
