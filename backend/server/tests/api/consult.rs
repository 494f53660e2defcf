//! 在线咨询: a student asks, the owning department answers, the answer becomes the public FAQ.

use serde_json::{Value, json};

use crate::db_test;
use crate::guides::{content, create_guide, demo_guide};
use crate::helpers::TestApp;

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().filter_map(|q| q["id"].as_str().map(str::to_owned)).collect()
}

async fn a_question_is_answered_by_the_owning_department_and_becomes_faq(app: &TestApp) {
    let guide = demo_guide(app, "enrolment_certificate").await;
    let gid = guide["id"].as_str().expect("id");
    let qurl = format!("/api/v1/guides/{gid}/questions");
    let ask = json!({ "body": "英文在读证明需要几个工作日？" });
    assert_eq!(app.post(&qurl, None, &ask).await.expect(401).code(), "unauthenticated");
    let s1 = app.login("student1").await;
    let q = app.post(&qurl, Some(&s1.access), &ask).await.expect(201).body;
    assert_eq!(
        (q["status"].as_str(), q["is_faq"].as_bool(), q["mine"].as_bool()),
        (Some("open"), Some(false), Some(true))
    );
    let id = q["id"].as_str().expect("id").to_owned();
    app.post(&qurl, Some(&s1.access), &json!({ "body": "" })).await.expect(400);

    // Before it is answered and published, only the asker and the department's staff see it.
    assert!(ids(&app.get(&qurl, None).await.expect(200).body).is_empty());
    assert_eq!(ids(&app.get(&qurl, Some(&s1.access)).await.expect(200).body), vec![id.clone()]);
    let s2 = app.login("student2").await;
    assert!(ids(&app.get(&qurl, Some(&s2.access)).await.expect(200).body).is_empty());
    let xgc = app.login("xgc_admin").await;
    let inbox = app.get("/api/v1/questions?status=open", Some(&xgc.access)).await.expect(200).body;
    assert!(ids(&inbox).contains(&id));
    assert_eq!(inbox["items"][0]["asker_name"], "林同学", "staff see who asked");
    let jwc = app.login("jwc_admin").await;
    assert!(!ids(&app.get("/api/v1/questions", Some(&jwc.access)).await.expect(200).body).contains(&id));
    app.get("/api/v1/questions", Some(&s1.access)).await.expect(403);

    // Another department's admin may not answer; students may not know the question exists.
    let answer = json!({ "body": "选择“中英文”即可，3 个工作日内办结。" });
    let aurl = format!("/api/v1/questions/{id}/answers");
    assert_eq!(app.post(&aurl, Some(&jwc.access), &answer).await.expect(403).code(), "forbidden");
    app.post(&aurl, Some(&s2.access), &answer).await.expect(404);
    let after = app.get(&qurl, Some(&s1.access)).await.expect(200).body;
    assert_eq!(after["items"][0]["status"], "open", "nothing changed");

    // The owning department answers; the asker is notified.
    let a = app.post(&aurl, Some(&xgc.access), &answer).await.expect(201).body;
    assert_eq!(a["status"], "answered");
    assert_eq!(a["answers"][0]["body"], answer["body"]);
    assert_eq!(a["answers"][0]["responder_name"], "学工处管理员");
    let notes = app.get("/api/v1/notifications", Some(&s1.access)).await.expect(200).body;
    assert!(notes["items"].as_array().expect("items").iter().any(|n| n["kind"] == "question_answered"), "{notes}");
    let notes = app.get("/api/v1/notifications", Some(&s2.access)).await.expect(200).body;
    assert!(notes["items"].as_array().expect("items").iter().all(|n| n["kind"] != "question_answered"));
    let open = app.get("/api/v1/questions?status=open", Some(&xgc.access)).await.expect(200).body;
    assert!(!ids(&open).contains(&id));

    // Published to the FAQ: everyone sees it, without the asker's name.
    let furl = format!("/api/v1/questions/{id}/faq");
    app.put(&furl, Some(&jwc.access), &json!({ "is_faq": true, "version": a["version"] })).await.expect(403);
    let stale = app.put(&furl, Some(&xgc.access), &json!({ "is_faq": true, "version": q["version"] })).await;
    assert_eq!(stale.expect(409).code(), "version_conflict");
    let f = app.put(&furl, Some(&xgc.access), &json!({ "is_faq": true, "version": a["version"] })).await.expect(200);
    assert_eq!(f.body["is_faq"], true);
    let public = app.get(&qurl, None).await.expect(200).body;
    assert_eq!(ids(&public), vec![id.clone()]);
    assert!(public["items"][0]["asker_name"].is_null(), "anonymous in the FAQ");
    assert_eq!(public["items"][0]["answers"][0]["body"], answer["body"]);
    assert_eq!(ids(&app.get(&qurl, Some(&s2.access)).await.expect(200).body), vec![id.clone()]);
    let mine = app.get("/api/v1/me/questions", Some(&s1.access)).await.expect(200).body;
    assert_eq!(ids(&mine), vec![id.clone()]);
    assert_eq!(app.get("/api/v1/me/questions", Some(&s2.access)).await.expect(200).body["total"], 0);

    // An open question cannot go into the FAQ.
    let q2 = app.post(&qurl, Some(&s2.access), &json!({ "body": "可以代领吗？" })).await.expect(201).body;
    let r = app
        .put(
            &format!("/api/v1/questions/{}/faq", q2["id"].as_str().expect("id")),
            Some(&xgc.access),
            &json!({ "is_faq": true, "version": q2["version"] }),
        )
        .await;
    assert_eq!(r.expect(422).code(), "rule_violation");
}
db_test!(consultation, a_question_is_answered_by_the_owning_department_and_becomes_faq);

async fn questions_on_unpublished_guides_are_not_possible(app: &TestApp) {
    let xgc = app.login("xgc_admin").await;
    let g = create_guide(app, &xgc, "draft_q", "xgc", content("未发布的指南")).await;
    let qurl = format!("/api/v1/guides/{}/questions", g["id"].as_str().expect("id"));
    let s1 = app.login("student1").await;
    app.post(&qurl, Some(&s1.access), &json!({ "body": "这是什么？" })).await.expect(404);
    app.get(&qurl, None).await.expect(404);
    app.get(&qurl, Some(&xgc.access)).await.expect(200);
    app.get(&format!("/api/v1/guides/{}/questions", uuid::Uuid::now_v7()), None).await.expect(404);
    app.post(
        &format!("/api/v1/questions/{}/answers", uuid::Uuid::now_v7()),
        Some(&xgc.access),
        &json!({ "body": "x" }),
    )
    .await
    .expect(404);
}
db_test!(consultation_on_unpublished_guides, questions_on_unpublished_guides_are_not_possible);
