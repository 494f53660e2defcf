//! Who may see what: another student sees nothing of the first student's affair, materials,
//! messages or drafts; the public progress look-up shows progress only and throttles guessing.

use serde_json::{Value, json};

use crate::affairs::pending_task;
use crate::applying::{PDF, enrolment_form, enrolment_with_materials, upload};
use crate::db_test;
use crate::helpers::{TestApp, Tokens};

/// student1 applies for 在读证明 with one material; returns the affair and the file id.
pub(crate) async fn apply_with_material(app: &TestApp, student: &Tokens) -> (Value, String) {
    enrolment_with_materials(app).await;
    let file_id = upload(app, student, "invitation.pdf", PDF).await;
    let affair = app
        .post(
            "/api/v1/affairs",
            Some(&student.access),
            &json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[&file_id]) }),
        )
        .await
        .expect(201)
        .body;
    (affair, file_id)
}

async fn another_student_can_reach_nothing_of_the_first_students(app: &TestApp) {
    let s1 = app.login("student1").await;
    let s2 = app.login("student2").await;
    let (affair, file_id) = apply_with_material(app, &s1).await;
    let id = affair["id"].as_str().expect("id").to_owned();
    let number = affair["number"].as_str().expect("number").to_owned();

    // Read, list, download.
    app.get(&format!("/api/v1/affairs/{id}"), Some(&s2.access)).await.expect(404).code();
    let mine = app.get("/api/v1/affairs", Some(&s2.access)).await.expect(200).body;
    assert_eq!(mine["total"], 0);
    let found = app.get(&format!("/api/v1/affairs?q={number}"), Some(&s2.access)).await.expect(200).body;
    assert_eq!(found["total"], 0);
    for scope in ["department", "all"] {
        app.get(&format!("/api/v1/affairs?scope={scope}"), Some(&s2.access)).await.expect(403).code();
    }
    assert_eq!(app.get("/api/v1/tasks?status=started", Some(&s2.access)).await.expect(200).body["total"], 0);
    app.get(&format!("/api/v1/attachments/{file_id}"), Some(&s2.access)).await.expect(404).code();
    app.get(&format!("/api/v1/attachments/{file_id}/meta"), Some(&s2.access)).await.expect(404);
    app.delete(&format!("/api/v1/attachments/{file_id}"), Some(&s2.access)).await.expect(404);
    // Messages, actions, rating.
    let messages = format!("/api/v1/affairs/{id}/messages");
    app.get(&messages, Some(&s2.access)).await.expect(404);
    app.post(&messages, Some(&s2.access), &json!({ "body": "你好" })).await.expect(404);
    app.post(&format!("/api/v1/affairs/{id}/urge"), Some(&s2.access), &json!({})).await.expect(404);
    app.post(&format!("/api/v1/affairs/{id}/rating"), Some(&s2.access), &json!({ "score": 1 })).await.expect(404);
    app.get(&format!("/api/v1/tasks/{}", pending_task(&affair)), Some(&s2.access)).await.expect(404);

    // Attaching the first student's upload (attached or not) to one's own application.
    let loose = upload(app, &s1, "loose.pdf", PDF).await;
    for stolen in [&file_id, &loose] {
        let r = app
            .post(
                "/api/v1/affairs",
                Some(&s2.access),
                &json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[stolen]) }),
            )
            .await
            .expect(400);
        assert_eq!(r.body["errors"][0]["code"], "attachment_not_found", "no hint that it exists");
    }
    let drafted = app
        .post(
            "/api/v1/drafts",
            Some(&s2.access),
            &json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[&loose]) }),
        )
        .await
        .expect(201)
        .body;
    let r = app
        .post(&format!("/api/v1/drafts/{}/submit", drafted["id"].as_str().expect("id")), Some(&s2.access), &json!({}))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "attachment_not_found");
    assert_eq!(app.get("/api/v1/affairs", Some(&s2.access)).await.expect(200).body["total"], 0);
    let meta = app.get(&format!("/api/v1/attachments/{loose}/meta"), Some(&s1.access)).await.expect(200).body;
    assert!(meta["affair_id"].is_null(), "still the first student's, unattached");

    // The same file twice in one form, and someone else's file in a handler's patch, are refused.
    let own = upload(app, &s2, "own.pdf", PDF).await;
    let r = app
        .post(
            "/api/v1/affairs",
            Some(&s2.access),
            &json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[&own, &own]) }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "form.materials");

    // The public look-up: a wrong suffix looks exactly like a wrong number.
    let wrong_suffix = app.get(&format!("/api/v1/progress?number={number}&id_suffix=0201"), None).await.expect(404);
    let wrong_number = app.get("/api/v1/progress?number=SW2000010100001&id_suffix=0101", None).await.expect(404);
    assert_eq!(wrong_suffix.body, wrong_number.body);
    app.get(&format!("/api/v1/progress?number={number}&id_suffix=01"), None).await.expect(400);
}
db_test!(other_students_reach_nothing, another_student_can_reach_nothing_of_the_first_students);

async fn the_progress_look_up_shows_progress_only(app: &TestApp) {
    let s1 = app.login("student1").await;
    let (affair, _) = apply_with_material(app, &s1).await;
    let number = affair["number"].as_str().expect("number");
    let c1 = app.login("counsellor1").await;
    app.post(
        &format!("/api/v1/tasks/{}/actions", pending_task(&affair)),
        Some(&c1.access),
        &json!({ "action": "approve", "comment": "情况属实，同意开具" }),
    )
    .await
    .expect(200);

    let r = app.get(&format!("/api/v1/progress?number={number}&id_suffix=0101"), None).await.expect(200).body;
    assert_eq!(r["number"], number);
    assert_eq!(r["process_name"], "在读证明");
    assert_eq!(r["status"], "in_progress");
    let nodes: Vec<(&str, &str)> = r["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["name"].as_str().expect("name"), n["state"].as_str().expect("state")))
        .collect();
    assert_eq!(
        nodes,
        vec![
            ("提交申请", "done"),
            ("辅导员审核", "done"),
            ("学生工作处审核", "current"),
            ("签发电子在读证明", "pending"),
            ("办结", "pending")
        ]
    );
    // Nothing personal: no names, ids, opinions or form data.
    let text = r.to_string();
    for secret in [
        "林同学",
        "李辅导",
        "学工处管理员",
        "情况属实",
        "visa",
        "invitation",
        affair["id"].as_str().expect("id"),
        affair["applicant_id"].as_str().expect("id"),
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    // Upper or lower case in the suffix, for 工号 with letters.
    app.get(&format!("/api/v1/progress?number={}&id_suffix=0101", number.to_lowercase()), None).await.expect(200);
}
db_test!(progress_look_up, the_progress_look_up_shows_progress_only);

async fn failed_look_ups_are_throttled_per_address(app: &TestApp) {
    let s1 = app.login("student1").await;
    let (affair, _) = apply_with_material(app, &s1).await;
    let number = affair["number"].as_str().expect("number");
    for suffix in ["0000", "1111", "2222"] {
        app.get(&format!("/api/v1/progress?number={number}&id_suffix={suffix}"), None).await.expect(404);
    }
    let r = app.get(&format!("/api/v1/progress?number={number}&id_suffix=0101"), None).await.expect(429);
    assert_eq!(r.code(), "too_many_requests");
    let wait: u64 =
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=900).contains(&wait), "{wait}");
    // Failed look-ups do not lock anyone's sign-in.
    app.login("student1").await;
}
db_test!(
    progress_throttle,
    |s: &mut tongban_server::config::Settings| s.login_throttle.max_failures_per_ip = 3,
    failed_look_ups_are_throttled_per_address
);

async fn messages_pass_between_the_applicant_and_the_handlers(app: &TestApp) {
    let s1 = app.login("student1").await;
    let (affair, file_id) = apply_with_material(app, &s1).await;
    let id = affair["id"].as_str().expect("id").to_owned();
    let url = format!("/api/v1/affairs/{id}/messages");
    let c1 = app.login("counsellor1").await;

    let m = app.post(&url, Some(&s1.access), &json!({ "body": "  请问何时可以领取？ " })).await.expect(201).body;
    assert_eq!(m["body"], "请问何时可以领取？");
    assert_eq!(m["from_applicant"], true);
    app.post(&url, Some(&s1.access), &json!({ "body": "   " })).await.expect(400);
    app.post(&url, Some(&s1.access), &json!({ "body": "x".repeat(2001) })).await.expect(400);
    let kinds = |t: &Tokens| {
        let token = t.access.clone();
        async move {
            let n = app.get("/api/v1/notifications", Some(&token)).await.expect(200).body;
            n["items"].as_array().expect("items").iter().filter(|n| n["kind"] == "affair_message").count()
        }
    };
    assert_eq!(kinds(&c1).await, 1, "the handler who must act is told");
    let reply = app.post(&url, Some(&c1.access), &json!({ "body": "审核通过后两个工作日内" })).await.expect(201).body;
    assert_eq!(reply["from_applicant"], false);
    assert_eq!(reply["sender"]["name"], "李辅导");
    assert_eq!(kinds(&s1).await, 1, "the applicant is told");
    let list = app.get(&url, Some(&s1.access)).await.expect(200).body;
    let bodies: Vec<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies, vec!["请问何时可以领取？", "审核通过后两个工作日内"]);

    // Someone the affair is copied to reads the affair (and its material) but not the conversation.
    let admin = app.login("it_admin").await;
    let teacher_id = app.user_id(&admin, "teacher1").await;
    app.post(
        &format!("/api/v1/tasks/{}/actions", pending_task(&affair)),
        Some(&c1.access),
        &json!({ "action": "cc", "user_ids": [teacher_id] }),
    )
    .await
    .expect(200);
    let teacher = app.login("teacher1").await;
    app.get(&format!("/api/v1/affairs/{id}"), Some(&teacher.access)).await.expect(200);
    app.get(&format!("/api/v1/attachments/{file_id}"), Some(&teacher.access)).await.expect(200);
    app.get(&url, Some(&teacher.access)).await.expect(403);
    app.post(&url, Some(&teacher.access), &json!({ "body": "我也看看" })).await.expect(403);
    // The 学工处 administrator supervises 学工处's affairs: reads the conversation, does not write.
    let xgc = app.login("xgc_admin").await;
    assert_eq!(app.get(&url, Some(&xgc.access)).await.expect(200).body["total"], 2);
    app.post(&url, Some(&xgc.access), &json!({ "body": "督办" })).await.expect(403);
}
db_test!(affair_messages, messages_pass_between_the_applicant_and_the_handlers);
