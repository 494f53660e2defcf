//! `supervision_cards`: electronic supervision (电子督办): a yellow card (黄牌) when a task or an affair
//! passes 90 % of its time limit, a red card (红牌) when it is overdue.
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "supervision_cards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    #[sea_orm(unique)]
    pub subject_key: String,
    pub affair_id: Uuid,
    pub task_id: Option<Uuid>,
    pub process_id: Uuid,
    pub department_id: Option<Uuid>,
    pub handler_id: Option<Uuid>,
    pub node_name: String,
    pub due_at: Option<DateTimeUtc>,
    pub issued_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
