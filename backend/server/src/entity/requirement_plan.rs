//! `requirement_plans`: a department's request to have an online process built (网上办事流程建设需求计划),
//! linked to its approval affair and to the process it becomes.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "requirement_plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub affair_id: Uuid,
    pub number: String,
    pub applicant_id: Uuid,
    pub department_id: Uuid,
    pub process_name: String,
    #[sea_orm(unique)]
    pub open_key: Option<String>,
    pub status: String,
    pub has_leader_steps: bool,
    #[sea_orm(unique)]
    pub process_id: Option<Uuid>,
    pub testers: Json,
    pub scheme: Option<String>,
    pub planned_online_on: Option<String>,
    pub business_owner_id: Option<Uuid>,
    pub technical_owner_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub approved_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
