//! Supervision (第三条, 第十四条): figures per department and process, yellow and red cards, the
//! violations register, the quarterly assessment and the XLSX export, each within the caller's reach.

use std::io::Read;

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::{affair, task};

use crate::affairs::pending_task;
use crate::db_test;
use crate::helpers::{TestApp, Tokens};

fn leave(days: u32) -> Value {
    json!({ "process_key": "student_leave", "form": {
        "leave_type": "personal", "period": { "start": "2026-12-07", "end": "2026-12-08" }, "days": days,
        "reason": "家中有事", "leave_campus": "no", "emergency_contact": "林父", "emergency_phone": "13800138000"
    } })
}

async fn apply(app: &TestApp, who: &Tokens) -> Value {
    app.post("/api/v1/affairs", Some(&who.access), &leave(2)).await.expect(201).body
}

async fn act(app: &TestApp, who: &Tokens, affair: &Value, body: Value) -> Value {
    let task = pending_task(affair);
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&who.access), &body).await.expect(200).body
}

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array().expect("rows").iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no row {name}: {rows}"))
}

async fn figures_count_what_happened_within_the_callers_reach(app: &TestApp) {
    let student = app.login("student1").await;
    let c1 = app.login("counsellor1").await;
    let done = apply(app, &student).await;
    act(app, &c1, &done, json!({ "action": "approve", "comment": "同意" })).await;
    let refused = apply(app, &student).await;
    act(app, &c1, &refused, json!({ "action": "reject", "comment": "理由不充分" })).await;
    let returned = apply(app, &student).await;
    act(app, &c1, &returned, json!({ "action": "return", "comment": "请补充说明" })).await;
    let id = done["id"].as_str().expect("id");
    app.post(&format!("/api/v1/affairs/{id}/rating"), Some(&student.access), &json!({ "score": 2, "comment": "太慢" }))
        .await
        .expect(201);

    let admin = app.login("it_admin").await;
    let o = app.get("/api/v1/stats/overview", Some(&admin.access)).await.expect(200).body;
    let p = row(&o["processes"], "学生请假");
    assert_eq!(
        [&p["submitted"], &p["completed"], &p["rejected"], &p["withdrawn"], &p["returns"], &p["open_now"]],
        [&json!(3), &json!(1), &json!(1), &json!(0), &json!(1), &json!(1)],
        "{p}"
    );
    assert_eq!((p["on_time"].as_u64(), p["on_time_rate"].as_f64()), (Some(2), Some(1.0)));
    assert_eq!((p["satisfaction"].as_f64(), p["ratings"].as_u64()), (Some(2.0), Some(1)));
    assert_eq!(p["violations"], 1, "a rating of 2 is a complaint");
    assert!(p["median_days"].as_f64().is_some_and(|d| (0.0..1.0).contains(&d)), "{p}");
    let d = row(&o["departments"], "学生工作处");
    assert_eq!(d["submitted"], 3);
    assert_eq!(o["total"]["submitted"], 3);
    let by_day: u64 = o["days"].as_array().expect("days").iter().map(|d| d["submitted"].as_u64().expect("n")).sum();
    assert_eq!(by_day, 3);
    assert_eq!(o["days"].as_array().expect("days").len(), 30);

    // A department administrator sees their department's figures, another department none of them.
    let xgc = app.login("xgc_admin").await;
    let mine = app.get("/api/v1/stats/overview", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(mine["total"]["submitted"], 3);
    let jwc = app.login("jwc_admin").await;
    let theirs = app.get("/api/v1/stats/overview", Some(&jwc.access)).await.expect(200).body;
    assert_eq!(theirs["total"]["submitted"], 0);
    let xgc_id = app.department("xgc").await["id"].as_str().expect("id").to_owned();
    app.get(&format!("/api/v1/stats/overview?department_id={xgc_id}"), Some(&jwc.access)).await.expect(403);
    app.get("/api/v1/stats/overview", Some(&student.access)).await.expect(403);
    app.get("/api/v1/stats/overview?from=2026-12-02&to=2026-11-01", Some(&admin.access)).await.expect(400);
    // An empty period counts nothing.
    let old =
        app.get("/api/v1/stats/overview?from=2020-01-01&to=2020-01-31", Some(&admin.access)).await.expect(200).body;
    assert_eq!(old["total"]["submitted"], 0);

    // The workbook has the department and process sheets with the figures.
    let (status, headers, bytes) = app.get_bytes("/api/v1/stats/export.xlsx", Some(&xgc.access)).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("spreadsheetml")));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX is a zip");
    let mut book = String::new();
    zip.by_name("xl/workbook.xml").expect("workbook").read_to_string(&mut book).expect("read");
    assert!(book.contains("部门统计") && book.contains("事项统计") && book.contains("督办牌"), "{book}");
    let mut strings = String::new();
    zip.by_name("xl/sharedStrings.xml").expect("strings").read_to_string(&mut strings).expect("read");
    assert!(strings.contains("学生请假") && strings.contains("学生工作处"));
    assert_eq!(app.get_bytes("/api/v1/stats/export.xlsx", Some(&student.access)).await.0, 403);
}
db_test!(figures, figures_count_what_happened_within_the_callers_reach);

/// Move a task's clock back: created `created_days` ago, due `due_hours` from now (negative: past).
async fn age(app: &TestApp, task_id: &str, created_days: i64, due_hours: i64) {
    let id: uuid::Uuid = task_id.parse().expect("uuid");
    let t = Utc::now();
    task::Entity::update_many()
        .col_expr(task::Column::CreatedAt, Expr::value(t - TimeDelta::days(created_days)))
        .col_expr(task::Column::DueAt, Expr::value(t + TimeDelta::hours(due_hours)))
        .filter(task::Column::Id.eq(id))
        .exec(app.state.db.conn())
        .await
        .expect("age the task");
}

async fn cards(app: &TestApp, who: &Tokens, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/stats/cards?{query}"), Some(&who.access)).await.expect(200).body;
    r["items"].as_array().expect("items").clone()
}

async fn cards_and_violations_follow_time_limits(app: &TestApp) {
    let student = app.login("student1").await;
    let late = apply(app, &student).await;
    let nearly = apply(app, &student).await;
    let fresh = apply(app, &student).await;
    // One task a month overdue (and its affair), one at 99 % of its time, one just begun.
    age(app, &pending_task(&late), 40, -24 * 30).await;
    // The affair's own limit passed a month ago too, in its row and in its engine state.
    let late_id: uuid::Uuid = late["id"].as_str().expect("id").parse().expect("uuid");
    let stored = affair::Entity::find_by_id(late_id).one(app.state.db.conn()).await.expect("load").expect("affair");
    let due = Utc::now() - TimeDelta::days(30);
    let mut state = stored.state.clone();
    state["due_at"] = json!(due);
    affair::Entity::update_many()
        .col_expr(affair::Column::DueAt, Expr::value(due))
        .col_expr(affair::Column::State, Expr::value(state))
        .filter(affair::Column::Id.eq(late_id))
        .exec(app.state.db.conn())
        .await
        .expect("age the affair");
    age(app, &pending_task(&nearly), 30, 1).await;
    tongban_server::services::supervision::sweep(&app.state).await.expect("sweep");
    // A second sweep (or another instance's) issues nothing again.
    assert_eq!(tongban_server::services::supervision::sweep(&app.state).await.expect("sweep"), 0);

    let xgc = app.login("xgc_admin").await;
    let all = cards(app, &xgc, "page_size=100").await;
    let of = |a: &Value, kind: &str, subject: &str| {
        all.iter().filter(|c| c["affair_id"] == a["id"] && c["kind"] == kind && c["subject"] == subject).count()
    };
    assert_eq!((of(&late, "yellow", "task"), of(&late, "red", "task")), (1, 1));
    assert_eq!((of(&late, "yellow", "affair"), of(&late, "red", "affair")), (1, 1));
    assert_eq!((of(&nearly, "yellow", "task"), of(&nearly, "red", "task")), (1, 0));
    assert!(all.iter().all(|c| c["affair_id"] != fresh["id"]), "nothing for a task just begun");
    let red = cards(app, &xgc, "kind=red").await;
    assert!(red.iter().all(|c| c["kind"] == "red") && red.len() == 2);
    let on_task = red.iter().find(|c| c["subject"] == "task").expect("task card");
    assert_eq!(
        (on_task["handler"]["name"].as_str(), on_task["node_name"].as_str()),
        (Some("李辅导"), Some("辅导员审批"))
    );
    let jwc = app.login("jwc_admin").await;
    assert!(cards(app, &jwc, "").await.is_empty(), "another department's cards are not in reach");

    // Handling the task resolves its cards.
    let c1 = app.login("counsellor1").await;
    act(app, &c1, &late, json!({ "action": "approve", "comment": "同意" })).await;
    tongban_server::services::supervision::sweep(&app.state).await.expect("sweep");
    let open = cards(app, &xgc, "open=true&page_size=100").await;
    assert!(open.iter().all(|c| c["affair_id"] != late["id"]), "{open:?}");
    let o = app.get("/api/v1/stats/overview", Some(&xgc.access)).await.expect(200).body;
    let p = row(&o["processes"], "学生请假");
    assert_eq!((p["yellow_cards"].as_u64(), p["red_cards"].as_u64()), (Some(3), Some(2)));
    assert_eq!(p["on_time"], 0, "the late affair ended after its limit");

    // The task a month overdue is in the violations register; so is an administrator overriding a
    // handler. The discipline office reads and handles them; departments read theirs.
    let admin = app.login("it_admin").await;
    let c2 = app.user_id(&admin, "counsellor2").await;
    act(app, &admin, &nearly, json!({ "action": "transfer", "user_ids": [c2], "comment": "辅导员出差" })).await;
    let inspector = app.login("inspector").await;
    let reg = app.get("/api/v1/stats/violations", Some(&inspector.access)).await.expect(200).body;
    let kinds: Vec<&str> = reg["items"].as_array().expect("items").iter().filter_map(|v| v["kind"].as_str()).collect();
    assert!(kinds.contains(&"overdue") && kinds.contains(&"override"), "{kinds:?}");
    let overdue =
        reg["items"].as_array().expect("items").iter().find(|v| v["kind"] == "overdue").expect("overdue").clone();
    assert_eq!(overdue["user"]["name"], "李辅导");
    let overridden =
        reg["items"].as_array().expect("items").iter().find(|v| v["kind"] == "override").expect("o").clone();
    assert_eq!(overridden["user"]["name"], "李辅导");
    assert_eq!(app.get("/api/v1/stats/violations", Some(&xgc.access)).await.expect(200).body["total"], reg["total"]);
    assert_eq!(app.get("/api/v1/stats/violations", Some(&jwc.access)).await.expect(200).body["total"], 0);
    app.get("/api/v1/stats/violations", Some(&student.access)).await.expect(403);

    let url = format!("/api/v1/stats/violations/{}/handle", overdue["id"].as_str().expect("id"));
    let body = json!({ "note": "已约谈，责令改正", "version": overdue["version"] });
    app.post(&url, Some(&xgc.access), &body).await.expect(403);
    app.post(&url, Some(&inspector.access), &json!({ "note": "  ", "version": overdue["version"] })).await.expect(400);
    let handled = app.post(&url, Some(&inspector.access), &body).await.expect(200).body;
    assert_eq!(
        (handled["status"].as_str(), handled["handled_by"]["name"].as_str()),
        (Some("handled"), Some("纪委督查员"))
    );
    app.post(&url, Some(&inspector.access), &body).await.expect(409);
    let open =
        app.get("/api/v1/stats/violations?status=open&kind=overdue", Some(&inspector.access)).await.expect(200).body;
    assert_eq!(open["total"], 0);

    // A complaint received by phone is registered against an affair by its number.
    let c = json!({ "affair_number": fresh["number"], "detail": "电话投诉：辅导员态度差" });
    app.post("/api/v1/stats/violations", Some(&xgc.access), &c).await.expect(403);
    let v = app.post("/api/v1/stats/violations", Some(&inspector.access), &c).await.expect(201).body;
    assert_eq!((v["kind"].as_str(), v["department_name"].as_str()), (Some("complaint"), Some("学生工作处")));
    let bad = json!({ "affair_number": "SW1900010100001", "detail": "无此事务" });
    app.post("/api/v1/stats/violations", Some(&inspector.access), &bad).await.expect(400);
}
db_test!(cards_and_violations, cards_and_violations_follow_time_limits);

async fn the_quarter_ranks_departments(app: &TestApp) {
    let student = app.login("student1").await;
    let c1 = app.login("counsellor1").await;
    let a = apply(app, &student).await;
    act(app, &c1, &a, json!({ "action": "approve", "comment": "同意" })).await;
    let inspector = app.login("inspector").await;
    let today = Utc::now() + TimeDelta::hours(8);
    let quarter = (chrono::Datelike::month(&today) - 1) / 3 + 1;
    let year = chrono::Datelike::year(&today);
    let q = app
        .get(&format!("/api/v1/stats/assessment?year={year}&quarter={quarter}"), Some(&inspector.access))
        .await
        .expect(200)
        .body;
    let first = &q["departments"][0];
    assert_eq!((first["rank"].as_u64(), first["name"].as_str()), (Some(1), Some("学生工作处")));
    assert_eq!(first["completed"], 1);
    app.get(&format!("/api/v1/stats/assessment?year={year}&quarter=5"), Some(&inspector.access)).await.expect(400);
}
db_test!(assessment, the_quarter_ranks_departments);
