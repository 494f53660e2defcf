//! Requirement plans (#6, 第六条~第九条, 附件《网上办事流程建设需求计划审批表》): a department's request
//! to have an online process built, linked to its approval affair and to the process it becomes;
//! the steps of building, trial and going online; change requests with their feasibility
//! assessment (第八条).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("requirement_plans")
                .col(pk_uuid("id"))
                .col(uuid_uniq("affair_id"))
                .col(string_len("number", 32))
                .col(uuid("applicant_id"))
                .col(uuid("department_id"))
                .col(string_len("process_name", 200))
                // "{department}:{name}" while the request is in approval or approved, NULL once
                // rejected or withdrawn: one form, one process (注2), race-free across instances.
                .col(string_len_null("open_key", 300).unique_key())
                .col(string_len("status", 16))
                .col(boolean("has_leader_steps"))
                .col(uuid_null("process_id").unique_key())
                .col(json_binary("testers"))
                .col(text_null("scheme"))
                .col(string_len_null("planned_online_on", 10))
                .col(uuid_null("business_owner_id"))
                .col(uuid_null("technical_owner_id"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_requirement_plans_affair")
                        .from("requirement_plans", "affair_id")
                        .to("affairs", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_requirement_plans_process")
                        .from("requirement_plans", "process_id")
                        .to("processes", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_requirement_plans_department")
                .table("requirement_plans")
                .col("department_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("requirement_plan_events")
                .col(pk_uuid("id"))
                .col(uuid("plan_id"))
                .col(string_len("kind", 32))
                .col(uuid_null("actor_id"))
                .col(timestamp_with_time_zone("at"))
                .col(text("note"))
                .col(json_binary("data"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_requirement_plan_events_plan")
                        .from("requirement_plan_events", "plan_id")
                        .to("requirement_plans", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_requirement_plan_events_plan")
                .table("requirement_plan_events")
                .col("plan_id")
                .col("at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("requirement_changes")
                .col(pk_uuid("id"))
                .col(uuid("plan_id"))
                .col(uuid_uniq("affair_id"))
                .col(string_len("number", 32))
                .col(uuid("applicant_id"))
                .col(string_len("status", 16))
                .col(text("change_content"))
                .col(text("change_reason"))
                .col(string_len_null("feasibility", 16))
                .col(text_null("assessment"))
                .col(integer_null("estimated_days"))
                .col(uuid_null("assessed_by"))
                .col(timestamp_with_time_zone_null("assessed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_requirement_changes_plan")
                        .from("requirement_changes", "plan_id")
                        .to("requirement_plans", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_requirement_changes_affair")
                        .from("requirement_changes", "affair_id")
                        .to("affairs", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_requirement_changes_plan").table("requirement_changes").col("plan_id").to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("requirement_changes").to_owned()).await?;
        m.drop_table(Table::drop().table("requirement_plan_events").to_owned()).await?;
        m.drop_table(Table::drop().table("requirement_plans").to_owned()).await
    }
}
