//! `tongban seed --scale`: a small large college on both databases. The generated affairs must
//! pass `tongban check`, the demo handler must find exactly its 500 pending tasks, the server's own
//! directory must route the generated processes as the generator did, and the same seed must give
//! the same college.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::json;
use sha2::{Digest, Sha256};
use tongban_server::db::Db;
use tongban_server::entity::{affair, position, process_version, task, user};
use tongban_server::services::{integrity, seed_scale};

use crate::db_test;
use crate::helpers::{TestApp, fresh_postgres};

fn options() -> seed_scale::ScaleOptions {
    seed_scale::ScaleOptions {
        scale: 0.002,
        seed: 42,
        as_of: chrono::DateTime::parse_from_rfc3339("2026-12-02T16:00:00+08:00").expect("time").to_utc(),
        guides: None,
    }
}

/// A digest of what the generator decided: affair ids, numbers, titles, states' statuses and
/// every task's node, assignee, status and times.
async fn digest(db: &Db) -> String {
    let mut h = Sha256::new();
    let backend = db.backend();
    let sql = "SELECT a.id AS id, a.number AS number, a.title AS title, a.status AS status, \
               t.seq AS seq, t.node_id AS node, t.status AS tstatus, u.username AS assignee \
               FROM affairs a JOIN tasks t ON t.affair_id = a.id LEFT JOIN users u ON u.id = t.assignee_id \
               JOIN processes p ON p.id = a.process_id WHERE p.key LIKE 'scale_%' ORDER BY a.number, t.seq";
    let rows = db.conn().query_all_raw(Statement::from_string(backend, sql)).await.expect("digest query");
    assert!(!rows.is_empty());
    for r in rows {
        for col in ["number", "title", "status", "node", "tstatus"] {
            h.update(r.try_get::<String>("", col).expect(col).as_bytes());
        }
        h.update(r.try_get::<uuid::Uuid>("", "id").expect("id").as_bytes());
        h.update(r.try_get::<i32>("", "seq").expect("seq").to_le_bytes());
        h.update(r.try_get::<Option<String>>("", "assignee").expect("assignee").unwrap_or_default().as_bytes());
    }
    hex::encode(h.finalize())
}

async fn a_scale_college_is_consistent_and_reproducible(app: &TestApp) {
    let db = &app.state.db;
    let before = user::Entity::find().count(db.conn()).await.expect("count");
    assert_eq!(before, 0, "the test starts on an empty database");
    let report = seed_scale::seed(db, &options()).await.expect("seed --scale");
    let first = digest(db).await;
    // Misuse changes nothing: a second scale seed into the now full database, or a scale out of
    // range, is refused (the counts below are still those of the first seed).
    assert!(seed_scale::seed(db, &options()).await.is_err(), "a second seed into a full database");
    for scale in [0.0, -1.0, 1000.0, f64::NAN] {
        assert!(seed_scale::seed(db, &seed_scale::ScaleOptions { scale, ..options() }).await.is_err(), "{scale}");
    }

    // What the report says is what is there.
    assert_eq!(report.affairs, 2_000);
    assert_eq!(affair::Entity::find().count(db.conn()).await.expect("count") as usize, report.affairs);
    assert_eq!(task::Entity::find().count(db.conn()).await.expect("count") as usize, report.tasks);
    assert!(report.tasks > 3 * report.affairs, "most affairs run through their chain: {}", report.tasks);
    let demo_users = tongban_server::demo::usernames().count();
    assert_eq!(user::Entity::find().count(db.conn()).await.expect("count") as usize, report.users + demo_users);
    // Two versions per generated process besides the demo processes' single ones.
    let versions = process_version::Entity::find().count(db.conn()).await.expect("count") as usize;
    assert!(versions >= report.process_versions + 4, "{versions}");
    assert_eq!(report.xgc_admin_pending, seed_scale::XGC_ADMIN_PENDING);

    // `tongban check` finds nothing broken in 2,000 generated affairs.
    let check = integrity::check(db.conn(), &app.state.signing, None).await.expect("check");
    assert!(check.ok, "integrity problems: {:?}", check.problems.iter().take(5).collect::<Vec<_>>());
    assert_eq!(check.affairs as usize, report.affairs);

    // The demo handler's to-do list holds exactly its 500 tasks.
    let xgc = app.login("xgc_admin").await;
    let todo = app.get("/api/v1/tasks?status=todo&page_size=10", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(todo["total"], seed_scale::XGC_ADMIN_PENDING, "{todo}");
    let task_id = todo["items"][0]["id"].as_str().expect("task id").to_owned();
    let head = app.login("xgc_head").await;
    let before = app.get("/api/v1/tasks?status=todo", Some(&head.access)).await.expect(200).body["total"].clone();
    app.post(&format!("/api/v1/tasks/{task_id}/actions"), Some(&xgc.access), &json!({ "action": "approve" }))
        .await
        .expect(200);
    // The server routes the generated process to the generated approver, as the generator did.
    let after = app.get("/api/v1/tasks?status=todo", Some(&head.access)).await.expect(200).body["total"].clone();
    assert_eq!(after.as_u64(), before.as_u64().map(|n| n + 1), "before {before}, after {after}");

    // A generated student signs in with the demo password, sees their affairs and applies again;
    // the first task goes to their class's counsellor through the server's own directory, and
    // the affair number continues the generated ones.
    let student = app.login("s000001").await;
    let mine = app.get("/api/v1/affairs?page_size=100", Some(&student.access)).await.expect(200).body;
    let form = json!({ "reason": "再次申请", "copies": 1, "contact_phone": "13900000000" });
    let created = app
        .post("/api/v1/affairs", Some(&student.access), &json!({ "process_key": "scale_0001", "form": form }))
        .await
        .expect(201)
        .body;
    let pending = created["tasks"].as_array().expect("tasks").iter().find(|t| t["status"] == "pending").cloned();
    let pending = pending.expect("a first task");
    assert_eq!(pending["node_id"], "counsellor", "{pending}");
    let me = user::Entity::find().filter(user::Column::Username.eq("s000001")).one(db.conn()).await.expect("q");
    let class = me.expect("s000001").department_id.expect("a class");
    let counsellor = position::Entity::find()
        .filter(position::Column::Kind.eq("counsellor"))
        .filter(position::Column::DepartmentId.eq(class))
        .one(db.conn())
        .await
        .expect("q")
        .expect("the class has a counsellor");
    assert_eq!(pending["assignee_id"], json!(counsellor.user_id), "{pending}");
    let again = app.get("/api/v1/affairs?page_size=100", Some(&student.access)).await.expect(200).body;
    assert_eq!(again["total"].as_u64(), mine["total"].as_u64().map(|n| n + 1));

    // The same seed and moment give the same college in another database; another seed does not.
    assert_eq!(seed_elsewhere(app, 42, "second").await, first, "the same seed gives the same college");
    assert_ne!(seed_elsewhere(app, 43, "third").await, first, "another seed gives another college");
}

/// Seed a fresh database of the same kind as the app's with `seed`; its digest.
async fn seed_elsewhere(app: &TestApp, seed: u64, name: &str) -> String {
    let (url, guard) = match app.state.db.backend() {
        DatabaseBackend::Postgres => {
            let (url, guard) = fresh_postgres().await;
            (url, Some(guard))
        }
        _ => (format!("sqlite://{}?mode=rwc", app.state.settings.data_dir.join(format!("{name}.db")).display()), None),
    };
    let mut settings = (*app.state.settings).clone();
    settings.database_url = Some(url.into());
    settings.data_dir = app.state.settings.data_dir.join(name);
    settings.demo = false;
    let db = tongban_server::startup::prepare(&settings).await.expect("another database");
    seed_scale::seed(&db, &seed_scale::ScaleOptions { seed, ..options() }).await.expect("another seed");
    let d = digest(&db).await;
    db.close().await.expect("close");
    if let Some(g) = guard {
        g.drop_now().await;
    }
    d
}

db_test!(
    scale_college,
    |s: &mut tongban_server::config::Settings| s.demo = false,
    a_scale_college_is_consistent_and_reproducible
);
