//! `requirement_plan_events`: one recorded step of a requirement plan (who, when, what).
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "requirement_plan_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub at: DateTimeUtc,
    pub note: String,
    pub data: Json,
}

impl ActiveModelBehavior for ActiveModel {}
