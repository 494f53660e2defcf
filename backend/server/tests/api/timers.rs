//! Notifications from the workflow, and time-limit timers: reminders, overdue marks, escalation.

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::task;
use tongban_server::services::timers::sweep;

use crate::affairs::{leave_request, pending_task, publish_leave};
use crate::db_test;
use crate::helpers::TestApp;

async fn kinds(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get("/api/v1/notifications?page_size=100", Some(token)).await.expect(200).body;
    r["items"].as_array().expect("items").iter().filter_map(|n| n["kind"].as_str().map(str::to_owned)).collect()
}

async fn handlers_and_applicants_are_told_what_happens(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = app.post("/api/v1/affairs", Some(&student.access), &leave_request()).await.expect(201).body;
    let c1 = app.login("counsellor1").await;
    let list = app.get("/api/v1/notifications?unread=true", Some(&c1.access)).await.expect(200).body;
    assert_eq!(list["total"], 1);
    let n: &Value = &list["items"][0];
    assert_eq!(n["kind"], "task_created");
    assert_eq!(n["affair_id"], affair["id"]);
    let id = n["id"].as_str().expect("id");
    // Only its owner reads it.
    app.post(&format!("/api/v1/notifications/{id}/read"), Some(&student.access), &json!({})).await.expect(404);
    let read =
        app.post(&format!("/api/v1/notifications/{id}/read"), Some(&c1.access), &json!({})).await.expect(200).body;
    assert!(read["read_at"].is_string());
    assert_eq!(app.get("/api/v1/notifications?unread=true", Some(&c1.access)).await.expect(200).body["total"], 0);

    let task = pending_task(&affair);
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&c1.access), &json!({ "action": "approve" }))
        .await
        .expect(200);
    assert!(kinds(app, &student.access).await.contains(&"finished".to_owned()));
}
db_test!(workflow_notifications, handlers_and_applicants_are_told_what_happens);

async fn reminders_and_overdue_escalation_fire_once(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = app.post("/api/v1/affairs", Some(&student.access), &leave_request()).await.expect(201).body;
    let task_id: uuid::Uuid = pending_task(&affair).parse().expect("uuid");
    let db = app.state.db.conn();
    let set_times = |created: TimeDelta, due: TimeDelta| {
        let now = Utc::now();
        task::Entity::update_many()
            .col_expr(task::Column::CreatedAt, Expr::value(now + created))
            .col_expr(task::Column::DueAt, Expr::value(now + due))
            .filter(task::Column::Id.eq(task_id))
            .exec(db)
    };

    // Not yet 80 % of its time: nothing fires.
    set_times(TimeDelta::hours(-1), TimeDelta::hours(9)).await.expect("update");
    assert_eq!(sweep(&app.state).await.expect("sweep"), 0);
    // Past 80 %: one reminder, even with two sweeps at once (two server instances).
    set_times(TimeDelta::hours(-9), TimeDelta::hours(1)).await.expect("update");
    let (a, b) = futures_util::future::join(sweep(&app.state), sweep(&app.state)).await;
    assert_eq!(a.expect("sweep") + b.expect("sweep"), 1);
    assert_eq!(sweep(&app.state).await.expect("sweep"), 0);
    let c1 = app.login("counsellor1").await;
    assert_eq!(kinds(app, &c1.access).await.iter().filter(|k| *k == "task_due_soon").count(), 1);

    // Overdue: marked once, the handler told, and escalated to the counsellor's leader (the
    // 分管院领导 of 环境工程学院, which has no head) and the process administrators.
    set_times(TimeDelta::hours(-11), TimeDelta::minutes(-1)).await.expect("update");
    let (a, b) = futures_util::future::join(sweep(&app.state), sweep(&app.state)).await;
    assert_eq!(a.expect("sweep") + b.expect("sweep"), 1);
    assert!(kinds(app, &c1.access).await.contains(&"task_overdue".to_owned()));
    for who in ["vp_student", "it_admin"] {
        let t = app.login(who).await;
        assert_eq!(kinds(app, &t.access).await.iter().filter(|k| *k == "task_overdue_escalated").count(), 1, "{who}");
    }
    let todo = app.get("/api/v1/tasks", Some(&c1.access)).await.expect(200).body;
    assert_eq!(todo["items"][0]["overdue"], true);
    let auditor = app.login("auditor").await;
    let logs = app.get("/api/v1/audit-logs?action=task.overdue", Some(&auditor.access)).await.expect(200).body;
    assert_eq!(logs["total"], 1);
}
db_test!(timers_fire_once, reminders_and_overdue_escalation_fire_once);
