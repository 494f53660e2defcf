//! Process definitions: drafts, validation, publishing, lifecycle, BPMN, and who may do what.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

pub(crate) fn leave_definition(admin: &str) -> Value {
    json!({
        "key": "ignored", "name": "ignored",
        "nodes": [
            { "id": "start", "name": "提交申请", "kind": { "type": "start" } },
            { "id": "counsellor", "name": "辅导员审批",
              "kind": { "type": "user_task", "assignees": [ { "type": "class_counsellor" } ], "mode": { "type": "single" } },
              "time_limit": { "amount": 1, "unit": "working_days" },
              "field_access": { "counsellor_opinion": "editable" } },
            { "id": "end", "name": "办结", "kind": { "type": "end", "outcome": "completed" } }
        ],
        "flows": [
            { "id": "f1", "from": "start", "to": "counsellor" },
            { "id": "f2", "from": "counsellor", "to": "end" }
        ],
        "admins": [ admin ]
    })
}

pub(crate) fn leave_form() -> Value {
    json!({ "fields": [
        { "key": "days", "label": "请假天数", "kind": { "type": "number", "min": 0.5, "max": 30 }, "required": true },
        { "key": "reason", "label": "事由", "kind": { "type": "textarea", "max_len": 500 }, "required": true },
        { "key": "counsellor_opinion", "label": "辅导员意见", "kind": { "type": "textarea" } }
    ]})
}

async fn create_leave(app: &TestApp, token: &str, department_code: &str) -> Value {
    let dept = app.department(department_code).await;
    app.post(
        "/api/v1/processes",
        Some(token),
        &json!({ "key": "leave", "name": "学生请假", "department_id": dept["id"], "description": "学生请假审批" }),
    )
    .await
    .expect(201)
    .body
}

async fn drafts_validate_publish_and_go_online(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let admin_id = me["user"]["id"].as_str().expect("id").to_owned();
    let p = create_leave(app, &admin.access, "xgc").await;
    let id = p["id"].as_str().expect("id").to_owned();
    assert_eq!(p["draft"]["key"], "leave", "the draft carries the process key");
    assert_eq!(p["versions"].as_array().expect("versions").len(), 0);

    // An incomplete draft is saved, and validation names what is wrong where.
    let mut broken = leave_definition(&admin_id);
    broken["nodes"][1]["kind"]["assignees"] = json!([]);
    broken["nodes"][1]["field_access"] = json!({ "nope": "editable" });
    let saved = app
        .put(
            &format!("/api/v1/processes/{id}"),
            Some(&admin.access),
            &json!({ "name": "学生请假", "department_id": p["department_id"], "description": "", "definition": broken, "form": leave_form(), "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;
    let report =
        app.post(&format!("/api/v1/processes/{id}/validate"), Some(&admin.access), &json!({})).await.expect(200).body;
    assert_eq!(report["valid"], false);
    assert_eq!(report, saved["validation"], "saving reported the same problems at once");
    let problems = report["problems"].as_array().expect("problems");
    assert!(problems.iter().any(|p| p["node"] == "counsellor" && p["part"] == "definition"), "{problems:?}");
    assert!(problems.iter().any(|p| p["field"] == "nope"), "{problems:?}");
    let r = app
        .post(
            &format!("/api/v1/processes/{id}/versions"),
            Some(&admin.access),
            &json!({ "testers": [admin_id], "version": saved["version"] }),
        )
        .await
        .expect(422);
    assert_eq!(r.code(), "rule_violation");

    // Fixed, it publishes as a trial with testers, then goes online.
    let saved = app
        .put(
            &format!("/api/v1/processes/{id}"),
            Some(&admin.access),
            &json!({ "name": "学生请假", "department_id": p["department_id"], "description": "", "definition": leave_definition(&admin_id), "form": leave_form(), "version": saved["version"] }),
        )
        .await
        .expect(200)
        .body;
    let report =
        app.post(&format!("/api/v1/processes/{id}/validate"), Some(&admin.access), &json!({})).await.expect(200).body;
    assert_eq!(report["valid"], true, "{report}");
    let r = app
        .post(&format!("/api/v1/processes/{id}/versions"), Some(&admin.access), &json!({ "version": saved["version"] }))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "testers");
    let v1 = app
        .post(
            &format!("/api/v1/processes/{id}/versions"),
            Some(&admin.access),
            &json!({ "testers": [admin_id], "version": saved["version"] }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["status"], "trial");
    assert_eq!(v1["definition"]["nodes"][1]["id"], "counsellor");
    app.post(
        &format!("/api/v1/processes/{id}/lifecycle"),
        Some(&admin.access),
        &json!({ "number": 1, "status": "online" }),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/processes/{id}/lifecycle"),
            Some(&admin.access),
            &json!({ "number": 1, "status": "online" }),
        )
        .await
        .expect(422);
    r.code();

    // A second version going online retires the first; the first stays readable and unchanged.
    let v2 = app
        .post(
            &format!("/api/v1/processes/{id}/versions"),
            Some(&admin.access),
            &json!({ "status": "online", "version": saved["version"] }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(v2["number"], 2);
    let detail = app.get(&format!("/api/v1/processes/{id}"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(detail["online_version"], 2);
    assert_eq!(detail["latest_version"], 2);
    let statuses: Vec<(i64, String)> = detail["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["number"].as_i64().expect("n"), v["status"].as_str().expect("s").to_owned()))
        .collect();
    assert_eq!(statuses, vec![(2, "online".to_owned()), (1, "offline".to_owned())]);
    let old = app.get(&format!("/api/v1/processes/{id}/versions/1"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(old["definition"], v1["definition"]);
    app.get(&format!("/api/v1/processes/{id}/versions/9"), Some(&admin.access)).await.expect(404);

    // Stale drafts and duplicate keys.
    let r = app
        .put(
            &format!("/api/v1/processes/{id}"),
            Some(&admin.access),
            &json!({ "name": "x", "department_id": null, "description": "", "definition": leave_definition(&admin_id), "form": leave_form(), "version": 1 }),
        )
        .await
        .expect(409);
    assert_eq!(r.code(), "version_conflict");
    let r = app
        .post("/api/v1/processes", Some(&admin.access), &json!({ "key": "leave", "name": "重复" }))
        .await
        .expect(409);
    assert_eq!(r.code(), "already_exists");
    let r = app
        .put(
            &format!("/api/v1/processes/{id}"),
            Some(&admin.access),
            &json!({ "name": "x", "department_id": null, "description": "", "definition": { "nodes": 5 }, "form": leave_form(), "version": detail["version"] }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "definition");

    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?object_type=process&object_id={id}&page_size=100"), Some(&auditor.access))
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> =
        logs["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(
        actions.contains(&"process.publish")
            && actions.contains(&"process.lifecycle")
            && actions.contains(&"process.create"),
        "{actions:?}"
    );
}
db_test!(process_lifecycle, drafts_validate_publish_and_go_online);

async fn only_process_admins_change_processes_and_departments_see_their_own(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let p = create_leave(app, &admin.access, "xgc").await;
    let other = app
        .post(
            "/api/v1/processes",
            Some(&admin.access),
            &json!({ "key": "seal", "name": "用印申请", "department_id": app.department("dzb").await["id"] }),
        )
        .await
        .expect(201)
        .body;
    let student = app.login("student1").await;
    assert_eq!(app.get("/api/v1/processes", Some(&student.access)).await.expect(403).code(), "forbidden");
    let r = app.post("/api/v1/processes", Some(&student.access), &json!({ "key": "x", "name": "x" })).await.expect(403);
    r.code();
    // 学工处's department admin reads 学工处's processes only, and changes none.
    let xgc = app.login("xgc_admin").await;
    let list = app.get("/api/v1/processes", Some(&xgc.access)).await.expect(200).body;
    let keys: Vec<&str> = list.as_array().expect("list").iter().filter_map(|p| p["key"].as_str()).collect();
    assert_eq!(keys, vec!["enrolment_certificate", "leave", "student_leave"], "学工处's own processes only");
    app.get(&format!("/api/v1/processes/{}", p["id"].as_str().expect("id")), Some(&xgc.access)).await.expect(200);
    app.get(&format!("/api/v1/processes/{}", other["id"].as_str().expect("id")), Some(&xgc.access)).await.expect(404);
    let r = app
        .post(
            &format!("/api/v1/processes/{}/lifecycle", p["id"].as_str().expect("id")),
            Some(&xgc.access),
            &json!({ "number": 1, "status": "online" }),
        )
        .await
        .expect(403);
    r.code();
}
db_test!(process_access_control, only_process_admins_change_processes_and_departments_see_their_own);

async fn bpmn_exports_and_imports_back_into_the_draft(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let admin_id = me["user"]["id"].as_str().expect("id").to_owned();
    let p = create_leave(app, &admin.access, "xgc").await;
    let id = p["id"].as_str().expect("id");
    let saved = app
        .put(
            &format!("/api/v1/processes/{id}"),
            Some(&admin.access),
            &json!({ "name": "学生请假", "department_id": p["department_id"], "description": "", "definition": leave_definition(&admin_id), "form": leave_form(), "version": p["version"] }),
        )
        .await
        .expect(200)
        .body;
    let res = app.client.get(app.url(&format!("/api/v1/processes/{id}/bpmn"))).bearer_auth(&admin.access).send().await;
    let mut res = res.expect("send");
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/xml"))
    );
    let xml = String::from_utf8(res.body().await.expect("body").to_vec()).expect("utf8");
    assert!(xml.contains("<bpmn:userTask id=\"counsellor\" name=\"辅导员审批\">"), "{xml}");

    // A modeler renames the task; importing updates the same process's draft.
    let edited = xml.replace("辅导员审批", "辅导员审核");
    let r = app
        .post_raw("/api/v1/processes/import-bpmn", Some(&admin.access), "application/xml", edited.into_bytes())
        .await
        .expect(200);
    assert_eq!(r.body["id"], p["id"]);
    assert_eq!(r.body["draft"]["nodes"][1]["name"], "辅导员审核");
    assert_eq!(r.body["draft_form"], saved["draft_form"], "the form is kept");

    // A new key creates a process.
    let renamed = xml.replace("id=\"leave\"", "id=\"leave2\"");
    let r = app
        .post_raw(
            &format!("/api/v1/processes/import-bpmn?department_id={}", p["department_id"].as_str().expect("dept")),
            Some(&admin.access),
            "text/xml",
            renamed.into_bytes(),
        )
        .await
        .expect(200);
    assert_eq!(r.body["key"], "leave2");

    let bad = xml
        .replace("<bpmn:userTask id=\"counsellor\"", "<bpmn:scriptTask id=\"script1\"")
        .replace("</bpmn:userTask>", "</bpmn:scriptTask>");
    let r = app
        .post_raw("/api/v1/processes/import-bpmn", Some(&admin.access), "application/xml", bad.into_bytes())
        .await
        .expect(422);
    assert!(r.body["detail"].as_str().expect("detail").contains("script1"), "{}", r.body);
    let r = app
        .post_raw("/api/v1/processes/import-bpmn", Some(&admin.access), "application/json", b"{}".to_vec())
        .await
        .expect(415);
    r.code();
    let r = app
        .post_raw("/api/v1/processes/import-bpmn", Some(&admin.access), "application/xml", b"<not-closed".to_vec())
        .await
        .expect(422);
    r.code();
}
db_test!(bpmn_round_trip, bpmn_exports_and_imports_back_into_the_draft);

async fn the_designers_diagram_is_kept_with_the_draft_and_its_versions(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let admin_id = me["user"]["id"].as_str().expect("id").to_owned();
    let p = create_leave(app, &admin.access, "xgc").await;
    let id = p["id"].as_str().expect("id").to_owned();
    let exported = app.get_bytes(&format!("/api/v1/processes/{id}/bpmn"), Some(&admin.access)).await;
    let diagram = String::from_utf8(exported.2).expect("xml");
    let body = |diagram: Option<&str>, version: &Value| {
        json!({ "name": "学生请假", "department_id": p["department_id"], "description": "", "definition": leave_definition(&admin_id),
                "form": leave_form(), "version": version, "diagram": diagram })
    };
    let saved = app
        .put(&format!("/api/v1/processes/{id}"), Some(&admin.access), &body(Some(&diagram), &p["version"]))
        .await
        .expect(200)
        .body;
    assert_eq!(saved["draft_diagram"], diagram.as_str());
    // Published versions keep the diagram they were drawn with.
    let v = app
        .post(
            &format!("/api/v1/processes/{id}/versions"),
            Some(&admin.access),
            &json!({ "status": "online", "version": saved["version"] }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(v["diagram"], diagram.as_str());
    // A draft saved without one drops the old (it no longer matches); junk is refused.
    let again = app.get(&format!("/api/v1/processes/{id}"), Some(&admin.access)).await.expect(200).body;
    let r = app
        .put(&format!("/api/v1/processes/{id}"), Some(&admin.access), &body(Some("<not-bpmn/>"), &again["version"]))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "diagram");
    let plain = app
        .put(&format!("/api/v1/processes/{id}"), Some(&admin.access), &body(None, &again["version"]))
        .await
        .expect(200)
        .body;
    assert!(plain["draft_diagram"].is_null());
    let first = app.get(&format!("/api/v1/processes/{id}/versions/1"), Some(&admin.access)).await.expect(200).body;
    assert_eq!(first["diagram"], diagram.as_str(), "the published version keeps its own");
    // The BPMN download gives the kept layout while it says what the draft says, else a fresh one.
    let fresh = app.get_bytes(&format!("/api/v1/processes/{id}/bpmn"), Some(&admin.access)).await;
    let fresh = String::from_utf8(fresh.2).expect("xml");
    let moved = fresh.replacen(" x=\"", " x=\"1", 1);
    assert_ne!(moved, fresh);
    let kept = app
        .put(&format!("/api/v1/processes/{id}"), Some(&admin.access), &body(Some(&moved), &plain["version"]))
        .await
        .expect(200)
        .body;
    let xml = app.get_bytes(&format!("/api/v1/processes/{id}/bpmn"), Some(&admin.access)).await;
    assert_eq!(String::from_utf8(xml.2).expect("xml"), moved, "the designer's layout");
    let renamed = fresh.replacen("name=\"", "name=\"另", 1);
    app.put(&format!("/api/v1/processes/{id}"), Some(&admin.access), &body(Some(&renamed), &kept["version"]))
        .await
        .expect(200);
    let xml = app.get_bytes(&format!("/api/v1/processes/{id}/bpmn"), Some(&admin.access)).await;
    assert_eq!(String::from_utf8(xml.2).expect("xml"), fresh, "a diagram that no longer matches is laid out anew");
    // Names for the ids a definition holds, in one request.
    let users = app.get(&format!("/api/v1/users?ids={admin_id}"), Some(&admin.access)).await.expect(200).body;
    assert_eq!((users["total"].as_u64(), users["items"][0]["username"].as_str()), (Some(1), Some("it_admin")));
    app.get("/api/v1/users?ids=nope", Some(&admin.access)).await.expect(400);
}
db_test!(process_diagrams, the_designers_diagram_is_kept_with_the_draft_and_its_versions);
