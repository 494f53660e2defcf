//! Applying and handling: affairs on published versions, task actions, concurrency, idempotency.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, Tokens};
use crate::processes::{leave_definition, leave_form};

/// it_admin creates the leave process owned by 学工处 and publishes it (online, or as a trial for
/// `testers`). Returns the process id.
pub(crate) async fn publish_leave(app: &TestApp, testers: Option<Vec<String>>) -> String {
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let admin_id = me["user"]["id"].as_str().expect("id").to_owned();
    let dept = app.department("xgc").await;
    let p = app
        .post(
            "/api/v1/processes",
            Some(&admin.access),
            &json!({ "key": "leave", "name": "学生请假", "department_id": dept["id"], "definition": leave_definition(&admin_id), "form": leave_form() }),
        )
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().expect("id").to_owned();
    let body = match testers {
        Some(t) => json!({ "status": "trial", "testers": t, "version": p["version"] }),
        None => json!({ "status": "online", "version": p["version"] }),
    };
    app.post(&format!("/api/v1/processes/{id}/versions"), Some(&admin.access), &body).await.expect(201);
    id
}

pub(crate) fn leave_request() -> Value {
    json!({ "process_key": "leave", "form": { "days": 2, "reason": "回家探亲" } })
}

async fn apply(app: &TestApp, who: &Tokens) -> Value {
    app.post("/api/v1/affairs", Some(&who.access), &leave_request()).await.expect(201).body
}

pub(crate) fn pending_task(affair: &Value) -> String {
    affair["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["status"] == "pending")
        .and_then(|t| t["id"].as_str())
        .expect("a pending task")
        .to_owned()
}

async fn an_application_reaches_the_counsellor_and_completes(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = apply(app, &student).await;
    let number = affair["number"].as_str().expect("number");
    assert!(
        number.starts_with("SW") && number.len() == 15 && number[2..].chars().all(|c| c.is_ascii_digit()),
        "{number}"
    );
    assert_eq!(affair["status"], "submitted");
    assert_eq!(affair["process_version"], 1);
    assert!(affair["allowed_actions"].as_array().expect("actions").contains(&json!("withdraw")));
    let task_id = pending_task(&affair);
    let c1_id = app.user_id(&app.login("it_admin").await, "counsellor1").await;
    assert_eq!(affair["tasks"][0]["assignee_id"], c1_id.as_str(), "the 辅导员 of student1's class");
    assert!(affair["tasks"][0]["due_at"].is_string(), "a working-day due date");

    // The counsellor sees it; the other class's counsellor and other students do not.
    let c1 = app.login("counsellor1").await;
    let todo = app.get("/api/v1/tasks", Some(&c1.access)).await.expect(200).body;
    assert_eq!(todo["total"], 1);
    assert_eq!(todo["items"][0]["affair_number"], number);
    let c2 = app.login("counsellor2").await;
    assert_eq!(app.get("/api/v1/tasks", Some(&c2.access)).await.expect(200).body["total"], 0);
    let id = affair["id"].as_str().expect("id");
    app.get(&format!("/api/v1/affairs/{id}"), Some(&app.login("student2").await.access)).await.expect(404);
    let r = app
        .post(&format!("/api/v1/tasks/{task_id}/actions"), Some(&c2.access), &json!({ "action": "approve" }))
        .await
        .expect(404);
    r.code();

    // Only editable fields may be changed by the handler.
    let r = app
        .post(
            &format!("/api/v1/tasks/{task_id}/actions"),
            Some(&c1.access),
            &json!({ "action": "approve", "form_patch": { "days": 9 } }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "field_not_editable");
    let done = app
        .post(
            &format!("/api/v1/tasks/{task_id}/actions"),
            Some(&c1.access),
            &json!({ "action": "approve", "comment": "同意", "form_patch": { "counsellor_opinion": "情况属实，同意" } }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["form"]["counsellor_opinion"], "情况属实，同意");
    let actions: Vec<&str> =
        done["history"].as_array().expect("history").iter().filter_map(|h| h["action"].as_str()).collect();
    assert!(actions.contains(&"submitted") && actions.contains(&"approved"), "{actions:?}");
    assert!(done["history"].as_array().expect("h").iter().any(|h| h["comment"] == "同意"));
    let r = app
        .post(&format!("/api/v1/tasks/{task_id}/actions"), Some(&c1.access), &json!({ "action": "approve" }))
        .await
        .expect(409);
    assert_eq!(r.code(), "task_already_handled");
    let done_list = app.get("/api/v1/tasks?status=done", Some(&c1.access)).await.expect(200).body;
    assert_eq!(done_list["total"], 1);
    let mine = app.get("/api/v1/affairs", Some(&student.access)).await.expect(200).body;
    assert_eq!(mine["items"][0]["status"], "completed");

    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?object_type=affair&object_id={id}"), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    let recorded: Vec<&str> =
        logs["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(recorded, vec!["task.approve", "affair.submit"]);
}
db_test!(apply_and_approve, an_application_reaches_the_counsellor_and_completes);

async fn fifty_concurrent_approvals_let_exactly_one_through(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = apply(app, &student).await;
    let task_id = pending_task(&affair);
    let c1 = app.login("counsellor1").await;
    let url = format!("/api/v1/tasks/{task_id}/actions");
    let body = json!({ "action": "approve", "comment": "同意" });
    let results = futures_util::future::join_all((0..50).map(|_| app.post(&url, Some(&c1.access), &body))).await;
    let ok = results.iter().filter(|r| r.status.as_u16() == 200).count();
    let conflicts = results.iter().filter(|r| r.status.as_u16() == 409).count();
    assert_eq!((ok, conflicts), (1, 49), "{:?}", results.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status.as_u16() == 409) {
        assert_eq!(r.code(), "task_already_handled");
    }
    let id = affair["id"].as_str().expect("id");
    let after = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    let approvals = after["history"].as_array().expect("history").iter().filter(|h| h["action"] == "approved").count();
    assert_eq!(approvals, 1, "history has one approval");
}
db_test!(concurrent_approvals, fifty_concurrent_approvals_let_exactly_one_through);

async fn idempotency_keys_make_retries_safe(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let send = |body: Value, key: &'static str| {
        let req = app
            .client
            .post(app.url("/api/v1/affairs"))
            .bearer_auth(&student.access)
            .insert_header(("idempotency-key", key));
        async move {
            let mut res = req.send_json(&body).await.expect("send");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }
    };
    let (s1, first) = send(leave_request(), "apply-1").await;
    let (s2, second) = send(leave_request(), "apply-1").await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first["number"], second["number"], "the retry returns the first result");
    let mine = app.get("/api/v1/affairs", Some(&student.access)).await.expect(200).body;
    assert_eq!(mine["total"], 1, "applied once");
    let mut other = leave_request();
    other["form"]["days"] = json!(5);
    let (s3, body) = send(other, "apply-1").await;
    assert_eq!(s3, 422, "{body}");
}
db_test!(idempotent_applications, idempotency_keys_make_retries_safe);

async fn returns_resubmits_and_withdrawals(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let c1 = app.login("counsellor1").await;
    let bad = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "leave", "form": { "days": 99 } }))
        .await
        .expect(400);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fields.contains(&"form.days") && fields.contains(&"form.reason"), "{fields:?}");
    app.post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "nope", "form": {} })).await.expect(400);

    let affair = apply(app, &student).await;
    let id = affair["id"].as_str().expect("id").to_owned();
    let task_id = pending_task(&affair);
    let returned = app
        .post(
            &format!("/api/v1/tasks/{task_id}/actions"),
            Some(&c1.access),
            &json!({ "action": "return", "return_to": "applicant", "comment": "请补充事由" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(returned["status"], "returned");
    let view = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert!(view["allowed_actions"].as_array().expect("a").contains(&json!("resubmit")));
    let again = app
        .post(
            &format!("/api/v1/affairs/{id}/resubmit"),
            Some(&student.access),
            &json!({ "form": { "days": 2, "reason": "回家探亲，已附车票" } }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(again["status"], "submitted", "a new round nobody has handled yet");
    assert_eq!(again["form"]["reason"], "回家探亲，已附车票");
    let new_task = pending_task(&again);
    assert_ne!(new_task, task_id);
    app.post(&format!("/api/v1/affairs/{id}/urge"), Some(&student.access), &json!({ "comment": "请尽快" }))
        .await
        .expect(200);
    app.post(&format!("/api/v1/tasks/{new_task}/actions"), Some(&c1.access), &json!({ "action": "approve" }))
        .await
        .expect(200);
    // Finished affairs cannot be withdrawn.
    let r = app.post(&format!("/api/v1/affairs/{id}/withdraw"), Some(&student.access), &json!({})).await.expect(409);
    assert_eq!(r.code(), "affair_state_conflict");
    // Someone else cannot resubmit or withdraw it.
    app.post(&format!("/api/v1/affairs/{id}/withdraw"), Some(&app.login("student2").await.access), &json!({}))
        .await
        .expect(404);

    // A fresh affair is withdrawn before anyone acts; its task disappears from the to-do list.
    let fresh = apply(app, &student).await;
    let fid = fresh["id"].as_str().expect("id");
    let w = app
        .post(&format!("/api/v1/affairs/{fid}/withdraw"), Some(&student.access), &json!({ "comment": "不需要了" }))
        .await
        .expect(200)
        .body;
    assert_eq!(w["status"], "withdrawn");
    let todo = app.get("/api/v1/tasks", Some(&c1.access)).await.expect(200).body;
    assert_eq!(todo["total"], 0, "nothing waits: one affair completed, one withdrawn");
}
db_test!(return_resubmit_withdraw, returns_resubmits_and_withdrawals);

async fn trial_versions_are_for_testers_and_flagged(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let s1 = app.user_id(&admin, "student1").await;
    publish_leave(app, Some(vec![s1])).await;
    let tester = app.login("student1").await;
    let affair = apply(app, &tester).await;
    assert_eq!(affair["is_test"], true);
    let other = app.login("student2").await;
    let r = app.post("/api/v1/affairs", Some(&other.access), &leave_request()).await.expect(422);
    assert_eq!(r.code(), "rule_violation");
}
db_test!(trial_versions, trial_versions_are_for_testers_and_flagged);

async fn the_demo_college_runs_its_leave_process_end_to_end(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let list = app.get("/api/v1/processes", Some(&admin.access)).await.expect(200).body;
    let keys: Vec<&str> = list.as_array().expect("list").iter().filter_map(|p| p["key"].as_str()).collect();
    for k in [
        "enrolment_certificate",
        "student_leave",
        "seal_application",
        "meeting_room_booking",
        "process_requirement_plan",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert!(list.as_array().expect("list").iter().all(|p| p["online_version"] == 1));

    // Five days of leave: the counsellor, then the college's supervising leader (分管院领导).
    let student = app.login("student1").await;
    let form = json!({
        "leave_type": "personal", "period": { "start": "2026-12-07", "end": "2026-12-11" }, "days": 5,
        "reason": "家中有事", "leave_campus": "yes", "destination": "长沙", "emergency_contact": "林父",
        "emergency_phone": "13800138000"
    });
    let affair = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "student_leave", "form": form }))
        .await
        .expect(201)
        .body;
    let c1 = app.login("counsellor1").await;
    let t1 = pending_task(&affair);
    let after = app
        .post(
            &format!("/api/v1/tasks/{t1}/actions"),
            Some(&c1.access),
            &json!({ "action": "approve", "form_patch": { "counsellor_opinion": "同意" } }),
        )
        .await
        .expect(200)
        .body;
    let vp_id = app.user_id(&admin, "vp_student").await;
    let next = after["tasks"].as_array().expect("tasks").iter().find(|t| t["status"] == "pending").expect("next task");
    assert_eq!(next["assignee_id"], vp_id.as_str(), "the 分管院领导 of 环境工程学院");
    let vp = app.login("vp_student").await;
    let t2 = next["id"].as_str().expect("id");
    let done = app
        .post(
            &format!("/api/v1/tasks/{t2}/actions"),
            Some(&vp.access),
            &json!({ "action": "approve", "comment": "同意" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed", "five days need no 处长; the CC goes to 学工处 and the affair completes");
}
db_test!(demo_leave_process, the_demo_college_runs_its_leave_process_end_to_end);

/// Replace the leave process's draft definition and publish it online as the next version.
async fn publish_online(app: &TestApp, token: &str, pid: &str, definition: Value) {
    let detail = app.get(&format!("/api/v1/processes/{pid}"), Some(token)).await.expect(200).body;
    let body = json!({
        "name": "学生请假", "department_id": detail["department_id"], "description": "",
        "definition": definition, "form": leave_form(), "version": detail["version"]
    });
    let saved = app.put(&format!("/api/v1/processes/{pid}"), Some(token), &body).await.expect(200).body;
    let publish = json!({ "status": "online", "version": saved["version"] });
    app.post(&format!("/api/v1/processes/{pid}/versions"), Some(token), &publish).await.expect(201);
}

async fn running_affairs_move_to_a_new_version_after_a_dry_run(app: &TestApp) {
    let pid = publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = apply(app, &student).await;
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let admin_id = me["user"]["id"].as_str().expect("id").to_owned();
    let xgc_admin = app.user_id(&admin, "xgc_admin").await;

    // v2 adds a 学工处 review after the counsellor.
    let mut v2 = leave_definition(&admin_id);
    v2["nodes"].as_array_mut().expect("nodes").insert(
        2,
        json!({ "id": "xgc", "name": "学工处审核", "kind": { "type": "user_task", "assignees": [ { "type": "users", "users": [xgc_admin] } ], "mode": { "type": "single" } } }),
    );
    v2["flows"] = json!([
        { "id": "f1", "from": "start", "to": "counsellor" },
        { "id": "f2", "from": "counsellor", "to": "xgc" },
        { "id": "f3", "from": "xgc", "to": "end" }
    ]);
    publish_online(app, &admin.access, &pid, v2).await;

    let url = format!("/api/v1/processes/{pid}/migrate");
    let dry = app
        .post(&url, Some(&admin.access), &json!({ "from_version": 1, "to_version": 2, "dry_run": true }))
        .await
        .expect(200)
        .body;
    assert_eq!(dry["movable"].as_array().expect("movable").len(), 1);
    assert_eq!(dry["moved"], 0);
    let id = affair["id"].as_str().expect("id");
    let still = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert_eq!(still["process_version"], 1, "a dry run changes nothing");
    let r = app
        .post(&url, Some(&app.login("xgc_admin").await.access), &json!({ "from_version": 1, "to_version": 2 }))
        .await
        .expect(403);
    r.code();
    let done =
        app.post(&url, Some(&admin.access), &json!({ "from_version": 1, "to_version": 2 })).await.expect(200).body;
    assert_eq!(done["moved"], 1);
    let moved = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert_eq!(moved["process_version"], 2);
    // The new version takes over: after the counsellor, 学工处 reviews.
    let c1 = app.login("counsellor1").await;
    let t = pending_task(&moved);
    let after = app
        .post(&format!("/api/v1/tasks/{t}/actions"), Some(&c1.access), &json!({ "action": "approve" }))
        .await
        .expect(200)
        .body;
    assert_eq!(after["status"], "in_progress");
    let next = after["tasks"].as_array().expect("tasks").iter().find(|t| t["status"] == "pending").expect("next");
    assert_eq!(next["node_id"], "xgc");

    // A version without the node an affair waits at blocks it, with the reason.
    let other = apply(app, &student).await;
    let mut v3 = leave_definition(&admin_id);
    v3["nodes"][1]["id"] = json!("review");
    v3["flows"][0]["to"] = json!("review");
    v3["flows"][1]["from"] = json!("review");
    v3["nodes"][1]["field_access"] = json!({});
    publish_online(app, &admin.access, &pid, v3).await;
    let dry = app
        .post(&url, Some(&admin.access), &json!({ "from_version": 2, "to_version": 3, "dry_run": true }))
        .await
        .expect(200)
        .body;
    let blocked = dry["blocked"].as_array().expect("blocked");
    assert!(
        blocked.iter().any(|b| b["affair_id"] == other["id"] && b["problems"][0]["code"] == "node_missing"),
        "{dry}"
    );
}
db_test!(version_migration, running_affairs_move_to_a_new_version_after_a_dry_run);

async fn a_retried_action_with_the_same_key_returns_the_first_result(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = apply(app, &student).await;
    let task = pending_task(&affair);
    let c1 = app.login("counsellor1").await;
    let send = |key: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url(&format!("/api/v1/tasks/{task}/actions")))
            .bearer_auth(&c1.access)
            .insert_header(("idempotency-key", key));
        async move {
            let mut res = req.send_json(&body).await.expect("send");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }
    };
    let (s1, first) = send("approve-1", json!({ "action": "approve", "comment": "同意" })).await;
    let (s2, second) = send("approve-1", json!({ "action": "approve", "comment": "同意" })).await;
    assert_eq!((s1, s2), (200, 200), "the retry is not a second approval: {second}");
    assert_eq!(first, second);
    let (s3, third) = send("approve-2", json!({ "action": "approve", "comment": "同意" })).await;
    assert_eq!(s3, 409, "a new key is a new request: {third}");
    let r = app
        .client
        .post(app.url(&format!("/api/v1/tasks/{task}/actions")))
        .bearer_auth(&c1.access)
        .insert_header(("idempotency-key", "bad key with spaces"))
        .send_json(&json!({ "action": "approve" }))
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
}
db_test!(idempotent_actions, a_retried_action_with_the_same_key_returns_the_first_result);

async fn people_an_affair_is_copied_to_can_read_it(app: &TestApp) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = apply(app, &student).await;
    let id = affair["id"].as_str().expect("id").to_owned();
    let teacher = app.login("teacher1").await;
    app.get(&format!("/api/v1/affairs/{id}"), Some(&teacher.access)).await.expect(404);
    let admin = app.login("it_admin").await;
    let teacher_id = app.user_id(&admin, "teacher1").await;
    let c1 = app.login("counsellor1").await;
    let task = pending_task(&affair);
    app.post(
        &format!("/api/v1/tasks/{task}/actions"),
        Some(&c1.access),
        &json!({ "action": "cc", "user_ids": [teacher_id] }),
    )
    .await
    .expect(200);
    let seen = app.get(&format!("/api/v1/affairs/{id}"), Some(&teacher.access)).await.expect(200).body;
    assert_eq!(seen["id"], affair["id"]);
    assert!(seen["allowed_actions"].as_array().expect("actions").is_empty(), "a copy is for reading");
    app.get(&format!("/api/v1/affairs/{id}"), Some(&app.login("student2").await.access)).await.expect(404);
}
db_test!(cc_recipients_read, people_an_affair_is_copied_to_can_read_it);

async fn clients_read_the_form_to_apply_with_and_what_they_may_edit(app: &TestApp) {
    // Anyone reads what a service asks for: the online version's form and what the applicant fills.
    let f = app.get("/api/v1/application-forms?process_key=student_leave", None).await.expect(200).body;
    assert_eq!((f["version"].as_i64(), f["is_test"].as_bool()), (Some(1), Some(false)));
    let keys: Vec<&str> =
        f["form"]["fields"].as_array().expect("fields").iter().filter_map(|x| x["key"].as_str()).collect();
    assert!(keys.contains(&"leave_type") && keys.contains(&"counsellor_opinion"), "{keys:?}");
    assert_eq!(f["field_access"]["leave_type"], "editable");
    assert!(f["field_access"].get("counsellor_opinion").is_none(), "the counsellor writes that, not the applicant");
    assert_eq!(f["picks"], json!([]));
    for bad in ["", "?process_key=nope", "?process_key=student_leave&guide_id=01900000-0000-7000-8000-000000000000"] {
        app.get(&format!("/api/v1/application-forms{bad}"), None).await.expect(400);
    }
    // A tester reads the trial version; everybody else the online one (none here yet: 422).
    publish_leave(app, Some(vec![app.user_id(&app.login("it_admin").await, "student1").await])).await;
    let student = app.login("student1").await;
    let trial = app.get("/api/v1/application-forms?process_key=leave", Some(&student.access)).await.expect(200).body;
    assert_eq!(trial["is_test"], true);
    app.get("/api/v1/application-forms?process_key=leave", None).await.expect(422);

    // The affair page carries the definition of the fields shown and what the caller may edit now.
    let form = json!({
        "leave_type": "personal", "period": { "start": "2026-12-07", "end": "2026-12-08" }, "days": 2,
        "reason": "家中有事", "leave_campus": "no", "emergency_contact": "林父", "emergency_phone": "13800138000"
    });
    let a = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "student_leave", "form": form }))
        .await
        .expect(201)
        .body;
    assert!(a["field_access"].as_object().expect("access").values().all(|v| v == "read_only"));
    let labels: Vec<&str> =
        a["form_definition"]["fields"].as_array().expect("fields").iter().filter_map(|x| x["label"].as_str()).collect();
    assert!(!labels.is_empty());
    let c1 = app.login("counsellor1").await;
    let task = pending_task(&a);
    let seen = app.get(&format!("/api/v1/tasks/{task}"), Some(&c1.access)).await.expect(200).body;
    assert_eq!(seen["field_access"]["counsellor_opinion"], "editable");
    assert_eq!(seen["field_access"]["reason"], "read_only");
    // An action on a stale view of the affair is refused; on the current one it goes through.
    let stale = json!({ "action": "approve", "comment": "同意", "version": seen["version"].as_i64().expect("v") - 1 });
    let r = app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&c1.access), &stale).await.expect(409);
    assert_eq!(r.code(), "version_conflict");
    let fresh = json!({ "action": "approve", "comment": "同意", "version": seen["version"] });
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&c1.access), &fresh).await.expect(200);
}
db_test!(client_forms, clients_read_the_form_to_apply_with_and_what_they_may_edit);
