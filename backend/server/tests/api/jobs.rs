//! Service calls run from the shared job table: once each, even with two server instances.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

fn notify_definition(admin: &str) -> Value {
    json!({
        "key": "notice", "name": "通知",
        "nodes": [
            { "id": "start", "name": "提交", "kind": { "type": "start" } },
            { "id": "notify", "name": "发送通知", "kind": { "type": "service_task", "call": { "type": "notify", "template": "received" } } },
            { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } }
        ],
        "flows": [ { "id": "f1", "from": "start", "to": "notify" }, { "id": "f2", "from": "notify", "to": "end" } ],
        "admins": [ admin ]
    })
}

async fn publish(app: &TestApp, key: &str, definition: Value) {
    let admin = app.login("it_admin").await;
    let p = app
        .post(
            "/api/v1/processes",
            Some(&admin.access),
            &json!({ "key": key, "name": "通知", "definition": definition, "form": { "fields": [] } }),
        )
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/processes/{id}/versions"),
        Some(&admin.access),
        &json!({ "status": "online", "version": p["version"] }),
    )
    .await
    .expect(201);
}

async fn two_instances_run_each_service_call_once(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    publish(app, "notice", notify_definition(me["user"]["id"].as_str().expect("id"))).await;

    // A second instance on the same database, with its own job runner.
    let mut settings = (*app.state.settings).clone();
    settings.listen = "127.0.0.1:0".into();
    let second = tongban_server::startup::Application::build(settings).await.expect("second instance");
    let server = second.into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let student = app.login("student1").await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let a = app
            .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "notice", "form": {} }))
            .await
            .expect(201)
            .body;
        ids.push(a["id"].as_str().expect("id").to_owned());
    }
    // Wait (bounded) until every affair has completed and every job is marked done (a job is
    // marked done just after the transaction that reports its result).
    use sea_orm::EntityTrait;
    let all_done = || async {
        let jobs = tongban_server::entity::job::Entity::find().all(app.state.db.conn()).await.expect("jobs");
        // A service call and then an archive package per affair.
        jobs.len() == 40 && jobs.iter().all(|j| j.done_at.is_some())
    };
    let mut completed = 0;
    for _ in 0..100 {
        completed = 0;
        for id in &ids {
            let a = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
            if a["status"] == "completed" {
                completed += 1;
            }
        }
        if completed == ids.len() && all_done().await {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    handle.stop(true).await;
    assert_eq!(completed, ids.len(), "every service call was performed");

    let jobs = tongban_server::entity::job::Entity::find().all(app.state.db.conn()).await.expect("jobs");
    assert_eq!(jobs.iter().filter(|j| j.kind == "service_call").count(), 20);
    assert_eq!(jobs.iter().filter(|j| j.kind == "archive").count(), 20);
    // One package per affair, whichever instance made it.
    let archives = tongban_server::entity::archive::Entity::find().all(app.state.db.conn()).await.expect("archives");
    let packed: std::collections::HashSet<String> = archives.iter().map(|a| a.affair_id.to_string()).collect();
    assert_eq!(archives.len(), 20);
    assert_eq!(packed, ids.iter().cloned().collect());
    assert!(
        jobs.iter().all(|j| j.done_at.is_some() && j.attempts == 1),
        "each job ran exactly once: {:?}",
        jobs.iter().map(|j| (j.attempts, j.done_at.is_some(), j.last_error.clone())).collect::<Vec<_>>()
    );
    for id in &ids {
        let a = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
        let results = a["history"]
            .as_array()
            .expect("history")
            .iter()
            .filter(|h| h["action"] == "service_succeeded" || h["action"] == "service_failed")
            .count();
        assert_eq!(results, 1, "one service result per affair: {}", a["history"]);
    }
}
db_test!(service_calls_once_across_instances, two_instances_run_each_service_call_once);

async fn unavailable_services_hand_the_affair_to_the_process_administrators(app: &TestApp) {
    // 在读证明 whose certificate type has been withdrawn: the service step cannot issue, so it
    // fails over to the process administrators, who finish it by hand.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tongban_server::entity::certificate_type;
    certificate_type::Entity::delete_many()
        .filter(certificate_type::Column::Code.eq("enrolment"))
        .exec(app.state.db.conn())
        .await
        .expect("withdraw the type");
    let student = app.login("student1").await;
    let form = json!({ "purpose": "internship", "copies": 1, "language": "zh" });
    let r = app
        .post(
            "/api/v1/affairs",
            Some(&student.access),
            &json!({ "process_key": "enrolment_certificate", "form": form }),
        )
        .await;
    let affair = if r.status.as_u16() == 201 { r.body } else { panic!("apply failed: {}", r.body) };
    let id = affair["id"].as_str().expect("id").to_owned();
    for who in ["counsellor1", "xgc_admin"] {
        let t = app.login(who).await;
        let a = app.get(&format!("/api/v1/affairs/{id}"), Some(&t.access)).await.expect(200).body;
        let task =
            a["tasks"].as_array().expect("tasks").iter().find(|t| t["status"] == "pending").expect("pending")["id"]
                .as_str()
                .expect("id")
                .to_owned();
        app.post(
            &format!("/api/v1/tasks/{task}/actions"),
            Some(&t.access),
            &json!({ "action": "approve", "comment": "同意" }),
        )
        .await
        .expect(200);
    }
    let admin = app.login("it_admin").await;
    let mut task = None;
    for _ in 0..100 {
        let todo = app.get("/api/v1/tasks", Some(&admin.access)).await.expect(200).body;
        if let Some(t) = todo["items"].as_array().expect("items").iter().find(|t| t["affair_id"] == id.as_str()) {
            task = Some(t.clone());
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let task = task.expect("the administrators got a task");
    assert_eq!(task["kind"], "service_failure");
    // Both administrators of the process can take it: one claims, then handles it.
    let claimed = app
        .post(
            &format!("/api/v1/tasks/{}/actions", task["id"].as_str().expect("id")),
            Some(&admin.access),
            &json!({ "action": "claim" }),
        )
        .await
        .expect(200)
        .body;
    let admin_id = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body["user"]["id"].clone();
    let mine = claimed["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["status"] == "pending" && t["assignee_id"] == admin_id)
        .expect("claimed task")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let done = app
        .post(
            &format!("/api/v1/tasks/{mine}/actions"),
            Some(&admin.access),
            &json!({ "action": "approve", "comment": "已线下出具" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
}
db_test!(service_failure_goes_to_admins, unavailable_services_hand_the_affair_to_the_process_administrators);
