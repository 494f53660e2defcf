//! The handler workspace (待办, 已办, 抄送, started by me) with filters and counts, and affair lists
//! scoped by `affair.read` for department administrators and leaders.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tongban_server::entity::task;

use crate::affairs::pending_task;
use crate::db_test;
use crate::helpers::{TestApp, Tokens};

fn enrolment() -> Value {
    json!({ "process_key": "enrolment_certificate", "form": { "purpose": "internship", "copies": 2, "language": "zh" } })
}

fn meeting() -> Value {
    json!({ "process_key": "meeting_room_booking", "form": {
        "topic": "班委会", "room": "xz201", "date": "2026-12-10", "time_slot": "morning", "attendees": 12,
        "contact_phone": "13800138000"
    } })
}

async fn apply(app: &TestApp, who: &Tokens, body: &Value) -> Value {
    app.post("/api/v1/affairs", Some(&who.access), body).await.expect(201).body
}

async fn counts(app: &TestApp, who: &Tokens) -> Value {
    app.get("/api/v1/tasks/counts", Some(&who.access)).await.expect(200).body
}

fn numbers(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["affair_number"].as_str().map(str::to_owned))
        .collect()
}

async fn the_workspace_lists_todo_done_copied_and_started_with_filters_and_counts(app: &TestApp) {
    let student = app.login("student1").await;
    let c1 = app.login("counsellor1").await;
    let teacher = app.login("teacher1").await;
    let a1 = apply(app, &student, &enrolment()).await;
    let a2 = apply(app, &student, &enrolment()).await;
    let n1 = a1["number"].as_str().expect("number").to_owned();
    let n2 = a2["number"].as_str().expect("number").to_owned();
    assert_eq!(counts(app, &c1).await, json!({ "todo": 2, "done": 0, "cc": 0, "started": 0, "overdue": 0 }));
    assert_eq!(counts(app, &student).await["started"], 2);

    // Filters: number, process, overdue; the default order is by due date.
    let one = app.get(&format!("/api/v1/tasks?q={n2}"), Some(&c1.access)).await.expect(200).body;
    assert_eq!(numbers(&one), vec![n2.clone()]);
    let pid = a1["process_id"].as_str().expect("pid");
    let by_process = app.get(&format!("/api/v1/tasks?process_id={pid}"), Some(&c1.access)).await.expect(200).body;
    assert_eq!(by_process["total"], 2);
    let other = uuid::Uuid::now_v7();
    assert_eq!(
        app.get(&format!("/api/v1/tasks?process_id={other}"), Some(&c1.access)).await.expect(200).body["total"],
        0
    );
    assert_eq!(app.get("/api/v1/tasks?overdue=true", Some(&c1.access)).await.expect(200).body["total"], 0);
    // The second affair's task falls overdue.
    let t2: uuid::Uuid = pending_task(&a2).parse().expect("uuid");
    task::Entity::update_many()
        .col_expr(task::Column::DueAt, Expr::value(chrono::Utc::now() - chrono::TimeDelta::hours(2)))
        .filter(task::Column::Id.eq(t2))
        .exec(app.state.db.conn())
        .await
        .expect("update");
    let overdue = app.get("/api/v1/tasks?overdue=true", Some(&c1.access)).await.expect(200).body;
    assert_eq!(numbers(&overdue), vec![n2.clone()]);
    assert_eq!(overdue["items"][0]["overdue"], true);
    let todo = app.get("/api/v1/tasks", Some(&c1.access)).await.expect(200).body;
    assert_eq!(numbers(&todo), vec![n2.clone(), n1.clone()], "soonest due first");
    let todo = app.get("/api/v1/tasks?sort=-due_at", Some(&c1.access)).await.expect(200).body;
    assert_eq!(numbers(&todo), vec![n1.clone(), n2.clone()]);
    app.get("/api/v1/tasks?sort=sideways", Some(&c1.access)).await.expect(400);
    app.get("/api/v1/tasks?status=everything", Some(&c1.access)).await.expect(400);
    let future = "2999-01-01T00:00:00Z";
    assert_eq!(app.get(&format!("/api/v1/tasks?from={future}"), Some(&c1.access)).await.expect(200).body["total"], 0);
    assert_eq!(counts(app, &c1).await["overdue"], 1);

    // CC: the counsellor copies the first affair to teacher1 and approves it.
    let admin = app.login("it_admin").await;
    let teacher_id = app.user_id(&admin, "teacher1").await;
    let t1 = pending_task(&a1);
    app.post(
        &format!("/api/v1/tasks/{t1}/actions"),
        Some(&c1.access),
        &json!({ "action": "cc", "user_ids": [teacher_id] }),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/tasks/{t1}/actions"), Some(&c1.access), &json!({ "action": "approve" }))
        .await
        .expect(200);
    let cc = app.get("/api/v1/tasks?status=cc", Some(&teacher.access)).await.expect(200).body;
    assert_eq!(numbers(&cc), vec![n1.clone()]);
    let row = &cc["items"][0];
    assert!(row["id"].is_null(), "a copied affair, not a task");
    assert_eq!(row["affair_status"], "in_progress");
    assert_eq!(row["node_name"], "学生工作处审核", "where it waits now");
    assert_eq!(row["applicant_name"], "林同学");
    assert_eq!(counts(app, &teacher).await, json!({ "todo": 0, "done": 0, "cc": 1, "started": 0, "overdue": 0 }));
    assert_eq!(app.get("/api/v1/tasks?status=cc", Some(&student.access)).await.expect(200).body["total"], 0);
    assert_eq!(counts(app, &c1).await, json!({ "todo": 1, "done": 1, "cc": 0, "started": 0, "overdue": 1 }));
    let done = app.get("/api/v1/tasks?status=done", Some(&c1.access)).await.expect(200).body;
    assert_eq!(numbers(&done), vec![n1.clone()]);
    assert_eq!(done["items"][0]["result"], "approved");

    // Started by me.
    let started = app.get("/api/v1/tasks?status=started&sort=created_at", Some(&student.access)).await.expect(200).body;
    assert_eq!(numbers(&started), vec![n1.clone(), n2.clone()]);
    assert_eq!(started["items"][1]["node_name"], "辅导员审核");
    assert_eq!(started["items"][1]["overdue"], false, "the affair as a whole is not overdue");
}
db_test!(workspace_lists, the_workspace_lists_todo_done_copied_and_started_with_filters_and_counts);

async fn department_scope_lists_show_the_departments_affairs_only(app: &TestApp) {
    let student = app.login("student1").await;
    let a_xgc = apply(app, &student, &enrolment()).await;
    let a_hq = apply(app, &student, &meeting()).await;
    let (xgc_id, hq_id) = (a_xgc["id"].as_str().expect("id"), a_hq["id"].as_str().expect("id"));
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect()
    };

    // 学工处's administrator: the affair 学工处 handles, not the 后勤保卫处 one.
    let xgc = app.login("xgc_admin").await;
    let list = app.get("/api/v1/affairs?scope=department", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(ids(&list), vec![xgc_id.to_owned()]);
    assert_eq!(list["items"][0]["applicant_name"], "林同学");
    assert_eq!(list["items"][0]["process_name"], "在读证明");
    let view = app.get(&format!("/api/v1/affairs/{xgc_id}"), Some(&xgc.access)).await.expect(200).body;
    assert_eq!(view["form"]["copies"], 2, "supervisors see the whole form");
    app.get(&format!("/api/v1/affairs/{hq_id}"), Some(&xgc.access)).await.expect(404);
    let hq = app.login("hqbwc_admin").await;
    let list = app.get("/api/v1/affairs?scope=department", Some(&hq.access)).await.expect(200).body;
    assert_eq!(ids(&list), vec![hq_id.to_owned()]);
    // 教务处's administrator: neither.
    let jwc = app.login("jwc_admin").await;
    assert_eq!(app.get("/api/v1/affairs?scope=all", Some(&jwc.access)).await.expect(200).body["total"], 0);
    // The 分管院领导 of 学工处 and the colleges: both (one handled by 学工处, both applied for from
    // a college class).
    let vp = app.login("vp_student").await;
    let list = app.get("/api/v1/affairs?scope=department&sort=created_at", Some(&vp.access)).await.expect(200).body;
    assert_eq!(ids(&list), vec![xgc_id.to_owned(), hq_id.to_owned()]);
    // The IT office reads everything; filters narrow it.
    let it = app.login("it_admin").await;
    let all = app.get("/api/v1/affairs?scope=all", Some(&it.access)).await.expect(200).body;
    assert_eq!(all["total"], 2);
    let pid = a_hq["process_id"].as_str().expect("pid");
    let hq_only =
        app.get(&format!("/api/v1/affairs?scope=all&process_id={pid}"), Some(&it.access)).await.expect(200).body;
    assert_eq!(ids(&hq_only), vec![hq_id.to_owned()]);
    let submitted = app.get("/api/v1/affairs?scope=all&status=completed", Some(&it.access)).await.expect(200).body;
    assert_eq!(submitted["total"], 0);
    // Handlers without affair.read, and applicants, get 403 for these scopes.
    for who in ["counsellor1", "student1", "teacher1"] {
        let t = app.login(who).await;
        app.get("/api/v1/affairs?scope=department", Some(&t.access)).await.expect(403).code();
    }
    app.get("/api/v1/affairs?scope=everyone", Some(&student.access)).await.expect(400);

    // Reads of someone else's affair are audited.
    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?action=affair.read&object_id={xgc_id}"), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    assert_eq!(logs["total"], 1);
    assert_eq!(logs["items"][0]["actor_name"], "xgc_admin");
}
db_test!(department_scope, department_scope_lists_show_the_departments_affairs_only);
