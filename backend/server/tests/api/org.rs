//! The organisation model and its access control: who may read and change what.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

fn usernames(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().filter_map(|u| u["username"].as_str().map(str::to_owned)).collect()
}

async fn roles_without_the_permission_get_403(app: &TestApp) {
    let student = app.login("student1").await;
    assert_eq!(app.get("/api/v1/users", Some(&student.access)).await.expect(403).code(), "forbidden");
    assert_eq!(app.get("/api/v1/roles", Some(&student.access)).await.expect(403).code(), "forbidden");
    assert_eq!(app.get("/api/v1/audit-logs", Some(&student.access)).await.expect(403).code(), "forbidden");
    let school = app.department("school").await;
    let r = app
        .post(
            "/api/v1/departments",
            Some(&student.access),
            &json!({ "parent_id": school["id"], "code": "x", "name": "X", "kind": "office" }),
        )
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");
    // Handlers read people but cannot manage them.
    let teacher = app.login("teacher1").await;
    app.get("/api/v1/users", Some(&teacher.access)).await.expect(200);
    let r = app
        .post(
            "/api/v1/users",
            Some(&teacher.access),
            &json!({ "username": "t2", "display_name": "T", "kind": "visitor" }),
        )
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");
    // Auditors read the trail but nothing is changeable by them.
    let auditor = app.login("auditor").await;
    app.get("/api/v1/audit-logs", Some(&auditor.access)).await.expect(200);
    app.post("/api/v1/roles", Some(&auditor.access), &json!({ "code": "r", "name": "R", "permissions": [] }))
        .await
        .expect(403);
}
db_test!(function_level_authorisation, roles_without_the_permission_get_403);

async fn data_scopes_limit_what_each_role_sees(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let all = usernames(&app.get("/api/v1/users?page_size=100", Some(&admin.access)).await.expect(200).body);
    assert!(all.contains(&"student1".to_owned()) && all.contains(&"student2".to_owned()));

    // 学工处 admin: own department only.
    let xgc = app.login("xgc_admin").await;
    let seen = usernames(&app.get("/api/v1/users?page_size=100", Some(&xgc.access)).await.expect(200).body);
    assert!(seen.contains(&"xgc_head".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"student1".to_owned()) && !seen.contains(&"it_admin".to_owned()), "{seen:?}");

    // 辅导员 of student1's class sees student1 but not student2 of another college.
    let c1 = app.login("counsellor1").await;
    let seen = usernames(&app.get("/api/v1/users?page_size=100", Some(&c1.access)).await.expect(200).body);
    assert!(seen.contains(&"student1".to_owned()) && !seen.contains(&"student2".to_owned()), "{seen:?}");
    let s2 = app.user_id(&admin, "student2").await;
    assert_eq!(app.get(&format!("/api/v1/users/{s2}"), Some(&c1.access)).await.expect(404).code(), "not_found");
    let s1 = app.user_id(&admin, "student1").await;
    app.get(&format!("/api/v1/users/{s1}"), Some(&c1.access)).await.expect(200);

    // 分管院领导 of the colleges sees both students through supervision; vp_it does not.
    let vp = app.login("vp_student").await;
    let seen = usernames(&app.get("/api/v1/users?page_size=100", Some(&vp.access)).await.expect(200).body);
    assert!(seen.contains(&"student1".to_owned()) && seen.contains(&"student2".to_owned()), "{seen:?}");
    let vp_it = app.login("vp_it").await;
    let seen = usernames(&app.get("/api/v1/users?page_size=100", Some(&vp_it.access)).await.expect(200).body);
    assert!(seen.contains(&"it_admin".to_owned()) && !seen.contains(&"student1".to_owned()), "{seen:?}");

    // Reading someone else's record is audited; reading oneself is not.
    let r = app
        .get(&format!("/api/v1/audit-logs?action=user.read&object_id={s1}"), Some(&app.login("auditor").await.access))
        .await
        .expect(200);
    let actors: Vec<&str> =
        r.body["items"].as_array().expect("items").iter().filter_map(|a| a["actor_name"].as_str()).collect();
    assert_eq!(actors, vec!["counsellor1"]);
}
db_test!(data_scopes, data_scopes_limit_what_each_role_sees);

async fn department_admins_cannot_reach_beyond_their_department(app: &TestApp) {
    let xgc = app.login("xgc_admin").await;
    let xgc_dept = app.department("xgc").await;
    let jwc_dept = app.department("jwc").await;
    // dept_admin lacks user.manage entirely.
    let r = app
        .post(
            "/api/v1/users",
            Some(&xgc.access),
            &json!({ "username": "x1", "display_name": "X", "kind": "staff", "staff_no": "X1", "department_id": xgc_dept["id"] }),
        )
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");

    // A custom role with user.manage scoped to 学工处 may manage 学工处 only, and grant nothing above itself.
    let admin = app.login("it_admin").await;
    let role = app
        .post(
            "/api/v1/roles",
            Some(&admin.access),
            &json!({ "code": "xgc_user_admin", "name": "学工处账号管理员", "permissions": ["user.manage", "org.read"] }),
        )
        .await
        .expect(201)
        .body;
    let xgc_admin_id = app.user_id(&admin, "xgc_admin").await;
    let current = app.get(&format!("/api/v1/users/{xgc_admin_id}/roles"), Some(&admin.access)).await.expect(200).body;
    let mut roles: Vec<Value> = current["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| json!({ "role_id": r["role_id"], "scope": r["scope"], "department_id": r["department_id"] }))
        .collect();
    roles.push(json!({ "role_id": role["id"], "scope": "department" }));
    app.put(
        &format!("/api/v1/users/{xgc_admin_id}/roles"),
        Some(&admin.access),
        &json!({ "roles": roles, "version": current["version"] }),
    )
    .await
    .expect(200);
    let xgc = app.login("xgc_admin").await;
    app.post(
        "/api/v1/users",
        Some(&xgc.access),
        &json!({ "username": "x1", "display_name": "X", "kind": "staff", "staff_no": "X1", "department_id": xgc_dept["id"] }),
    )
    .await
    .expect(201);
    let r = app
        .post(
            "/api/v1/users",
            Some(&xgc.access),
            &json!({ "username": "x2", "display_name": "X", "kind": "staff", "staff_no": "X2", "department_id": jwc_dept["id"] }),
        )
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");
    // Granting it_admin (more than xgc_admin holds) is refused.
    let all_roles = app.get("/api/v1/roles", Some(&admin.access)).await.expect(200).body;
    let it_role =
        all_roles.as_array().expect("roles").iter().find(|r| r["code"] == "it_admin").expect("it_admin")["id"].clone();
    let x1 = app.user_id(&admin, "x1").await;
    let x1_roles = app.get(&format!("/api/v1/users/{x1}/roles"), Some(&xgc.access)).await.expect(200).body;
    let r = app
        .put(
            &format!("/api/v1/users/{x1}/roles"),
            Some(&xgc.access),
            &json!({ "roles": [{ "role_id": it_role, "scope": "department" }], "version": x1_roles["version"] }),
        )
        .await
        .expect(403);
    assert_eq!(r.code(), "forbidden");
}
db_test!(department_scope_and_no_escalation, department_admins_cannot_reach_beyond_their_department);

async fn stale_versions_get_409_and_leave_one_audit_record(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let school = app.department("school").await;
    let created = app
        .post(
            "/api/v1/departments",
            Some(&admin.access),
            &json!({ "parent_id": school["id"], "code": "gh", "name": "工会", "kind": "office" }),
        )
        .await
        .expect(201)
        .body;
    let id = created["id"].as_str().expect("id");
    let r = app
        .post(
            "/api/v1/departments",
            Some(&admin.access),
            &json!({ "parent_id": school["id"], "code": "gh", "name": "工会2", "kind": "office" }),
        )
        .await
        .expect(409);
    assert_eq!(r.code(), "already_exists");
    let update = |name: &str| json!({ "parent_id": school["id"], "name": name, "name_en": "Trade Union", "sort_order": 5, "active": true, "version": created["version"] });
    let first = app.put(&format!("/api/v1/departments/{id}"), Some(&admin.access), &update("校工会")).await.expect(200);
    assert_eq!(first.body["version"], created["version"].as_i64().expect("v") + 1);
    let r = app.put(&format!("/api/v1/departments/{id}"), Some(&admin.access), &update("工会委员会")).await.expect(409);
    assert_eq!(r.code(), "version_conflict");
    let now = app.get(&format!("/api/v1/departments/{id}"), None).await.expect(200);
    assert_eq!(now.body["name"], "校工会", "the stale update changed nothing");

    // Moving a department below itself is refused.
    let child = app
        .post(
            "/api/v1/departments",
            Some(&admin.access),
            &json!({ "parent_id": id, "code": "gh1", "name": "工会小组", "kind": "group" }),
        )
        .await
        .expect(201)
        .body;
    let mut cyc = update("校工会");
    cyc["parent_id"] = child["id"].clone();
    cyc["version"] = first.body["version"].clone();
    let r = app.put(&format!("/api/v1/departments/{id}"), Some(&admin.access), &cyc).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "cycle");

    let auditor = app.login("auditor").await;
    let logs = app
        .get(&format!("/api/v1/audit-logs?object_type=department&object_id={id}"), Some(&auditor.access))
        .await
        .expect(200);
    let actions: Vec<&str> =
        logs.body["items"].as_array().expect("items").iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(
        actions,
        vec!["department.update", "department.create"],
        "newest first, no record for the refused update"
    );
    let upd = &logs.body["items"][0];
    assert_eq!(upd["actor_name"], "it_admin");
    assert_eq!(upd["before"]["name"], "工会");
    assert_eq!(upd["after"]["name"], "校工会");
    assert_eq!(upd["ip"], "127.0.0.1");
    assert!(upd["request_id"].as_str().is_some_and(|s| !s.is_empty()));
}
db_test!(stale_versions_and_audit, stale_versions_get_409_and_leave_one_audit_record);

async fn positions_follow_the_rules_of_the_organisation(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let t1 = app.user_id(&admin, "teacher1").await;
    let jwc = app.department("jwc").await;
    let class = app.department("hj2401").await;
    let r = app
        .post(
            "/api/v1/positions",
            Some(&admin.access),
            &json!({ "user_id": t1, "kind": "counsellor", "department_id": jwc["id"], "title": "辅导员" }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "not_a_class");
    let r = app
        .post("/api/v1/positions", Some(&admin.access), &json!({ "user_id": t1, "kind": "president", "title": "院长" }))
        .await
        .expect(409);
    assert_eq!(r.code(), "already_exists", "there is one 院长");
    let p = app
        .post(
            "/api/v1/positions",
            Some(&admin.access),
            &json!({ "user_id": t1, "kind": "counsellor", "department_id": class["id"], "title": "兼职辅导员" }),
        )
        .await
        .expect(201)
        .body;
    let r = app
        .delete(&format!("/api/v1/positions/{}?version=99", p["id"].as_str().expect("id")), Some(&admin.access))
        .await
        .expect(409);
    assert_eq!(r.code(), "version_conflict");
    app.delete(&format!("/api/v1/positions/{}?version=1", p["id"].as_str().expect("id")), Some(&admin.access))
        .await
        .expect(204);
    let list = app.get(&format!("/api/v1/positions?user_id={t1}"), Some(&admin.access)).await.expect(200);
    assert_eq!(list.body.as_array().expect("list").len(), 0);
    let xgc = app.login("xgc_admin").await;
    app.post("/api/v1/positions", Some(&xgc.access), &json!({ "user_id": t1, "kind": "president", "title": "院长" }))
        .await
        .expect(403);
}
db_test!(positions, positions_follow_the_rules_of_the_organisation);

async fn builtin_roles_are_fixed_and_custom_roles_have_a_lifecycle(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let roles = app.get("/api/v1/roles", Some(&admin.access)).await.expect(200).body;
    let codes: Vec<&str> = roles.as_array().expect("roles").iter().filter_map(|r| r["code"].as_str()).collect();
    for c in ["applicant", "handler", "dept_admin", "it_admin", "leader", "auditor", "integrator"] {
        assert!(codes.contains(&c), "{c} in {codes:?}");
    }
    let applicant = roles.as_array().expect("roles").iter().find(|r| r["code"] == "applicant").expect("applicant");
    let r = app
        .put(
            &format!("/api/v1/roles/{}", applicant["id"].as_str().expect("id")),
            Some(&admin.access),
            &json!({ "name": "x", "description": "", "permissions": ["role.manage"], "version": applicant["version"] }),
        )
        .await
        .expect(422);
    assert_eq!(r.code(), "rule_violation");
    let perms = app.get("/api/v1/permissions", Some(&admin.access)).await.expect(200).body;
    assert!(perms.as_array().expect("perms").len() >= 10);
    let custom = app
        .post(
            "/api/v1/roles",
            Some(&admin.access),
            &json!({ "code": "viewer", "name": "查看者", "permissions": ["org.read"] }),
        )
        .await
        .expect(201)
        .body;
    let r = app
        .post("/api/v1/roles", Some(&admin.access), &json!({ "code": "v2", "name": "x", "permissions": ["nope.perm"] }))
        .await
        .expect(400);
    r.code();
    let id = custom["id"].as_str().expect("id");
    app.delete(&format!("/api/v1/roles/{id}?version=1"), Some(&admin.access)).await.expect(204);
    app.get(&format!("/api/v1/roles/{id}"), Some(&admin.access)).await.expect(404);
}
db_test!(roles, builtin_roles_are_fixed_and_custom_roles_have_a_lifecycle);

async fn sign_ins_and_changes_leave_verifiable_audit_records(app: &TestApp) {
    app.try_login("student1", "Wrong@Pass1").await.expect(401);
    app.login("student1").await;
    let admin = app.login("it_admin").await;
    app.post(
        "/api/v1/users",
        Some(&admin.access),
        &json!({ "username": "visitor9", "display_name": "访客", "kind": "visitor" }),
    )
    .await
    .expect(201);
    let auditor = app.login("auditor").await;
    let logins =
        app.get("/api/v1/audit-logs?action=auth.login&page_size=100", Some(&auditor.access)).await.expect(200).body;
    let items = logins["items"].as_array().expect("items");
    assert!(items.iter().any(|a| a["success"] == false), "failed sign-in recorded");
    assert!(items.iter().any(|a| a["success"] == true && a["actor_name"] == "student1"), "successful sign-in recorded");
    let created = app.get("/api/v1/audit-logs?action=user.create", Some(&auditor.access)).await.expect(200).body;
    assert_eq!(created["items"][0]["after"]["username"], "visitor9");
    assert!(created["items"][0]["after"].get("password_hash").is_none());

    // Every stored record's hash matches its content; an edit is detectable.
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use tongban_server::entity::audit_log;
    let rows = audit_log::Entity::find().all(app.state.db.conn()).await.expect("rows");
    assert!(rows.len() >= 5);
    for r in &rows {
        assert_eq!(tongban_server::audit::content_hash(r), r.hash, "record {} verifies", r.seq);
    }
    let victim = rows.iter().find(|r| r.action == "user.create").expect("user.create").clone();
    let mut am: audit_log::ActiveModel = victim.clone().into();
    am.actor_name = Set(Some("someone_else".into()));
    let txn = app.state.db.write().await.expect("txn");
    let edited = am.update(&*txn).await.expect("edit");
    txn.commit().await.expect("commit");
    assert_ne!(tongban_server::audit::content_hash(&edited), edited.hash, "an edited record no longer verifies");
}
db_test!(audit_records, sign_ins_and_changes_leave_verifiable_audit_records);

async fn anyone_signed_in_finds_staff_in_the_directory_and_nothing_more(app: &TestApp) {
    let student = app.login("student1").await;
    let r = app
        .get(&format!("/api/v1/people?q={}", crate::search::enc("辅导")), Some(&student.access))
        .await
        .expect(200)
        .body;
    let names: Vec<&str> = r.as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["李辅导", "王辅导"]);
    let card = r[0].as_object().expect("card");
    let keys: Vec<&str> = card.keys().map(String::as_str).collect();
    assert_eq!(keys, ["department_id", "department_name", "id", "name"], "no contact details or numbers");
    // By username or 工号 exactly; students are not in the directory.
    let by_no = app.get("/api/v1/people?q=T4002", Some(&student.access)).await.expect(200).body;
    assert_eq!(by_no[0]["name"], "王辅导");
    assert_eq!(app.get("/api/v1/people?q=T40", Some(&student.access)).await.expect(200).body, json!([]));
    assert_eq!(
        app.get(&format!("/api/v1/people?q={}", crate::search::enc("同学")), Some(&student.access))
            .await
            .expect(200)
            .body,
        json!([])
    );
    // Within a department and below it; wildcards are literal.
    let xxxy = app.department("xxxy").await;
    let r = app
        .get(
            &format!(
                "/api/v1/people?q={}&department_id={}",
                crate::search::enc("辅导"),
                xxxy["id"].as_str().expect("id")
            ),
            Some(&student.access),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r.as_array().expect("list").len(), 1);
    assert_eq!(app.get("/api/v1/people?q=%25", Some(&student.access)).await.expect(200).body, json!([]));
    app.get("/api/v1/people?q=", Some(&student.access)).await.expect(400);
    app.get(&format!("/api/v1/people?q={}", crate::search::enc("辅导")), None).await.expect(401);
}
db_test!(people_directory, anyone_signed_in_finds_staff_in_the_directory_and_nothing_more);
