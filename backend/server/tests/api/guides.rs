//! Service guides: versions and publication, who may edit, sample files, the public read API.

use std::path::Path;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongban_server::entity::file;

use crate::db_test;
use crate::helpers::{TestApp, Tokens};

pub(crate) const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A complete guide content (publishable), for everyone unless `audiences` says otherwise.
pub(crate) fn content(name: &str) -> Value {
    json!({
        "name": name,
        "summary": "测试用办事指南",
        "conditions": "在籍学生",
        "time_limit_days": 3,
        "materials": [ { "name": "申请表", "form": "original", "copies": 1 } ],
        "offline_steps": [ "到窗口提交申请表" ],
        "contact": { "phone": "0734-8888000", "location": "行政楼 101 室" },
        "faq": [ { "question": "要带什么？", "answer": "申请表。" } ]
    })
}

/// The id of a process by key, as a guide manager sees it.
pub(crate) async fn process_id(app: &TestApp, who: &Tokens, key: &str) -> String {
    let list = app.get("/api/v1/processes", Some(&who.access)).await.expect(200).body;
    list.as_array().expect("processes").iter().find(|p| p["key"] == key).expect("process")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Create a guide in `dept`, asserting success.
pub(crate) async fn create_guide(app: &TestApp, who: &Tokens, code: &str, dept: &str, content: Value) -> Value {
    let d = app.department(dept).await;
    let g = app
        .post(
            "/api/v1/guides",
            Some(&who.access),
            &json!({ "code": code, "department_id": d["id"], "content": content }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(g["status"], "draft");
    assert_eq!(g["latest_version"], 1);
    assert_eq!(g["shown_status"], "draft");
    g
}

/// Publish the latest draft, asserting success; returns the guide.
pub(crate) async fn publish(app: &TestApp, who: &Tokens, g: &Value) -> Value {
    let id = g["id"].as_str().expect("id");
    let v = app.get(&format!("/api/v1/guides/{id}?version={}", g["latest_version"]), Some(&who.access)).await;
    let version = v.expect(200).body["version"].clone();
    let p = app
        .post(&format!("/api/v1/guides/{id}/publish"), Some(&who.access), &json!({ "version": version }))
        .await
        .expect(200)
        .body;
    assert_eq!(p["status"], "published");
    p
}

/// A published demo guide by code.
pub(crate) async fn demo_guide(app: &TestApp, code: &str) -> Value {
    let r = app.get("/api/v1/guides?page_size=100", None).await.expect(200).body;
    r["items"].as_array().expect("items").iter().find(|g| g["code"] == code).cloned().expect("demo guide")
}

async fn public_ids(app: &TestApp) -> Vec<String> {
    let r = app.get("/api/v1/guides?page_size=100", None).await.expect(200).body;
    r["items"].as_array().expect("items").iter().map(|g| g["id"].as_str().expect("id").to_owned()).collect()
}

async fn a_guide_is_drafted_published_and_superseded(app: &TestApp) {
    let xgc = app.login("xgc_admin").await;
    let leave = process_id(app, &xgc, "student_leave").await;
    let mut c = content("测试请假指南");
    c["process_id"] = json!(leave);
    c["audiences"] = json!(["student"]);
    c["summary"] = json!("<script>alert(1)</script>' OR 1=1 --");
    let g = create_guide(app, &xgc, "test_leave", "xgc", c.clone()).await;
    let id = g["id"].as_str().expect("id").to_owned();
    let url = format!("/api/v1/guides/{id}");
    assert_eq!(g["content"]["summary"], "<script>alert(1)</script>' OR 1=1 --", "stored as text");
    // 网上办理流程 drawn from the process's online version.
    let flow = &g["flow"];
    assert_eq!(flow["process_key"], "student_leave");
    let names: Vec<&str> = flow["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["name"].as_str()).collect();
    assert!(names.contains(&"辅导员审批"), "{names:?}");
    assert!(flow["nodes"].as_array().expect("nodes").iter().any(|n| n["kind"] == "user_task"));
    assert!(!flow["flows"].as_array().expect("flows").is_empty());

    // Drafts are invisible to the public.
    app.get(&url, None).await.expect(404);
    assert!(!public_ids(app).await.contains(&id));
    let own = app.get(&url, Some(&xgc.access)).await.expect(200);
    assert_eq!(own.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("private, no-store"));

    // A stale edit is refused and changes nothing.
    let mut c2 = c.clone();
    c2["name"] = json!("测试请假指南（修订）");
    let r = app
        .put(&url, Some(&xgc.access), &json!({ "version": g["version"].as_i64().expect("v") - 1, "content": c2 }))
        .await;
    assert_eq!(r.expect(409).code(), "version_conflict");
    let v1 = app.get(&format!("{url}/versions/1"), Some(&xgc.access)).await.expect(200).body;
    assert_eq!(v1["content"]["name"], "测试请假指南");
    let edited =
        app.put(&url, Some(&xgc.access), &json!({ "version": g["version"], "content": c2 })).await.expect(200).body;
    assert_eq!(edited["latest_version"], 1, "the draft itself is edited");
    assert_eq!(edited["content"]["name"], "测试请假指南（修订）");

    // Publishing with a stale version is refused; then it goes into the hall.
    let r = app.post(&format!("{url}/publish"), Some(&xgc.access), &json!({ "version": g["version"] })).await;
    assert_eq!(r.expect(409).code(), "version_conflict");
    app.get(&url, None).await.expect(404);
    let p = app.post(&format!("{url}/publish"), Some(&xgc.access), &json!({ "version": edited["version"] })).await;
    let p = p.expect(200).body;
    assert_eq!((p["status"].as_str(), p["published_version"].as_i64()), (Some("published"), Some(1)));
    let public = app.get(&url, None).await.expect(200);
    assert_eq!(public.body["content"]["name"], "测试请假指南（修订）");
    assert_eq!(public.body["shown_version"], 1);
    let etag = public.headers.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_owned();
    assert_eq!(public.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("public, max-age=60"));
    assert!(public_ids(app).await.contains(&id));
    let r = app.client.get(app.url(&url)).insert_header(("if-none-match", etag.as_str())).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 304);

    // A second edit is version 2, a draft; version 1 stays public.
    let mut c3 = c.clone();
    c3["name"] = json!("测试请假指南（第二版）");
    let e2 =
        app.put(&url, Some(&xgc.access), &json!({ "version": p["version"], "content": c3 })).await.expect(200).body;
    assert_eq!((e2["latest_version"].as_i64(), e2["shown_version"].as_i64()), (Some(2), Some(2)));
    assert_eq!(e2["shown_status"], "draft");
    assert_eq!(e2["published_version"], 1);
    let public = app.get(&url, None).await.expect(200).body;
    assert_eq!(public["content"]["name"], "测试请假指南（修订）");
    app.get(&format!("{url}?version=2"), None).await.expect(404);
    app.get(&format!("{url}?version=2"), Some(&app.login("student1").await.access)).await.expect(404);
    let draft = app.get(&format!("{url}?version=2"), Some(&xgc.access)).await.expect(200).body;
    assert_eq!(draft["content"]["name"], "测试请假指南（第二版）");

    // Publishing version 2 supersedes version 1.
    let p2 = app.post(&format!("{url}/publish"), Some(&xgc.access), &json!({ "version": e2["version"] })).await;
    assert_eq!(p2.expect(200).body["published_version"], 2);
    let versions = app.get(&format!("{url}/versions"), Some(&xgc.access)).await.expect(200).body;
    let states: Vec<(i64, &str)> = versions
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["number"].as_i64().unwrap_or(0), v["status"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(states, vec![(2, "published"), (1, "superseded")]);
    let public = app.get(&url, None).await.expect(200);
    assert_eq!(public.body["content"]["name"], "测试请假指南（第二版）");
    assert_ne!(public.headers.get("etag").and_then(|v| v.to_str().ok()), Some(etag.as_str()), "a new tag");
    // Nothing to publish now.
    let g = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    let r = app.post(&format!("{url}/publish"), Some(&xgc.access), &json!({ "version": g["version"] })).await;
    assert_eq!(r.expect(422).code(), "rule_violation");

    // Off the hall, and back.
    let off = app.post(&format!("{url}/offline"), Some(&xgc.access), &json!({ "version": g["version"] })).await;
    let off = off.expect(200).body;
    assert_eq!(off["status"], "offline");
    app.get(&url, None).await.expect(404);
    assert!(!public_ids(app).await.contains(&id));
    let back = app.post(&format!("{url}/publish"), Some(&xgc.access), &json!({ "version": off["version"] })).await;
    assert_eq!(back.expect(200).body["published_version"], 2);
    app.get(&url, None).await.expect(200);

    // Every change is in the audit trail.
    let admin = app.login("auditor").await;
    let audit = app.get(&format!("/api/v1/audit-logs?object_type=guide&object_id={id}"), Some(&admin.access)).await;
    let actions: Vec<String> = audit.expect(200).body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for a in ["guide.create", "guide.update", "guide.publish", "guide.offline"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
db_test!(guide_lifecycle, a_guide_is_drafted_published_and_superseded);

async fn only_the_owning_department_edits_its_guides(app: &TestApp) {
    let xgc = app.login("xgc_admin").await;
    let jwc = app.login("jwc_admin").await;
    let published = publish(app, &xgc, &create_guide(app, &xgc, "owned", "xgc", content("学工处指南")).await).await;
    let id = published["id"].as_str().expect("id");
    let url = format!("/api/v1/guides/{id}");
    let body = json!({ "version": published["version"], "content": content("被改掉了") });
    assert_eq!(app.put(&url, Some(&jwc.access), &body).await.expect(403).code(), "forbidden");
    let v = json!({ "version": published["version"] });
    app.post(&format!("{url}/publish"), Some(&jwc.access), &v).await.expect(403);
    app.post(&format!("{url}/offline"), Some(&jwc.access), &v).await.expect(403);
    app.get(&format!("{url}/versions"), Some(&jwc.access)).await.expect(403);
    let up = multipart("a.pdf", PDF);
    app.post_raw(&format!("{url}/files"), Some(&jwc.access), &up.0, up.1.clone()).await.expect(403);
    let student = app.login("student1").await;
    app.put(&url, Some(&student.access), &body).await.expect(403);
    // Nothing changed.
    let now = app.get(&url, Some(&xgc.access)).await.expect(200).body;
    assert_eq!((now["version"].clone(), now["latest_version"].clone()), (published["version"].clone(), json!(1)));
    assert_eq!(now["content"]["name"], "学工处指南");

    // A draft of another department is not even visible.
    let draft = create_guide(app, &xgc, "owned_draft", "xgc", content("学工处草稿")).await;
    let durl = format!("/api/v1/guides/{}", draft["id"].as_str().expect("id"));
    app.get(&durl, Some(&jwc.access)).await.expect(404);
    let body = json!({ "version": draft["version"], "content": content("x") });
    assert_eq!(app.put(&durl, Some(&jwc.access), &body).await.expect(404).code(), "not_found");
    app.post(&format!("{durl}/publish"), Some(&jwc.access), &json!({ "version": draft["version"] })).await.expect(404);
    app.get(&format!("{durl}/versions"), Some(&jwc.access)).await.expect(404);
    let list = app.get("/api/v1/guides?include_unpublished=true&page_size=100", Some(&jwc.access)).await.expect(200);
    assert!(list.body["items"].as_array().expect("items").iter().all(|g| g["id"] != draft["id"]));
    let list = app.get("/api/v1/guides?include_unpublished=true&page_size=100", Some(&xgc.access)).await.expect(200);
    assert!(list.body["items"].as_array().expect("items").iter().any(|g| g["id"] == draft["id"]));
    app.get("/api/v1/guides?include_unpublished=true", Some(&student.access)).await.expect(403);
    app.get("/api/v1/guides?include_unpublished=true", None).await.expect(401);

    // Creating in another department, or without guide.manage, is refused.
    let d = app.department("xgc").await;
    let r = app
        .post(
            "/api/v1/guides",
            Some(&jwc.access),
            &json!({ "code": "jwc_in_xgc", "department_id": d["id"], "content": content("x") }),
        )
        .await;
    r.expect(403);
    let r = app
        .post(
            "/api/v1/guides",
            Some(&student.access),
            &json!({ "code": "st", "department_id": d["id"], "content": content("x") }),
        )
        .await;
    r.expect(403);
    // Another department's process cannot be linked.
    let seal = process_id(app, &app.login("it_admin").await, "seal_application").await;
    let mut c = content("借用流程");
    c["process_id"] = json!(seal);
    let r = app
        .post(
            "/api/v1/guides",
            Some(&xgc.access),
            &json!({ "code": "borrowed", "department_id": d["id"], "content": c }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "content.process_id");
    // Bad input of any kind is a 4xx.
    let r = app
        .post(
            "/api/v1/guides",
            Some(&xgc.access),
            &json!({ "code": "bad code!", "department_id": d["id"], "content": content("") }),
        )
        .await;
    assert_eq!(r.expect(400).code(), "validation_failed");
    let r = app
        .post(
            "/api/v1/guides",
            Some(&xgc.access),
            &json!({ "code": "owned", "department_id": d["id"], "content": content("重复") }),
        )
        .await;
    assert_eq!(r.expect(409).code(), "already_exists");

    // The built-in requirement-plan guide is the IT office's alone, even for an admin reaching its department.
    let admin = app.login("it_admin").await;
    let xgc_admin_id = app.user_id(&admin, "xgc_admin").await;
    let roles = app.get(&format!("/api/v1/users/{xgc_admin_id}/roles"), Some(&admin.access)).await.expect(200).body;
    let mut list: Vec<Value> = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| json!({ "role_id": r["role_id"], "scope": r["scope"], "department_id": r["department_id"] }))
        .collect();
    let dept_admin =
        roles["roles"].as_array().expect("roles").iter().find(|r| r["role_code"] == "dept_admin").expect("dept_admin")
            ["role_id"]
            .clone();
    list.push(
        json!({ "role_id": dept_admin, "scope": "department", "department_id": app.department("xxb").await["id"] }),
    );
    app.put(
        &format!("/api/v1/users/{xgc_admin_id}/roles"),
        Some(&admin.access),
        &json!({ "roles": list, "version": roles["version"] }),
    )
    .await
    .expect(200);
    let xgc = app.login("xgc_admin").await;
    let plan = demo_guide(app, "process_requirement_plan").await;
    assert_eq!(plan["protected"], true);
    let purl = format!("/api/v1/guides/{}", plan["id"].as_str().expect("id"));
    let full = app.get(&purl, None).await.expect(200).body;
    let body = json!({ "version": plan["version"], "content": full["content"] });
    app.put(&purl, Some(&xgc.access), &body).await.expect(403);
    app.put(&purl, Some(&admin.access), &body).await.expect(200);
}
db_test!(guide_edits_by_another_department_are_refused, only_the_owning_department_edits_its_guides);

/// A multipart body with one file part: (content type, body).
pub(crate) fn multipart(filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tongbanTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n").as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn objects_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { objects_in(&p) } else { 1 }
        })
        .sum()
}

async fn sample_files_round_trip_and_bad_uploads_store_nothing(app: &TestApp) {
    let xgc = app.login("xgc_admin").await;
    let g = create_guide(app, &xgc, "with_files", "xgc", content("带样表的指南")).await;
    let id = g["id"].as_str().expect("id");
    let files_url = format!("/api/v1/guides/{id}/files");
    let store = app.state.settings.data_dir.join("files");
    let rows = || async { file::Entity::find().count(app.state.db.conn()).await.expect("count") };

    let (ct, body) = multipart("申请表 样表.pdf", PDF);
    let f = app.post_raw(&files_url, Some(&xgc.access), &ct, body).await.expect(201).body;
    assert_eq!(f["sha256"], hex::encode(Sha256::digest(PDF)));
    assert_eq!(f["content_type"], "application/pdf");
    assert_eq!(f["filename"], "申请表 样表.pdf");
    let file_id = f["id"].as_str().expect("id").to_owned();
    let dl = format!("{files_url}/{file_id}");
    let (before_rows, before_objects) = (rows().await, objects_in(&store));
    assert_eq!(before_objects, 1);

    // Not public until a published version refers to it; its managers can fetch it.
    app.get(&dl, None).await.expect(404);
    app.get(&dl, Some(&xgc.access)).await.expect(200);
    let mut c = content("带样表的指南");
    c["sample_files"] = json!([ { "file_id": file_id, "title": "申请表（空表）" } ]);
    c["materials"][0]["sample_file_id"] = json!(file_id);
    let e = app
        .put(&format!("/api/v1/guides/{id}"), Some(&xgc.access), &json!({ "version": g["version"], "content": c }))
        .await;
    let e = e.expect(200).body;
    assert_eq!(e["files"][0]["id"], file_id.as_str());
    app.post(&format!("/api/v1/guides/{id}/publish"), Some(&xgc.access), &json!({ "version": e["version"] }))
        .await
        .expect(200);

    let mut res = app.client.get(app.url(&dl)).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 200);
    let bytes = res.body().await.expect("body");
    assert_eq!(&bytes[..], PDF);
    assert_eq!(hex::encode(Sha256::digest(&bytes)), f["sha256"].as_str().expect("sha"));
    let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    let cd = header("content-disposition");
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''%E7%94%B3%E8%AF%B7%E8%A1%A8%20%E6%A0%B7%E8%A1%A8.pdf"), "{cd}");
    // A file referred to by the published version cannot be deleted.
    let r = app.delete(&dl, Some(&xgc.access)).await;
    assert_eq!(r.expect(409).code(), "in_use");

    // Bad uploads: a PNG behind .pdf, over the limit, a path in the name, not multipart.
    let (ct, body) = multipart("lying.pdf", PNG);
    app.post_raw(&files_url, Some(&xgc.access), &ct, body).await.expect(415);
    let mut big = PDF.to_vec();
    big.extend(std::iter::repeat_n(b' ', 8 * 1024));
    let (ct, body) = multipart("big.pdf", &big);
    assert_eq!(app.post_raw(&files_url, Some(&xgc.access), &ct, body).await.expect(413).code(), "payload_too_large");
    let (ct, body) = multipart("../x.pdf", PDF);
    let r = app.post_raw(&files_url, Some(&xgc.access), &ct, body).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "invalid_filename");
    app.post_raw(&files_url, Some(&xgc.access), "application/json", b"{}".to_vec()).await.expect(415);
    let (ct, body) = multipart("ok.pdf", PDF);
    app.post_raw(&files_url, None, &ct, body.clone()).await.expect(401);
    app.post_raw(&files_url, Some(&app.login("student1").await.access), &ct, body).await.expect(403);
    assert_eq!(rows().await, before_rows, "no files row");
    assert_eq!(objects_in(&store), before_objects, "no object in the store");

    // Listing is for managers; unknown files are 404.
    let list = app.get(&files_url, Some(&xgc.access)).await.expect(200).body;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    app.get(&files_url, Some(&app.login("jwc_admin").await.access)).await.expect(403);
    app.get(&format!("{files_url}/{}", uuid::Uuid::now_v7()), None).await.expect(404);
}
db_test!(
    sample_files,
    |s: &mut tongban_server::config::Settings| s.storage.max_file_bytes = 4 * 1024,
    sample_files_round_trip_and_bad_uploads_store_nothing
);

async fn the_public_list_filters_by_theme_department_audience_and_channel(app: &TestApp) {
    let all = app.get("/api/v1/guides?page_size=100", None).await.expect(200).body;
    let total = all["total"].as_u64().expect("total");
    assert!(total >= 10, "the demo college has its guides");
    let items = all["items"].as_array().expect("items");
    assert_eq!(items[0]["recommended"], true, "recommended first");
    let cats = app.get("/api/v1/categories", None).await.expect(200).body;
    let xjxy = cats.as_array().expect("cats").iter().find(|c| c["code"] == "xjxy").expect("xjxy")["id"].clone();
    let by_cat =
        app.get(&format!("/api/v1/guides?category_id={}&page_size=100", xjxy.as_str().expect("id")), None).await;
    let by_cat = by_cat.expect(200).body;
    assert!(by_cat["total"].as_u64().expect("t") > 0 && by_cat["total"].as_u64().expect("t") < total);
    assert!(by_cat["items"].as_array().expect("i").iter().all(|g| g["category_id"] == xjxy));
    let visitors = app.get("/api/v1/guides?audience=visitor&page_size=100", None).await.expect(200).body;
    assert!(visitors["items"].as_array().expect("i").iter().all(|g| {
        let a = g["audiences"].as_array().expect("a");
        a.is_empty() || a.contains(&json!("visitor"))
    }));
    assert!(visitors["items"].as_array().expect("i").iter().any(|g| g["code"] == "visitor_entry"));
    assert!(visitors["items"].as_array().expect("i").iter().all(|g| g["code"] != "enrolment_certificate"));
    let wechat = app.get("/api/v1/guides?channel=wechat&page_size=100", None).await.expect(200).body;
    assert!(wechat["items"].as_array().expect("i").iter().all(|g| g["code"] != "process_requirement_plan"));
    let xgc = app.department("xgc").await;
    let by_dept =
        app.get(&format!("/api/v1/guides?department_id={}&page_size=100", xgc["id"].as_str().expect("id")), None).await;
    assert!(by_dept.expect(200).body["items"].as_array().expect("i").iter().all(|g| g["department_id"] == xgc["id"]));
    let page = app.get("/api/v1/guides?page=2&page_size=5", None).await.expect(200).body;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["items"][0]["id"], items[5]["id"]);
    // A demo guide linked to a process shows its flow; an offline one says where to go.
    let cert = demo_guide(app, "enrolment_certificate").await;
    assert_eq!(cert["online"], true);
    let page = app.get(&format!("/api/v1/guides/{}", cert["id"].as_str().expect("id")), None).await.expect(200).body;
    assert_eq!(page["flow"]["process_key"], "enrolment_certificate");
    assert_eq!(page["department_name"], "学生工作处");
    let card = demo_guide(app, "campus_card").await;
    assert_eq!(card["online"], false);
    let page = app.get(&format!("/api/v1/guides/{}", card["id"].as_str().expect("id")), None).await.expect(200).body;
    assert!(page["flow"].is_null());
    assert_eq!(page["content"]["fee"]["free"], false);
    assert!(!page["content"]["offline_steps"].as_array().expect("steps").is_empty());
    // Bad queries are 400.
    app.get("/api/v1/guides?audience=martian", None).await.expect(400);
    app.get("/api/v1/guides?page_size=1000", None).await.expect(400);
    app.get("/api/v1/guides?category_id=nope", None).await.expect(400);
    app.get(&format!("/api/v1/guides/{}?version=0", cert["id"].as_str().expect("id")), None).await.expect(400);
    app.get("/api/v1/guides/not-a-uuid", None).await.expect(400);
}
db_test!(public_guide_list, the_public_list_filters_by_theme_department_audience_and_channel);
