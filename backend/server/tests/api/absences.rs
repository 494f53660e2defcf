//! Out-of-office delegation (代理) and hand-over of a leaving user's tasks (离职交接).

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, Tokens};
use crate::processes::{leave_definition, leave_form};

/// An instant `minutes` from now, as the API takes it.
fn at(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn student_leave_form() -> Value {
    json!({
        "leave_type": "personal", "period": { "start": "2026-12-07", "end": "2026-12-08" }, "days": 2,
        "reason": "家中有事", "leave_campus": "yes", "destination": "长沙", "emergency_contact": "林父",
        "emergency_phone": "13800138000"
    })
}

async fn apply(app: &TestApp, who: &Tokens, process_key: &str) -> Value {
    let form = match process_key {
        "student_leave" => student_leave_form(),
        "enrolment_certificate" => json!({ "purpose": "internship", "copies": 1, "language": "zh" }),
        _ => json!({ "days": 2, "reason": "回家探亲" }),
    };
    app.post("/api/v1/affairs", Some(&who.access), &json!({ "process_key": process_key, "form": form }))
        .await
        .expect(201)
        .body
}

fn pending(affair: &Value) -> Value {
    affair["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["status"] == "pending")
        .cloned()
        .expect("a pending task")
}

struct People {
    admin: Tokens,
    c1: Tokens,
    c1_id: String,
    c2: Tokens,
    c2_id: String,
    student: Tokens,
}

async fn people(app: &TestApp) -> People {
    let admin = app.login("it_admin").await;
    let c1_id = app.user_id(&admin, "counsellor1").await;
    let c2_id = app.user_id(&admin, "counsellor2").await;
    People {
        c1: app.login("counsellor1").await,
        c2: app.login("counsellor2").await,
        student: app.login("student1").await,
        admin,
        c1_id,
        c2_id,
    }
}

async fn an_absent_counsellors_new_tasks_go_to_the_deputy_until_the_absence_ends(app: &TestApp) {
    let p = people(app).await;
    let created = app
        .post(
            "/api/v1/me/absences",
            Some(&p.c1.access),
            &json!({ "deputy_id": p.c2_id, "starts_at": at(-60), "ends_at": at(24 * 60), "note": "外出培训\n有事请找王老师" }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(created["status"], "active");
    assert_eq!(created["user_id"], p.c1_id.as_str());
    assert_eq!(created["created_by"], p.c1_id.as_str());
    assert_eq!(created["deputy_name"], "王辅导");
    assert_eq!(created["process_keys"], json!([]));

    // A new task for counsellor1 goes to the deputy, counsellor1 recorded as the original assignee.
    let affair = apply(app, &p.student, "student_leave").await;
    let task = pending(&affair);
    assert_eq!(task["assignee_id"], p.c2_id.as_str());
    assert_eq!(task["original_assignee_id"], p.c1_id.as_str());
    let todo = app.get("/api/v1/tasks", Some(&p.c2.access)).await.expect(200).body;
    assert_eq!(todo["total"], 1);
    assert_eq!(todo["items"][0]["original_assignee_id"], p.c1_id.as_str());
    assert_eq!(app.get("/api/v1/tasks", Some(&p.c1.access)).await.expect(200).body["total"], 0);
    // The deputy handles it like their own.
    let t = task["id"].as_str().expect("id");
    let done = app
        .post(
            &format!("/api/v1/tasks/{t}/actions"),
            Some(&p.c2.access),
            &json!({ "action": "approve", "form_patch": { "counsellor_opinion": "代李老师审批：同意" } }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "completed", "two days need only the counsellor");

    // Cancelling an active absence ends it now; new tasks go to counsellor1 again.
    let mine = app.get("/api/v1/me/absences", Some(&p.c1.access)).await.expect(200).body;
    assert_eq!(mine["total"], 1);
    let id = created["id"].as_str().expect("id");
    let r = app.delete(&format!("/api/v1/me/absences/{id}?version=7"), Some(&p.c1.access)).await.expect(409);
    assert_eq!(r.code(), "version_conflict");
    app.delete(&format!("/api/v1/me/absences/{id}"), Some(&p.c1.access)).await.expect(400).code();
    // Someone else's absence is not yours to cancel.
    let r = app.delete(&format!("/api/v1/me/absences/{id}?version=1"), Some(&p.c2.access)).await.expect(404);
    assert_eq!(r.code(), "not_found");
    app.delete(&format!("/api/v1/me/absences/{id}?version=1"), Some(&p.c1.access)).await.expect(204);
    let mine = app.get("/api/v1/me/absences", Some(&p.c1.access)).await.expect(200).body;
    assert_eq!(mine["items"][0]["status"], "ended", "the record stays, ended");
    assert_eq!(mine["items"][0]["version"], 2);
    let r = app.delete(&format!("/api/v1/me/absences/{id}?version=2"), Some(&p.c1.access)).await.expect(422);
    assert_eq!(r.code(), "rule_violation");

    let affair = apply(app, &p.student, "student_leave").await;
    let task = pending(&affair);
    assert_eq!(task["assignee_id"], p.c1_id.as_str());
    assert!(task["original_assignee_id"].is_null());

    // A scheduled (future) absence does not redirect yet, and cancelling it removes it.
    let later = app
        .post(
            "/api/v1/me/absences",
            Some(&p.c1.access),
            &json!({ "deputy_id": p.c2_id, "starts_at": at(24 * 60), "ends_at": at(48 * 60) }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(later["status"], "scheduled");
    let affair = apply(app, &p.student, "student_leave").await;
    assert_eq!(pending(&affair)["assignee_id"], p.c1_id.as_str());
    let lid = later["id"].as_str().expect("id");
    app.delete(&format!("/api/v1/me/absences/{lid}?version=1"), Some(&p.c1.access)).await.expect(204);
    assert_eq!(app.get("/api/v1/me/absences", Some(&p.c1.access)).await.expect(200).body["total"], 1);

    // Every change is audited.
    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?object_type=absence&object_id={id}"), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    let recorded: Vec<&str> =
        logs["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(recorded, vec!["absence.cancel", "absence.create"]);
    let _ = p.admin;
}
db_test!(absence_redirects_new_tasks, an_absent_counsellors_new_tasks_go_to_the_deputy_until_the_absence_ends);

async fn a_process_specific_absence_applies_only_to_its_processes(app: &TestApp) {
    let p = people(app).await;
    let a = app
        .post(
            "/api/v1/me/absences",
            Some(&p.c1.access),
            &json!({ "deputy_id": p.c2_id, "starts_at": at(-60), "ends_at": at(60), "process_keys": ["enrolment_certificate"] }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(a["process_keys"], json!(["enrolment_certificate"]));
    let cert = apply(app, &p.student, "enrolment_certificate").await;
    assert_eq!(pending(&cert)["assignee_id"], p.c2_id.as_str(), "covered: to the deputy");
    assert_eq!(pending(&cert)["original_assignee_id"], p.c1_id.as_str());
    let leave = apply(app, &p.student, "student_leave").await;
    assert_eq!(pending(&leave)["assignee_id"], p.c1_id.as_str(), "not covered: stays with counsellor1");
    assert!(pending(&leave)["original_assignee_id"].is_null());

    // End it and cover the leave process instead, from now on.
    let id = a["id"].as_str().expect("id");
    app.delete(&format!("/api/v1/me/absences/{id}?version=1"), Some(&p.c1.access)).await.expect(204);
    app.post(
        "/api/v1/me/absences",
        Some(&p.c1.access),
        &json!({ "deputy_id": p.c2_id, "starts_at": at(0), "ends_at": at(60), "process_keys": ["student_leave"] }),
    )
    .await
    .expect(201);
    let leave = apply(app, &p.student, "student_leave").await;
    assert_eq!(pending(&leave)["assignee_id"], p.c2_id.as_str());
    let cert = apply(app, &p.student, "enrolment_certificate").await;
    assert_eq!(pending(&cert)["assignee_id"], p.c1_id.as_str());
}
db_test!(process_specific_absence, a_process_specific_absence_applies_only_to_its_processes);

fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned()))
        .collect()
}

async fn absences_are_checked(app: &TestApp) {
    let p = people(app).await;
    let url = "/api/v1/me/absences";
    let tok = Some(p.c1.access.as_str());

    let r = app.post(url, tok, &json!({ "deputy_id": p.c1_id, "starts_at": at(-60), "ends_at": at(60) })).await;
    let r = r.expect(400);
    assert_eq!(r.code(), "validation_failed");
    assert_eq!(field_codes(&r.body), vec![("deputy_id".into(), "self".into())]);

    let r = app.post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(60), "ends_at": at(30) })).await;
    assert_eq!(field_codes(&r.expect(400).body), vec![("ends_at".into(), "before_start".into())]);

    let r =
        app.post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(0), "ends_at": at(367 * 24 * 60) })).await;
    assert_eq!(field_codes(&r.expect(400).body), vec![("ends_at".into(), "too_long".into())]);

    let r = app.post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(-120), "ends_at": at(-60) })).await;
    assert_eq!(field_codes(&r.expect(400).body), vec![("ends_at".into(), "in_past".into())]);

    let nobody = uuid::Uuid::now_v7().to_string();
    let r = app.post(url, tok, &json!({ "deputy_id": nobody, "starts_at": at(0), "ends_at": at(60) })).await;
    assert_eq!(field_codes(&r.expect(400).body), vec![("deputy_id".into(), "not_found".into())]);

    let r = app
        .post(
            url,
            tok,
            &json!({ "deputy_id": p.c2_id, "starts_at": at(0), "ends_at": at(60), "process_keys": ["student_leave", "no_such"] }),
        )
        .await;
    assert_eq!(field_codes(&r.expect(400).body), vec![("process_keys[1]".into(), "not_found".into())]);

    let r = app
        .post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(0), "ends_at": at(60), "surprise": true }))
        .await;
    assert_eq!(r.expect(400).code(), "validation_failed");
    let r = app.post(url, tok, &json!({ "deputy_id": "not-a-uuid", "starts_at": at(0), "ends_at": at(60) })).await;
    r.expect(400).code();
    let r = app.post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": "tomorrow", "ends_at": at(60) })).await;
    r.expect(400).code();

    // No overlapping absences of one user; adjacent ones are fine.
    let first = app
        .post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(60), "ends_at": at(180) }))
        .await
        .expect(201)
        .body;
    let r = app.post(url, tok, &json!({ "deputy_id": p.c2_id, "starts_at": at(120), "ends_at": at(240) })).await;
    let r = r.expect(409);
    assert_eq!(r.code(), "already_exists");
    assert_eq!(field_codes(&r.body), vec![("starts_at".into(), "overlap".into())]);
    let adjacent = json!({ "deputy_id": p.c2_id, "starts_at": first["ends_at"], "ends_at": at(300) });
    app.post(url, tok, &adjacent).await.expect(201);
    // Another user's absences do not count.
    app.post(url, Some(&p.c2.access), &json!({ "deputy_id": p.c1_id, "starts_at": at(60), "ends_at": at(180) }))
        .await
        .expect(201);

    // Signed-in users only.
    app.get(url, None).await.expect(401).code();
    app.post(url, None, &json!({ "deputy_id": p.c2_id, "starts_at": at(0), "ends_at": at(60) })).await.expect(401);
    let _ = p.admin;
}
db_test!(absence_rules, absences_are_checked);

async fn administrators_manage_absences_of_users_in_their_scope(app: &TestApp) {
    let p = people(app).await;
    let url = format!("/api/v1/users/{}/absences", p.c1_id);
    let body = json!({ "deputy_id": p.c2_id, "starts_at": at(-10), "ends_at": at(60) });
    let a = app.post(&url, Some(&p.admin.access), &body).await.expect(201).body;
    let admin_id = app.get("/api/v1/me", Some(&p.admin.access)).await.expect(200).body["user"]["id"].clone();
    assert_eq!(a["created_by"], admin_id);
    assert_eq!(a["user_id"], p.c1_id.as_str());
    let list = app.get(&url, Some(&p.admin.access)).await.expect(200).body;
    assert_eq!(list["total"], 1);
    // The user sees it as their own.
    assert_eq!(app.get("/api/v1/me/absences", Some(&p.c1.access)).await.expect(200).body["total"], 1);

    // Without user.manage over the user: 403 when the user is visible, else 404.
    let vp = app.login("vp_student").await;
    assert_eq!(app.get(&url, Some(&vp.access)).await.expect(403).code(), "forbidden");
    assert_eq!(app.post(&url, Some(&vp.access), &body).await.expect(403).code(), "forbidden");
    for who in [&p.c2, &p.student] {
        assert_eq!(app.get(&url, Some(&who.access)).await.expect(404).code(), "not_found");
        assert_eq!(app.post(&url, Some(&who.access), &body).await.expect(404).code(), "not_found");
    }
    let xgc = app.login("xgc_admin").await;
    app.get(&url, Some(&xgc.access)).await.expect(404);
    let id = a["id"].as_str().expect("id");
    app.delete(&format!("{url}/{id}?version=1"), Some(&vp.access)).await.expect(403);
    // An absence of another user under this user's path is not found.
    app.delete(&format!("/api/v1/users/{}/absences/{id}?version=1", p.c2_id), Some(&p.admin.access)).await.expect(404);
    app.delete(&format!("{url}/{id}?version=1"), Some(&p.admin.access)).await.expect(204);
}
db_test!(admin_absences, administrators_manage_absences_of_users_in_their_scope);

async fn a_hand_over_moves_every_pending_task_in_one_call(app: &TestApp) {
    let p = people(app).await;
    // A second leave process administered by xgc_admin only: it_admin is not its process
    // administrator, so counsellor1 hands over that task themselves.
    let xgc_admin_id = app.user_id(&p.admin, "xgc_admin").await;
    let dept = app.department("xgc").await;
    let proc = app
        .post(
            "/api/v1/processes",
            Some(&p.admin.access),
            &json!({ "key": "leave", "name": "学生请假", "department_id": dept["id"], "definition": leave_definition(&xgc_admin_id), "form": leave_form() }),
        )
        .await
        .expect(201)
        .body;
    let pid = proc["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/processes/{pid}/versions"),
        Some(&p.admin.access),
        &json!({ "status": "online", "version": proc["version"] }),
    )
    .await
    .expect(201);

    // A group task (one of counsellor1 and counsellor2 claims it) is left for the other candidate.
    let mut group = leave_definition(&xgc_admin_id);
    group["nodes"][1]["kind"]["assignees"] = json!([{ "type": "users", "users": [p.c1_id, p.c2_id] }]);
    let gp = app
        .post(
            "/api/v1/processes",
            Some(&p.admin.access),
            &json!({ "key": "group_leave", "name": "集体审批", "department_id": dept["id"], "definition": group, "form": leave_form() }),
        )
        .await
        .expect(201)
        .body;
    let gid = gp["id"].as_str().expect("id");
    app.post(
        &format!("/api/v1/processes/{gid}/versions"),
        Some(&p.admin.access),
        &json!({ "status": "online", "version": gp["version"] }),
    )
    .await
    .expect(201);
    let a5 = apply(app, &p.student, "group_leave").await;
    assert!(pending(&a5)["assignee_id"].is_null());

    let a1 = apply(app, &p.student, "student_leave").await;
    let a2 = apply(app, &p.student, "enrolment_certificate").await;
    let a3 = apply(app, &p.student, "leave").await;
    // A task delegated to counsellor1 stays theirs to finish for the delegator: skipped.
    let student2 = app.login("student2").await;
    let a4 = apply(app, &student2, "student_leave").await;
    let t4 = pending(&a4)["id"].as_str().expect("id").to_owned();
    let delegated = app
        .post(
            &format!("/api/v1/tasks/{t4}/actions"),
            Some(&p.c2.access),
            &json!({ "action": "delegate", "user_ids": [p.c1_id] }),
        )
        .await
        .expect(200)
        .body;
    let delegated = pending(&delegated)["id"].clone();
    assert_eq!(app.get("/api/v1/tasks", Some(&p.c1.access)).await.expect(200).body["total"], 5);

    let url = format!("/api/v1/users/{}/handover", p.c1_id);
    let to = app.user_id(&p.admin, "teacher1").await;
    // Not administrators of counsellor1: 403 or 404, and nothing moves.
    let vp = app.login("vp_student").await;
    let body = json!({ "to_user_id": to, "comment": "李老师离职，工作交接给孙老师" });
    assert_eq!(app.post(&url, Some(&vp.access), &body).await.expect(403).code(), "forbidden");
    for who in [&p.c2, &p.student, &p.c1] {
        app.post(&url, Some(&who.access), &body).await.expect(404).code();
    }
    // The receiver must be someone else, and exist.
    let r = app.post(&url, Some(&p.admin.access), &json!({ "to_user_id": p.c1_id })).await.expect(400);
    assert_eq!(field_codes(&r.body), vec![("to_user_id".into(), "self".into())]);
    let nobody = uuid::Uuid::now_v7().to_string();
    let r = app.post(&url, Some(&p.admin.access), &json!({ "to_user_id": nobody })).await.expect(400);
    assert_eq!(field_codes(&r.body), vec![("to_user_id".into(), "not_found".into())]);
    assert_eq!(app.get("/api/v1/tasks", Some(&p.c1.access)).await.expect(200).body["total"], 5);

    let report = app.post(&url, Some(&p.admin.access), &body).await.expect(200).body;
    assert_eq!(report["transferred"], 3, "{report}");
    let moved: Vec<&str> =
        report["affairs"].as_array().expect("affairs").iter().filter_map(|a| a["affair_id"].as_str()).collect();
    for a in [&a1, &a2, &a3] {
        assert!(moved.contains(&a["id"].as_str().expect("id")), "{report}");
    }
    assert_eq!(report["skipped"], json!([{ "task_id": delegated, "code": "forbidden" }]));
    assert_eq!(
        report["unclaimed"],
        json!([{ "affair_id": a5["id"], "task_id": pending(&a5)["id"], "other_candidates": true }])
    );

    // counsellor1 keeps the delegated and the group task; teacher1 has the rest, counsellor1
    // recorded as the original assignee.
    let left = app.get("/api/v1/tasks", Some(&p.c1.access)).await.expect(200).body;
    assert_eq!(left["total"], 2);
    let teacher = app.login("teacher1").await;
    let todo = app.get("/api/v1/tasks", Some(&teacher.access)).await.expect(200).body;
    assert_eq!(todo["total"], 3);
    for item in todo["items"].as_array().expect("items") {
        assert_eq!(item["original_assignee_id"], p.c1_id.as_str());
    }
    // Through the engine: the history names who transferred, the process administrator or, for
    // the process it_admin does not administer, counsellor1.
    let admin_id = app.get("/api/v1/me", Some(&p.admin.access)).await.expect(200).body["user"]["id"].clone();
    for (a, actor) in [(&a1, admin_id.clone()), (&a3, json!(p.c1_id))] {
        let id = a["id"].as_str().expect("id");
        let view = app.get(&format!("/api/v1/affairs/{id}"), Some(&p.admin.access)).await.expect(200).body;
        let h = view["history"].as_array().expect("history").iter().find(|h| h["action"] == "transferred").cloned();
        let h = h.expect("a transfer in the history");
        assert_eq!(h["actor_id"], actor);
        assert_eq!(h["comment"], "李老师离职，工作交接给孙老师");
        assert_eq!(pending(&view)["assignee_id"], to.as_str());
    }
    // The receiver handles a handed-over task.
    let t = pending(&a3)["id"].as_str().expect("id").to_owned();
    let t_new = todo["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["affair_id"] == a3["id"])
        .and_then(|i| i["id"].as_str())
        .expect("handed-over task")
        .to_owned();
    assert_ne!(t, t_new);
    app.post(&format!("/api/v1/tasks/{t_new}/actions"), Some(&teacher.access), &json!({ "action": "approve" }))
        .await
        .expect(200);

    // One audit record for the hand-over as a whole.
    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?object_type=user&object_id={}", p.c1_id), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    let handovers: Vec<&Value> =
        logs["items"].as_array().expect("items").iter().filter(|l| l["action"] == "user.handover").collect();
    assert_eq!(handovers.len(), 1);
    assert_eq!(handovers[0]["actor_id"], admin_id);
    assert_eq!(handovers[0]["after"]["to_user_id"], to.as_str());

    // A second hand-over finds nothing left but the delegated task.
    let again = app.post(&url, Some(&p.admin.access), &body).await.expect(200).body;
    assert_eq!(again["transferred"], 0);
    assert_eq!(again["skipped"].as_array().expect("skipped").len(), 1);
}
db_test!(handover, a_hand_over_moves_every_pending_task_in_one_call);

async fn chains_of_absences_are_not_followed(app: &TestApp) {
    let p = people(app).await;
    let teacher_id = app.user_id(&p.admin, "teacher1").await;
    // counsellor1 is away with counsellor2 as deputy; counsellor2 is away too.
    app.post(
        "/api/v1/me/absences",
        Some(&p.c1.access),
        &json!({ "deputy_id": p.c2_id, "starts_at": at(-60), "ends_at": at(60) }),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/me/absences",
        Some(&p.c2.access),
        &json!({ "deputy_id": teacher_id, "starts_at": at(-60), "ends_at": at(60) }),
    )
    .await
    .expect(201);
    let affair = apply(app, &p.student, "student_leave").await;
    assert_eq!(pending(&affair)["assignee_id"], p.c2_id.as_str(), "the first deputy, not the deputy's deputy");
    assert_eq!(pending(&affair)["original_assignee_id"], p.c1_id.as_str());
    // counsellor2's own new tasks go to teacher1.
    let student2 = app.login("student2").await;
    let affair = apply(app, &student2, "student_leave").await;
    assert_eq!(pending(&affair)["assignee_id"], teacher_id.as_str());
    assert_eq!(pending(&affair)["original_assignee_id"], p.c2_id.as_str());
}
db_test!(absence_chains, chains_of_absences_are_not_followed);
