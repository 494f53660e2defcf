//! Applying from a guide with attachments, the affair page (materials, timeline, rating), returns
//! and resubmissions with new materials, withdrawals, drafts, and refused uploads.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongban_server::entity::{file, guide};

use crate::affairs::pending_task;
use crate::db_test;
use crate::helpers::{Resp, TestApp, Tokens};

/// A small, real PDF.
pub(crate) const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
/// A 1×1 PNG.
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

/// A multipart body with one file part and optional text parts.
pub(crate) fn multipart(filename: Option<&str>, data: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----tongban-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some(name) = filename {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Upload a material, returning the raw response.
pub(crate) async fn try_upload(app: &TestApp, who: &Tokens, filename: &str, data: &[u8]) -> Resp {
    let (ct, body) = multipart(Some(filename), data, &[("field", "materials")]);
    app.post_raw("/api/v1/attachments", Some(&who.access), &ct, body).await
}

/// Upload a material, asserting success; returns its id.
pub(crate) async fn upload(app: &TestApp, who: &Tokens, filename: &str, data: &[u8]) -> String {
    let r = try_upload(app, who, filename, data).await.expect(201);
    assert_eq!(r.body["sha256"], hex::encode(Sha256::digest(data)));
    assert_eq!(r.body["size"], data.len());
    assert!(r.body["affair_id"].is_null(), "not attached until a form names it");
    r.body["id"].as_str().expect("id").to_owned()
}

/// The id of a process by key (as it_admin).
pub(crate) async fn process_id(app: &TestApp, key: &str) -> String {
    let admin = app.login("it_admin").await;
    let list = app.get("/api/v1/processes", Some(&admin.access)).await.expect(200).body;
    list.as_array().expect("list").iter().find(|p| p["key"] == key).expect("process")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Puts version 2 of the demo 在读证明 online with an optional material field (证明材料: PDF or
/// images, at most 1 MiB each).
pub(crate) async fn enrolment_with_materials(app: &TestApp) -> String {
    let admin = app.login("it_admin").await;
    let pid = process_id(app, "enrolment_certificate").await;
    let detail = app.get(&format!("/api/v1/processes/{pid}"), Some(&admin.access)).await.expect(200).body;
    let mut form = detail["draft_form"].clone();
    form["fields"].as_array_mut().expect("fields").push(json!({
        "key": "materials", "label": "证明材料", "label_en": "Supporting documents",
        "kind": { "type": "file", "max_files": 3, "max_size_mb": 1, "accept": [".pdf", "image/*"] },
        "required": false
    }));
    let body = json!({
        "name": detail["name"], "department_id": detail["department_id"], "description": detail["description"],
        "definition": detail["draft"], "form": form, "version": detail["version"]
    });
    let saved = app.put(&format!("/api/v1/processes/{pid}"), Some(&admin.access), &body).await.expect(200).body;
    app.post(
        &format!("/api/v1/processes/{pid}/versions"),
        Some(&admin.access),
        &json!({ "status": "online", "version": saved["version"] }),
    )
    .await
    .expect(201);
    pid
}

/// The published guide of a process: the demo college's, or one made for the test.
pub(crate) async fn guide_of(app: &TestApp, process_id: &str) -> String {
    let pid: uuid::Uuid = process_id.parse().expect("uuid");
    let db = app.state.db.conn();
    let found = guide::Entity::find()
        .filter(guide::Column::ProcessId.eq(pid))
        .filter(guide::Column::Status.eq("published"))
        .one(db)
        .await
        .expect("guides");
    if let Some(g) = found {
        return g.id.to_string();
    }
    let dept: uuid::Uuid = app.department("xgc").await["id"].as_str().expect("id").parse().expect("uuid");
    let t = chrono::Utc::now();
    let g = guide::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        code: Set(format!("test-{pid}")),
        department_id: Set(dept),
        category_id: Set(None),
        process_id: Set(Some(pid)),
        name: Set("在读证明开具".into()),
        name_en: Set(None),
        summary: Set(String::new()),
        keywords: Set(String::new()),
        audiences: Set(json!(["student"])),
        channels: Set(json!(["pc"])),
        status: Set("published".into()),
        published_version: Set(Some(1)),
        latest_version: Set(1),
        recommended: Set(false),
        recommend_rank: Set(0),
        protected: Set(false),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
        published_at: Set(Some(t)),
    }
    .insert(db)
    .await
    .expect("guide");
    g.id.to_string()
}

pub(crate) fn enrolment_form(materials: &[&str]) -> Value {
    json!({ "purpose": "visa", "copies": 1, "language": "en", "materials": materials })
}

/// The timeline's states by node id.
pub(crate) fn states(affair: &Value) -> Vec<(String, String)> {
    affair["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|n| (n["node_id"].as_str().expect("id").to_owned(), n["state"].as_str().expect("state").to_owned()))
        .collect()
}

fn node<'a>(affair: &'a Value, id: &str) -> &'a Value {
    affair["timeline"].as_array().expect("timeline").iter().find(|n| n["node_id"] == id).expect("node")
}

/// Wait (bounded) until `who` has a to-do item of the affair, and return it.
async fn wait_for_task(app: &TestApp, who: &Tokens, affair_id: &str) -> Value {
    for _ in 0..100 {
        let todo = app.get("/api/v1/tasks", Some(&who.access)).await.expect(200).body;
        if let Some(t) = todo["items"].as_array().expect("items").iter().find(|t| t["affair_id"] == affair_id) {
            return t.clone();
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no task of {affair_id} arrived");
}

async fn wait_for_status(app: &TestApp, who: &Tokens, affair_id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let view = app.get(&format!("/api/v1/affairs/{affair_id}"), Some(&who.access)).await.expect(200).body;
        if view["status"] == status {
            return view;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{affair_id} never became {status}");
}

async fn act(app: &TestApp, who: &Tokens, task: &str, body: Value) -> Value {
    app.post(&format!("/api/v1/tasks/{task}/actions"), Some(&who.access), &body).await.expect(200).body
}

async fn a_student_applies_from_the_guide_with_a_material_and_rates_the_result(app: &TestApp) {
    let pid = enrolment_with_materials(app).await;
    let guide_id = guide_of(app, &pid).await;
    let student = app.login("student1").await;
    // The student finds the service by its pinyin initials.
    let found = app.get("/api/v1/search?q=zdzm", Some(&student.access)).await.expect(200).body;
    assert_eq!(found["guides"]["items"][0]["id"], guide_id.as_str(), "zdzm finds 在读证明 first: {found}");
    let file_id = upload(app, &student, "签证邀请函.pdf", PDF).await;

    // Exactly one of guide_id and process_key.
    let both = json!({ "guide_id": guide_id, "process_key": "enrolment_certificate", "form": enrolment_form(&[]) });
    let r = app.post("/api/v1/affairs", Some(&student.access), &both).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "exactly_one");
    let r = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "guide_id": uuid::Uuid::now_v7(), "form": {} }))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "guide_id");

    let affair = app
        .post(
            "/api/v1/affairs",
            Some(&student.access),
            &json!({ "guide_id": guide_id, "form": enrolment_form(&[&file_id]) }),
        )
        .await
        .expect(201)
        .body;
    let id = affair["id"].as_str().expect("id").to_owned();
    assert_eq!(affair["guide_id"], guide_id.as_str(), "the hall counts affairs by guide");
    assert_eq!(affair["process_version"], 2);
    assert_eq!(affair["process_name"], "在读证明");
    assert_eq!(affair["materials"][0]["field_key"], "materials");
    assert_eq!(affair["materials"][0]["label"], "证明材料");
    assert_eq!(affair["materials"][0]["files"][0]["id"], file_id.as_str());
    assert_eq!(affair["materials"][0]["files"][0]["download_url"], format!("/api/v1/attachments/{file_id}"));
    assert_eq!(
        states(&affair),
        [
            ("start", "done"),
            ("counsellor", "current"),
            ("xgc_review", "pending"),
            ("issue_certificate", "pending"),
            ("end", "pending")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(node(&affair, "counsellor")["assignees"][0]["name"], "李辅导");
    assert!(node(&affair, "counsellor")["due_at"].is_string());
    let meta = app.get(&format!("/api/v1/attachments/{file_id}/meta"), Some(&student.access)).await.expect(200).body;
    assert_eq!(meta["affair_id"], id.as_str());
    // Attached files cannot be deleted any more.
    app.delete(&format!("/api/v1/attachments/{file_id}"), Some(&student.access)).await.expect(409);

    // The counsellor finds it in the to-do list, reads the material and approves.
    let c1 = app.login("counsellor1").await;
    let todo = app.get("/api/v1/tasks", Some(&c1.access)).await.expect(200).body;
    assert_eq!(todo["total"], 1);
    let item = &todo["items"][0];
    assert_eq!(item["affair_number"], affair["number"]);
    assert_eq!(item["node_name"], "辅导员审核");
    assert_eq!(item["process_name"], "在读证明");
    assert_eq!(item["applicant_name"], "林同学");
    assert!(item["due_at"].is_string());
    assert_eq!(item["overdue"], false);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/attachments/{file_id}")))
        .bearer_auth(&c1.access)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 200);
    let disposition = res.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%E7%AD%BE%E8%AF%81%E9%82%80%E8%AF%B7%E5%87%BD.pdf"),
        "{disposition}"
    );
    assert_eq!(res.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    assert_eq!(res.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/pdf"));
    let mut res = res;
    let bytes = res.body().await.expect("body");
    assert_eq!(&bytes[..], PDF);
    let task = item["id"].as_str().expect("task id").to_owned();
    let after = act(app, &c1, &task, json!({ "action": "approve", "comment": "情况属实" })).await;
    let counsellor = node(&after, "counsellor");
    assert_eq!(counsellor["state"], "done");
    let approved = counsellor["records"].as_array().expect("records").iter().find(|r| r["action"] == "approved");
    let approved = approved.expect("an approval record");
    assert_eq!(approved["actor"]["name"], "李辅导");
    assert_eq!(approved["comment"], "情况属实");
    assert_eq!(node(&after, "xgc_review")["state"], "current");

    // 学工处 approves; the service task issues the electronic 在读证明 and the affair completes.
    let xgc = app.login("xgc_admin").await;
    let t = wait_for_task(app, &xgc, &id).await;
    act(app, &xgc, t["id"].as_str().expect("id"), json!({ "action": "approve" })).await;
    wait_for_status(app, &student, &id, "completed").await;
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 1, "{wallet}");
    let cert = &wallet["items"][0];
    assert_eq!(cert["affair_id"], id.as_str());
    assert_eq!(cert["type_code"], "enrolment");
    assert_eq!(cert["status"], "valid");
    assert!(cert["issued_by"].is_null(), "issued by the system");
    assert!(cert["body"].as_str().expect("body").starts_with("兹证明 林同学 同学"), "{cert}");
    assert!(cert["body"].as_str().expect("body").contains("本证明用于出国/签证。"), "{cert}");
    assert!(
        app.get("/api/v1/tasks", Some(&xgc.access)).await.expect(200).body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|t| t["affair_id"] != id.as_str()),
        "nothing is left to finish by hand"
    );

    let view = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert!(states(&view).iter().all(|(_, s)| s == "done"), "{:?}", states(&view));
    assert!(view["allowed_actions"].as_array().expect("a").contains(&json!("rate")));
    assert!(view["history"].as_array().expect("history").len() >= 4, "the history is kept");
    let url = format!("/api/v1/affairs/{id}/rating");
    app.post(&url, Some(&student.access), &json!({ "score": 6 })).await.expect(400);
    app.post(&url, Some(&xgc.access), &json!({ "score": 1 })).await.expect(403);
    let rated = app.post(&url, Some(&student.access), &json!({ "score": 5, "comment": "很快" })).await.expect(201).body;
    assert_eq!(rated["score"], 5);
    let again = app.post(&url, Some(&student.access), &json!({ "score": 1 })).await.expect(409);
    assert_eq!(again.code(), "already_exists");
    let view = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert_eq!(view["rating"]["score"], 5);
    assert_eq!(view["rating"]["comment"], "很快");
    assert!(!view["allowed_actions"].as_array().expect("a").contains(&json!("rate")));
    let stored = tongban_server::entity::affair_rating::Entity::find()
        .one(app.state.db.conn())
        .await
        .expect("ratings")
        .expect("a rating");
    assert_eq!(stored.guide_id.map(|g| g.to_string()), Some(guide_id), "ratings count per guide");
}
db_test!(apply_from_guide_and_rate, a_student_applies_from_the_guide_with_a_material_and_rates_the_result);

async fn a_returned_affair_is_resubmitted_with_a_new_material_or_withdrawn(app: &TestApp) {
    enrolment_with_materials(app).await;
    let student = app.login("student1").await;
    let c1 = app.login("counsellor1").await;
    let first = upload(app, &student, "invitation.pdf", PDF).await;
    let apply = |files: Vec<String>| {
        let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&files.iter().map(String::as_str).collect::<Vec<_>>()) });
        let token = student.access.clone();
        async move { app.post("/api/v1/affairs", Some(&token), &body).await }
    };
    let affair = apply(vec![first.clone()]).await.expect(201).body;
    let id = affair["id"].as_str().expect("id").to_owned();
    // Rating before completion is refused.
    let r = app.post(&format!("/api/v1/affairs/{id}/rating"), Some(&student.access), &json!({ "score": 4 })).await;
    assert_eq!(r.expect(409).code(), "affair_state_conflict");

    let returned = act(
        app,
        &c1,
        &pending_task(&affair),
        json!({ "action": "return", "return_to": "applicant", "comment": "邀请函不清晰，请重新上传" }),
    )
    .await;
    assert_eq!(returned["status"], "returned");
    let view = app.get(&format!("/api/v1/affairs/{id}"), Some(&student.access)).await.expect(200).body;
    assert_eq!(node(&view, "start")["state"], "current", "waiting for the applicant");
    assert_eq!(node(&view, "counsellor")["state"], "done");

    // A file of another student cannot be slipped in; a PNG passes the field's accept list.
    let other = app.login("student2").await;
    let foreign = upload(app, &other, "foreign.pdf", PDF).await;
    let r = app
        .post(
            &format!("/api/v1/affairs/{id}/resubmit"),
            Some(&student.access),
            &json!({ "form": enrolment_form(&[&foreign]) }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "attachment_not_found");
    assert_eq!(r.body["errors"][0]["field"], "form.materials");
    let second = upload(app, &student, "invitation-clear.png", PNG).await;
    let again = app
        .post(
            &format!("/api/v1/affairs/{id}/resubmit"),
            Some(&student.access),
            &json!({ "form": enrolment_form(&[&second]), "comment": "已重新上传" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(again["status"], "submitted");
    let files: Vec<&str> =
        again["materials"][0]["files"].as_array().expect("files").iter().filter_map(|f| f["id"].as_str()).collect();
    assert_eq!(files, vec![second.as_str()]);
    let meta = app.get(&format!("/api/v1/attachments/{second}/meta"), Some(&student.access)).await.expect(200).body;
    assert_eq!(meta["affair_id"], id.as_str());
    assert_eq!(meta["content_type"], "image/png");
    let foreign_meta =
        app.get(&format!("/api/v1/attachments/{foreign}/meta"), Some(&other.access)).await.expect(200).body;
    assert!(foreign_meta["affair_id"].is_null(), "the refused resubmission attached nothing");
    // The first material stays with the affair: it was submitted once.
    app.delete(&format!("/api/v1/attachments/{first}"), Some(&student.access)).await.expect(409);
    app.get(&format!("/api/v1/attachments/{first}"), Some(&student.access)).await.expect(200);

    // A fresh application is withdrawn before anyone acts: the nodes it never reached are skipped.
    let fresh = apply(vec![]).await.expect(201).body;
    let fid = fresh["id"].as_str().expect("id");
    let w = app
        .post(&format!("/api/v1/affairs/{fid}/withdraw"), Some(&student.access), &json!({ "comment": "不需要了" }))
        .await
        .expect(200)
        .body;
    assert_eq!(w["status"], "withdrawn");
    assert_eq!(node(&w, "start")["state"], "done");
    assert_eq!(node(&w, "xgc_review")["state"], "skipped");
    assert!(w["allowed_actions"].as_array().expect("a").iter().all(|a| a != "withdraw" && a != "rate"));
}
db_test!(
    return_resubmit_and_withdraw_with_materials,
    a_returned_affair_is_resubmitted_with_a_new_material_or_withdrawn
);

async fn drafts_are_saved_incomplete_and_submitted_once(app: &TestApp) {
    enrolment_with_materials(app).await;
    let student = app.login("student1").await;
    let other = app.login("student2").await;
    let r = app
        .post("/api/v1/drafts", Some(&student.access), &json!({ "process_key": "enrolment_certificate", "form": [] }))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "form");
    let d = app
        .post(
            "/api/v1/drafts",
            Some(&student.access),
            &json!({ "process_key": "enrolment_certificate", "form": { "purpose": "visa" } }),
        )
        .await
        .expect(201)
        .body;
    let id = d["id"].as_str().expect("id").to_owned();
    assert_eq!(d["version"], 1);
    assert_eq!(d["process_key"], "enrolment_certificate");
    let list = app.get("/api/v1/drafts", Some(&student.access)).await.expect(200).body;
    assert_eq!(list["items"][0]["process_key"], "enrolment_certificate");
    assert_eq!(list["total"], 1);
    assert_eq!(app.get("/api/v1/drafts", Some(&other.access)).await.expect(200).body["total"], 0);

    // Nobody else sees or touches it.
    let url = format!("/api/v1/drafts/{id}");
    app.get(&url, Some(&other.access)).await.expect(404);
    app.put(&url, Some(&other.access), &json!({ "form": {}, "version": 1 })).await.expect(404);
    app.delete(&url, Some(&other.access)).await.expect(404);
    app.post(&format!("{url}/submit"), Some(&other.access), &json!({})).await.expect(404);

    // Incomplete, it cannot be submitted and stays.
    let r = app.post(&format!("{url}/submit"), Some(&student.access), &json!({})).await.expect(400);
    let fields: Vec<&str> =
        r.body["errors"].as_array().expect("e").iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fields.contains(&"form.copies"), "{fields:?}");
    app.get(&url, Some(&student.access)).await.expect(200);

    let file_id = upload(app, &student, "passport.pdf", PDF).await;
    let saved =
        app.put(&url, Some(&student.access), &json!({ "form": enrolment_form(&[&file_id]), "version": 1 })).await;
    let saved = saved.expect(200).body;
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["form"]["copies"], 1);
    let stale = app.put(&url, Some(&student.access), &json!({ "form": {}, "version": 1 })).await.expect(409);
    assert_eq!(stale.code(), "version_conflict");

    let submit = || {
        app.client
            .post(app.url(&format!("{url}/submit")))
            .bearer_auth(&student.access)
            .insert_header(("idempotency-key", "draft-submit-1"))
            .send()
    };
    let mut first = submit().await.expect("send");
    assert_eq!(first.status().as_u16(), 201);
    let affair: Value = first.json().await.expect("json");
    assert_eq!(affair["status"], "submitted");
    assert_eq!(affair["materials"][0]["files"][0]["id"], file_id.as_str());
    let mut retry = submit().await.expect("send");
    assert_eq!(retry.status().as_u16(), 201, "a retry with the same key returns the first result");
    let replayed: Value = retry.json().await.expect("json");
    assert_eq!(replayed["number"], affair["number"]);
    app.get(&url, Some(&student.access)).await.expect(404);
    app.post(&format!("{url}/submit"), Some(&student.access), &json!({})).await.expect(404);
    assert_eq!(app.get("/api/v1/drafts", Some(&student.access)).await.expect(200).body["total"], 0);
    let mine = app.get("/api/v1/affairs", Some(&student.access)).await.expect(200).body;
    assert_eq!(mine["total"], 1, "submitted once");

    // Deleting a draft.
    let d2 = app
        .post("/api/v1/drafts", Some(&student.access), &json!({ "process_key": "enrolment_certificate" }))
        .await
        .expect(201)
        .body;
    let url2 = format!("/api/v1/drafts/{}", d2["id"].as_str().expect("id"));
    app.delete(&url2, Some(&student.access)).await.expect(204);
    app.get(&url2, Some(&student.access)).await.expect(404);
}
db_test!(drafts, drafts_are_saved_incomplete_and_submitted_once);

/// Regular files under a directory, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn bad_uploads_are_refused_and_leave_nothing_behind(app: &TestApp) {
    let student = app.login("student1").await;
    let big: Vec<u8> = PDF.iter().copied().chain(std::iter::repeat_n(b' ', 2048)).collect();
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("oversized", "big.pdf", big, 413),
        ("a PNG behind .pdf", "scan.pdf", PNG.to_vec(), 415),
        ("an executable behind .jpg", "photo.jpg", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0".to_vec(), 415),
        ("path traversal", "../../etc/passwd.pdf", PDF.to_vec(), 400),
        ("a hidden file", ".env.pdf", PDF.to_vec(), 400),
        ("an extension outside the allowlist", "run.exe", PDF.to_vec(), 415),
        ("empty", "empty.pdf", Vec::new(), 400),
    ];
    for (what, name, data, status) in cases {
        let r = try_upload(app, &student, name, &data).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        r.code();
    }
    let (ct, body) = multipart(None, b"", &[("field", "materials")]);
    let r = app.post_raw("/api/v1/attachments", Some(&student.access), &ct, body).await.expect(400);
    assert_eq!(r.body["errors"][0]["field"], "file", "the file part is missing");
    let r = app.post("/api/v1/attachments", Some(&student.access), &json!({ "file": "x" })).await.expect(415);
    assert_eq!(r.code(), "unsupported_media_type");
    let (ct, body) = multipart(Some("ok.pdf"), PDF, &[]);
    app.post_raw("/api/v1/attachments", None, &ct, body).await.expect(401);

    let rows = file::Entity::find().count(app.state.db.conn()).await.expect("count");
    assert_eq!(rows, 0, "no files row");
    let stored = files_under(&app.state.settings.data_dir.join("files"));
    assert!(stored.is_empty(), "no object in the store: {stored:?}");

    // A good one is stored once, and its uploader may delete it while it is unattached.
    let id = upload(app, &student, "ok.pdf", PDF).await;
    assert_eq!(files_under(&app.state.settings.data_dir.join("files")).len(), 1);
    app.delete(&format!("/api/v1/attachments/{id}"), Some(&app.login("student2").await.access)).await.expect(404);
    app.delete(&format!("/api/v1/attachments/{id}"), Some(&student.access)).await.expect(204);
    app.get(&format!("/api/v1/attachments/{id}"), Some(&student.access)).await.expect(404);
    assert!(files_under(&app.state.settings.data_dir.join("files")).is_empty(), "the object is removed");
}
db_test!(
    bad_uploads,
    |s: &mut tongban_server::config::Settings| s.storage.max_file_bytes = 1024,
    bad_uploads_are_refused_and_leave_nothing_behind
);

async fn uploads_never_submitted_expire_after_a_day(app: &TestApp) {
    enrolment_with_materials(app).await;
    let student = app.login("student1").await;
    let loose = upload(app, &student, "loose.pdf", PDF).await;
    let drafted = upload(app, &student, "drafted.pdf", PDF).await;
    let submitted = upload(app, &student, "submitted.pdf", PDF).await;
    let fresh = upload(app, &student, "fresh.pdf", PDF).await;
    app.post(
        "/api/v1/drafts",
        Some(&student.access),
        &json!({ "process_key": "enrolment_certificate", "form": { "materials": [drafted] } }),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/affairs",
        Some(&student.access),
        &json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[&submitted]) }),
    )
    .await
    .expect(201);
    let old: Vec<uuid::Uuid> = [&loose, &drafted, &submitted].iter().map(|s| s.parse().expect("uuid")).collect();
    file::Entity::update_many()
        .col_expr(
            file::Column::CreatedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::TimeDelta::hours(25)),
        )
        .filter(file::Column::Id.is_in(old))
        .exec(app.state.db.conn())
        .await
        .expect("age the uploads");
    assert_eq!(files_under(&app.state.settings.data_dir.join("files")).len(), 4);

    let removed = tongban_server::services::attachments::sweep_orphans(&app.state).await.expect("sweep");
    assert_eq!(removed, 1, "only the old upload no draft or affair names");
    app.get(&format!("/api/v1/attachments/{loose}/meta"), Some(&student.access)).await.expect(404);
    for kept in [&drafted, &submitted, &fresh] {
        app.get(&format!("/api/v1/attachments/{kept}"), Some(&student.access)).await.expect(200);
    }
    assert_eq!(files_under(&app.state.settings.data_dir.join("files")).len(), 3, "its object is gone too");
    assert_eq!(tongban_server::services::attachments::sweep_orphans(&app.state).await.expect("sweep"), 0);
}
db_test!(orphan_uploads, uploads_never_submitted_expire_after_a_day);
