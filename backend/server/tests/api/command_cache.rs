//! Each instance keeps the department tree, the positions and the working-day calendar that its
//! commands read; a change to them is in force for the very next command on every instance,
//! whether it was made through another instance or in the database directly.

use chrono::{Datelike, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Statement};
use serde_json::{Value, json};
use tongban_server::entity::{holiday_year, position};

use crate::db_test;
use crate::helpers::{TestApp, Tokens};

async fn counters(app: &TestApp) -> (i64, i64) {
    let db = app.state.db.conn();
    let sql = "SELECT version, calendar FROM authz_version WHERE id = 1";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("the counters' row");
    (row.try_get("", "version").expect("version"), row.try_get("", "calendar").expect("calendar"))
}

/// Apply for 在读证明 on `app`: the pending task of the new affair (the counsellor's).
async fn apply(app: &TestApp, student: &Tokens) -> Value {
    let body =
        json!({ "process_key": "enrolment_certificate", "form": { "purpose": "visa", "copies": 1, "language": "en" } });
    let a = app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201).body;
    let tasks = a["tasks"].as_array().expect("tasks");
    tasks.iter().find(|t| t["status"] == "pending").expect("a pending task").clone()
}

async fn commands_follow_every_change_on_every_instance(app: &TestApp) {
    let (other, handle) = app.second_instance().await;

    let admin = app.login("it_admin").await;
    let student = app.login("student1").await;
    let first = app.user_id(&admin, "counsellor1").await;
    let next = app.user_id(&admin, "counsellor2").await;

    // Both instances load (and keep) the tree and the calendar: the class counsellor gets the task,
    // due the next working day.
    let mut due_before = Vec::new();
    for i in [app, &other] {
        let t = apply(i, &student).await;
        assert_eq!(t["assignee_id"], first.as_str(), "{t}");
        let due = t["due_at"].as_str().expect("a due date").parse::<chrono::DateTime<Utc>>().expect("a date");
        assert!(due < Utc::now() + TimeDelta::days(10), "one working day: {due}");
        due_before.push(due);
    }

    // The class gets another counsellor in the database itself (a DBA, a restore).
    let (org, cal) = counters(app).await;
    let db = app.state.db.conn();
    let first_uuid: uuid::Uuid = first.parse().expect("uuid");
    let next_uuid: uuid::Uuid = next.parse().expect("uuid");
    let moved = position::Entity::update_many()
        .col_expr(position::Column::UserId, Expr::value(next_uuid))
        .filter(position::Column::UserId.eq(first_uuid))
        .filter(position::Column::Kind.eq("counsellor"))
        .exec(db)
        .await
        .expect("hand the class over");
    assert_eq!(moved.rows_affected, 1);
    let (org_after, cal_after) = counters(app).await;
    assert!(org_after > org, "a position change moves the organisation's counter");
    assert_eq!(cal_after, cal, "and not the calendar's");
    for i in [&other, app] {
        assert_eq!(apply(i, &student).await["assignee_id"], next.as_str(), "the next command sees the new counsellor");
    }

    // The next six weeks become days off, again in the database: due dates move past them.
    let today = (Utc::now() + TimeDelta::hours(8)).date_naive();
    let days_off: Vec<String> = (0..42).map(|d| (today + TimeDelta::days(d)).to_string()).collect();
    let data = json!({ "year": today.year(), "holidays": [{ "name": "测试停课", "days_off": days_off }] });
    holiday_year::ActiveModel {
        year: Set(today.year()),
        data: Set(data),
        version: Set(1),
        updated_by: Set(None),
        updated_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .expect("a year of the database's own");
    assert!(counters(app).await.1 > cal_after, "a holiday year moves the calendar's counter");
    for (i, before) in [app, &other].into_iter().zip(due_before) {
        let t = apply(i, &student).await;
        let due = t["due_at"].as_str().expect("a due date").parse::<chrono::DateTime<Utc>>().expect("a date");
        assert!(due > Utc::now() + TimeDelta::days(40), "due after the days off: {due} (was {before})");
    }
    handle.stop(true).await;
}
db_test!(commands_follow_changes, commands_follow_every_change_on_every_instance);
