//! `GET /search`: guides by Chinese words and pinyin, kept in step with the database; a signed-in
//! caller's own affairs, never anyone else's.

use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::{department, guide, guide_version};
use uuid::Uuid;

use crate::affairs::{leave_request, publish_leave};
use crate::db_test;
use crate::helpers::TestApp;

/// Percent-encode a query value.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn search_path(q: &str) -> String {
    format!("/api/v1/search?q={}", enc(q))
}

fn names(body: &Value) -> Vec<String> {
    body["guides"]["items"]
        .as_array()
        .expect("guides.items")
        .iter()
        .map(|g| g["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Write a published guide straight into the database, as another server instance would (no
/// refresh of this instance's index). Returns its id.
async fn insert_published_guide(app: &TestApp, dept_code: &str, name: &str, summary: &str, audiences: Value) -> Uuid {
    let dept = app.department(dept_code).await;
    let dept_id: Uuid = dept["id"].as_str().expect("id").parse().expect("uuid");
    let admin = app.login("it_admin").await;
    let me = app.get("/api/v1/me", Some(&admin.access)).await.expect(200).body;
    let author: Uuid = me["user"]["id"].as_str().expect("id").parse().expect("uuid");
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let db = app.state.db.conn();
    guide::ActiveModel {
        id: Set(id),
        code: Set(format!("t{}", id.simple())),
        department_id: Set(dept_id),
        category_id: Set(None),
        process_id: Set(None),
        name: Set(name.to_owned()),
        name_en: Set(None),
        summary: Set(summary.to_owned()),
        keywords: Set(String::new()),
        audiences: Set(audiences),
        channels: Set(json!([])),
        status: Set("published".into()),
        published_version: Set(Some(1)),
        latest_version: Set(1),
        recommended: Set(false),
        recommend_rank: Set(0),
        protected: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        published_at: Set(Some(now)),
    }
    .insert(db)
    .await
    .expect("insert guide");
    guide_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        guide_id: Set(id),
        number: Set(1),
        status: Set("published".into()),
        content: Set(json!({ "name": name, "summary": summary, "conditions": "须为本院在籍学生，且未处于休学状态", "materials": [{ "name": "学生证", "required": true }] })),
        created_by: Set(author),
        created_at: Set(now),
        published_by: Set(Some(author)),
        published_at: Set(Some(now)),
    }
    .insert(db)
    .await
    .expect("insert guide version");
    id
}

/// The published 在读证明 guide: the demo college's when it has one, else one written here.
async fn zaidu_guide(app: &TestApp) -> Uuid {
    let existing = guide::Entity::find().all(app.state.db.conn()).await.expect("guides");
    if let Some(g) = existing.iter().find(|g| g.name.starts_with("在读证明") && g.status == "published") {
        return g.id;
    }
    let id = insert_published_guide(app, "jwc", "在读证明", "为在校学生开具在读证明", json!(["student"])).await;
    app.state.search.refresh_guide(&app.state.db, id).await.expect("refresh");
    id
}

async fn pinyin_and_chinese_find_the_zaidu_zhengming_guide_first(app: &TestApp) {
    let id = zaidu_guide(app).await.to_string();
    let other = insert_published_guide(app, "xgc", "证明材料补交", "补交证明材料", json!([])).await;
    app.state.search.refresh_guide(&app.state.db, other).await.expect("refresh");
    for q in ["zdzm", "zaiduzhengming", "zaidu", "zd", "zdz", "在读", "在读证明", "zai du zheng ming", "zaidu 证明"]
    {
        let r = app.get(&search_path(q), None).await.expect(200);
        let first = &r.body["guides"]["items"][0];
        assert_eq!(first["id"], id.as_str(), "{q}: {}", r.body);
        assert!(first["name"].as_str().is_some_and(|n| n.starts_with("在读证明")), "{}", r.body);
        assert!(first["department_name"].as_str().is_some_and(|n| !n.is_empty()), "{}", r.body);
        assert!(first["score"].as_f64().is_some_and(|s| s > 0.0));
        assert_eq!(r.body["affairs"], json!([]), "anonymous searches list no affairs");
    }
    // Both guides match 证明, and the total counts both.
    let r = app.get(&search_path("证明"), None).await.expect(200);
    assert!(r.body["guides"]["total"].as_u64().is_some_and(|t| t >= 2), "{}", r.body);
    let found = names(&r.body);
    assert!(found.iter().any(|n| n.starts_with("在读证明")) && found.contains(&"证明材料补交".to_owned()), "{found:?}");
    // Paging.
    let r = app.get(&format!("{}&page_size=1&page=2", search_path("证明")), None).await.expect(200);
    assert_eq!(r.body["guides"]["page"], 2);
    assert_eq!(r.body["guides"]["page_size"], 1);
    assert_eq!(r.body["guides"]["items"].as_array().map(Vec::len), Some(1));
    // Filters: department and audience.
    let xgc = app.department("xgc").await;
    let r = app
        .get(&format!("{}&department_id={}", search_path("证明"), xgc["id"].as_str().expect("id")), None)
        .await
        .expect(200);
    let items = r.body["guides"]["items"].as_array().expect("items");
    assert!(items.iter().any(|g| g["id"] == other.to_string()), "{}", r.body);
    assert!(items.iter().all(|g| g["department_id"] == xgc["id"]), "{}", r.body);
    let alumni = insert_published_guide(app, "xgc", "校友卡申领证明", "校友卡", json!(["alumni"])).await;
    app.state.search.refresh_guide(&app.state.db, alumni).await.expect("refresh");
    let ids = |b: &Value| -> Vec<String> {
        b["guides"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|g| g["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let r = app.get(&format!("{}&audience=visitor&page_size=100", search_path("证明")), None).await.expect(200);
    let found = ids(&r.body);
    assert!(found.contains(&other.to_string()), "a guide without audience is for everyone: {found:?}");
    assert!(!found.contains(&alumni.to_string()), "a guide for alumni only: {found:?}");
    let r = app.get(&format!("{}&audience=alumni&page_size=100", search_path("证明")), None).await.expect(200);
    let found = ids(&r.body);
    assert!(found.contains(&other.to_string()) && found.contains(&alumni.to_string()), "{found:?}");
    let r = app.get(&format!("{}&category_id={}", search_path("证明"), Uuid::now_v7()), None).await.expect(200);
    assert_eq!(r.body["guides"]["total"], 0);
    // Content (conditions, materials) is searched too and highlighted.
    let r = app.get(&search_path("休学状态"), None).await.expect(200);
    let first = &r.body["guides"]["items"][0];
    assert!(first["highlight"].as_str().is_some_and(|h| h.contains("<b>")), "{}", r.body);
}

async fn a_student_finds_their_own_affair_by_number_but_never_anothers(app: &TestApp) {
    publish_leave(app, None).await;
    let s1 = app.login("student1").await;
    let s2 = app.login("student2").await;
    let mine = app.post("/api/v1/affairs", Some(&s1.access), &leave_request()).await.expect(201).body;
    let number = mine["number"].as_str().expect("number").to_owned();
    let title = mine["title"].as_str().expect("title").to_owned();

    let r = app.get(&search_path(&number), Some(&s1.access)).await.expect(200);
    let affairs = r.body["affairs"].as_array().expect("affairs");
    assert_eq!(affairs.len(), 1, "{}", r.body);
    assert_eq!(affairs[0]["id"], mine["id"]);
    assert_eq!(affairs[0]["number"], number.as_str());
    // Lower case and a part of the number work as well.
    let r = app.get(&search_path(&number[..10].to_lowercase()), Some(&s1.access)).await.expect(200);
    assert!(r.body["affairs"].as_array().expect("affairs").iter().any(|a| a["id"] == mine["id"]), "{}", r.body);
    // By title.
    let r = app.get(&search_path(&title), Some(&s1.access)).await.expect(200);
    assert!(r.body["affairs"].as_array().expect("affairs").iter().any(|a| a["id"] == mine["id"]), "{}", r.body);

    // Another student, with the exact number or the title: nothing of student1's.
    for q in [number.as_str(), title.as_str(), "SW"] {
        let r = app.get(&search_path(q), Some(&s2.access)).await.expect(200);
        assert!(
            r.body["affairs"].as_array().expect("affairs").iter().all(|a| a["id"] != mine["id"]),
            "{q}: {}",
            r.body
        );
    }
    // Nor a handler who may see it elsewhere: search lists only one's own applications.
    let counsellor = app.login("counsellor1").await;
    let r = app.get(&search_path(&number), Some(&counsellor.access)).await.expect(200);
    assert_eq!(r.body["affairs"], json!([]));
    // Nor anybody anonymous.
    let r = app.get(&search_path(&number), None).await.expect(200);
    assert_eq!(r.body["affairs"], json!([]));
    // A LIKE wildcard is a literal character, not "everything".
    let r = app.get(&search_path("%"), Some(&s1.access)).await.expect(200);
    assert_eq!(r.body["affairs"], json!([]), "{}", r.body);
    let r = app.get(&search_path("_"), Some(&s1.access)).await.expect(200);
    assert_eq!(r.body["affairs"], json!([]), "{}", r.body);
}

async fn bad_queries_are_refused_and_odd_ones_are_harmless(app: &TestApp) {
    zaidu_guide(app).await;
    let r = app.get("/api/v1/search", None).await.expect(400);
    assert_eq!(r.code(), "bad_request");
    for q in ["", "   ", "\t"] {
        let r = app.get(&search_path(q), None).await.expect(400);
        assert_eq!(r.code(), "validation_failed", "{q:?}");
    }
    let long = "证".repeat(101);
    app.get(&search_path(&long), None).await.expect(400);
    app.get(&search_path(&"a".repeat(1000)), None).await.expect(400);
    app.get(&search_path(&"证".repeat(100)), None).await.expect(200);
    for q in [
        "\"",
        "*",
        ":",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "title:在读",
        "在读*",
        "\\",
        "[a TO z]",
        "~2",
        "😀",
        "😀zdzm😀",
        "%",
        "'--",
        "+-&&||!",
        "\u{202e}",
        "在读\"证明",
    ] {
        let r = app.get(&search_path(q), None).await;
        assert_eq!(r.status.as_u16(), 200, "{q:?}: {}", r.body);
        assert!(r.body["guides"]["items"].is_array());
    }
    // Control characters are refused like everywhere else.
    for q in ["\u{1}zdzm", "\u{7f}", "zdzm\u{0}", "\u{85}"] {
        let r = app.get(&search_path(q), None).await.expect(400);
        assert_eq!(r.code(), "validation_failed", "{q:?}");
    }
    // Punctuation is a separator: the words still count.
    let r = app.get(&search_path("\"zdzm\""), None).await.expect(200);
    assert!(r.body["guides"]["items"][0]["name"].as_str().is_some_and(|n| n.starts_with("在读证明")), "{}", r.body);
    // Bad filters and paging.
    app.get(&format!("{}&audience=everyone", search_path("zdzm")), None).await.expect(400);
    app.get(&format!("{}&category_id=nope", search_path("zdzm")), None).await.expect(400);
    app.get(&format!("{}&page_size=101", search_path("zdzm")), None).await.expect(400);
    app.get(&format!("{}&page=0", search_path("zdzm")), None).await.expect(400);
    let r = app.get(&format!("{}&page=1000000&page_size=100", search_path("zdzm")), None).await.expect(200);
    assert_eq!(r.body["guides"]["items"], json!([]));
    assert!(r.body["guides"]["total"].as_u64().is_some_and(|t| t >= 1));
    // A token that is sent must be valid.
    let r = app.get(&search_path("zdzm"), Some("not-a-token")).await;
    assert_eq!(r.status.as_u16(), 401);
}

async fn guides_leave_the_results_when_taken_offline_and_come_back(app: &TestApp) {
    let id = zaidu_guide(app).await;
    let listed =
        |b: &Value| b["guides"]["items"].as_array().is_some_and(|i| i.iter().any(|g| g["id"] == id.to_string()));
    let r = app.get(&search_path("zdzm"), None).await.expect(200);
    assert_eq!(r.body["guides"]["items"][0]["id"], id.to_string());

    // Through the guides API: the guides service refreshes this instance's index after commit.
    let admin = app.login("it_admin").await;
    let version = |g: guide::Model| g.version;
    let db = app.state.db.conn();
    let v = version(guide::Entity::find_by_id(id).one(db).await.expect("find").expect("guide"));
    app.post(&format!("/api/v1/guides/{id}/offline"), Some(&admin.access), &json!({ "version": v })).await.expect(200);
    for q in ["zdzm", "在读证明"] {
        let r = app.get(&search_path(q), None).await.expect(200);
        assert!(!listed(&r.body), "{q}: {}", r.body);
    }

    let v = version(guide::Entity::find_by_id(id).one(db).await.expect("find").expect("guide"));
    app.post(&format!("/api/v1/guides/{id}/publish"), Some(&admin.access), &json!({ "version": v })).await.expect(200);
    let r = app.get(&search_path("zdzm"), None).await.expect(200);
    assert_eq!(r.body["guides"]["items"][0]["id"], id.to_string(), "{}", r.body);
}

/// Poll `/search?q=` until `pred` holds, for at most `within`.
async fn eventually(app: &TestApp, q: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = app.get(&search_path(q), None).await.expect(200);
        if pred(&r.body) {
            return r.body;
        }
        assert!(Instant::now() < deadline, "search for {q:?} did not settle: {}", r.body);
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn changes_made_by_another_instance_reach_the_index(app: &TestApp) {
    // Written to the database only, as another server on the same database would.
    let id = insert_published_guide(app, "hqbwc", "宿舍报修", "宿舍水电、门窗报修", json!(["student"])).await;
    let has = |b: &Value| b["guides"]["items"].as_array().is_some_and(|i| i.iter().any(|g| g["id"] == id.to_string()));
    eventually(app, "ssbx", Duration::from_secs(30), has).await;
    eventually(app, "宿舍报修", Duration::from_secs(5), has).await;

    // Taken offline elsewhere: gone here too.
    let db = app.state.db.conn();
    let g = guide::Entity::find_by_id(id).one(db).await.expect("find").expect("guide");
    let mut am: guide::ActiveModel = g.into();
    am.status = Set("offline".into());
    am.updated_at = Set(chrono::Utc::now());
    am.update(db).await.expect("offline");
    eventually(app, "ssbx", Duration::from_secs(30), |b| !has(b)).await;
}

async fn renamed_departments_and_deleted_guides_are_reconciled(app: &TestApp) {
    let id = insert_published_guide(app, "hqbwc", "车辆通行证办理", "校内车辆通行证", json!([])).await;
    let search = &app.state.search;
    search.refresh_guide(&app.state.db, id).await.expect("refresh");
    let hit =
        |b: &Value| b["guides"]["items"].as_array().and_then(|i| i.iter().find(|g| g["id"] == id.to_string()).cloned());
    let r = app.get(&search_path("cltxz"), None).await.expect(200);
    let before = hit(&r.body).expect("listed");

    // A department renamed (its guides' rows do not change) and searched by its new name.
    let db = app.state.db.conn();
    let dept_id: Uuid = before["department_id"].as_str().expect("id").parse().expect("uuid");
    let d = department::Entity::find_by_id(dept_id).one(db).await.expect("find").expect("department");
    let mut am: department::ActiveModel = d.into();
    am.name = Set("后勤与安全保卫处".into());
    am.update(db).await.expect("rename");
    search.reconcile(&app.state.db).await.expect("reconcile");
    let r = app.get(&search_path("车辆通行证"), None).await.expect(200);
    assert_eq!(hit(&r.body).expect("listed")["department_name"], "后勤与安全保卫处", "{}", r.body);
    let r = app.get(&search_path("安全保卫 通行证"), None).await.expect(200);
    assert!(hit(&r.body).is_some(), "found by the department's new name: {}", r.body);

    // A guide deleted outright by another instance.
    guide_version::Entity::delete_many()
        .filter(guide_version::Column::GuideId.eq(id))
        .exec(db)
        .await
        .expect("delete versions");
    guide::Entity::delete_by_id(id).exec(db).await.expect("delete guide");
    search.reconcile(&app.state.db).await.expect("reconcile");
    let r = app.get(&search_path("cltxz"), None).await.expect(200);
    assert!(hit(&r.body).is_none(), "{}", r.body);
}

db_test!(pinyin_and_chinese_find_the_guide, pinyin_and_chinese_find_the_zaidu_zhengming_guide_first);
db_test!(own_affairs_only, a_student_finds_their_own_affair_by_number_but_never_anothers);
db_test!(bad_queries, bad_queries_are_refused_and_odd_ones_are_harmless);
db_test!(offline_guides_disappear, guides_leave_the_results_when_taken_offline_and_come_back);
db_test!(other_instances_changes_arrive, changes_made_by_another_instance_reach_the_index);
db_test!(renames_and_deletions_reconciled, renamed_departments_and_deleted_guides_are_reconciled);
