//! `requirement_changes`: a change request (需求变更申请) to an approved requirement plan, with the IT
//! office's technical feasibility assessment (第八条).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "requirement_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    #[sea_orm(unique)]
    pub affair_id: Uuid,
    pub number: String,
    pub applicant_id: Uuid,
    pub status: String,
    pub change_content: String,
    pub change_reason: String,
    pub feasibility: Option<String>,
    pub assessment: Option<String>,
    pub estimated_days: Option<i32>,
    pub assessed_by: Option<Uuid>,
    pub assessed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
