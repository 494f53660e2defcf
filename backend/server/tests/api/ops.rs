//! Operations (#8): the integrity check (`tongban check`, `GET /ops/check`), backup and restore,
//! business metrics and alerts.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::{affair, task, task_candidate};
use tongban_server::services::integrity;

use crate::db_test;
use crate::helpers::{TestApp, complete_enrolment};

pub(crate) fn enrolment_form() -> Value {
    json!({ "purpose": "other", "purpose_detail": "办理银行开户", "copies": 1, "language": "zh" })
}

async fn check(app: &TestApp) -> integrity::IntegrityReport {
    tongban_server::audit_chain::seal(&app.state.db, &app.state.signing).await.expect("seal");
    integrity::check(app.state.db.conn(), &app.state.signing, Some(&app.state.storage)).await.expect("check")
}

fn kinds(r: &integrity::IntegrityReport) -> Vec<(String, Option<uuid::Uuid>)> {
    r.problems.iter().map(|p| (p.kind.clone(), p.affair_id)).collect()
}

async fn the_check_finds_exactly_what_was_broken(app: &TestApp) {
    let r = check(app).await;
    assert!(r.ok, "the demo college passes: {:?}", r.problems);

    let student = app.login("student1").await;
    complete_enrolment(app, &student, enrolment_form()).await;
    let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form() });
    let open = app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201).body;
    let open_id: uuid::Uuid = open["id"].as_str().expect("id").parse().expect("uuid");
    let r = check(app).await;
    assert!(r.ok, "a completed and an open affair pass: {:?}", r.problems);
    assert_eq!(r.affairs, 2);
    assert!(r.certificates >= 1 && r.objects.is_some());

    // The IT office sees the same; others may not look.
    let it = app.login("it_admin").await;
    let v = app.get("/api/v1/ops/check?files=true", Some(&it.access)).await.expect(200).body;
    assert_eq!(v["ok"], true, "{v}");
    app.get("/api/v1/ops/check", Some(&student.access)).await.expect(403);
    let bad = app.get("/api/v1/ops/check?files=maybe", Some(&it.access)).await.expect(400);
    assert_eq!(bad.body["status"], 400);

    // The pending task's row is deleted: exactly that is reported.
    let db = app.state.db.conn();
    let row = task::Entity::find()
        .filter(task::Column::AffairId.eq(open_id))
        .filter(task::Column::Status.eq("pending"))
        .one(db)
        .await
        .expect("db")
        .expect("pending task row");
    task_candidate::Entity::delete_many().filter(task_candidate::Column::TaskId.eq(row.id)).exec(db).await.expect("db");
    task::Entity::delete_by_id(row.id).exec(db).await.expect("db");
    let r = check(app).await;
    assert!(!r.ok);
    assert_eq!(kinds(&r), [("task_row_missing".to_owned(), Some(open_id))], "{:?}", r.problems);
    assert_eq!(r.problems[0].task, Some(row.seq as u32));
    let v = app.get("/api/v1/ops/check", Some(&it.access)).await.expect(200).body;
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["kind"], "task_row_missing");
    task::Entity::insert(task::ActiveModel::from(row.clone())).exec(db).await.expect("put the row back");
    assert!(check(app).await.ok);

    // The pending task loses its assignee, in the instance and in its row alike.
    let a = affair::Entity::find_by_id(open_id).one(db).await.expect("db").expect("affair");
    let mut state = a.state.clone();
    for t in state["tasks"].as_array_mut().expect("tasks") {
        if t["status"] == "pending" {
            t["assignee"] = Value::Null;
            t["candidates"] = json!([]);
        }
    }
    affair::Entity::update_many()
        .col_expr(affair::Column::State, Expr::value(state))
        .filter(affair::Column::Id.eq(open_id))
        .exec(db)
        .await
        .expect("db");
    task::Entity::update_many()
        .col_expr(task::Column::AssigneeId, Expr::value(Option::<uuid::Uuid>::None))
        .filter(task::Column::Id.eq(row.id))
        .exec(db)
        .await
        .expect("db");
    let r = check(app).await;
    assert_eq!(kinds(&r), [("task_without_assignee".to_owned(), Some(open_id))], "{:?}", r.problems);
    assert_eq!(r.problems[0].affair_number.as_deref(), open["number"].as_str());
}
db_test!(integrity_check, the_check_finds_exactly_what_was_broken);

/// Run `tongban` with a data directory and an optional database URL; its output.
async fn tongban(args: &[&str], data_dir: &std::path::Path, database_url: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"));
    cmd.args(args).env("TONGBAN_DATA_DIR", data_dir).env_remove("TONGBAN_DEMO").env("RUST_LOG", "warn");
    match database_url {
        Some(u) => cmd.env("TONGBAN_DATABASE_URL", u),
        None => cmd.env_remove("TONGBAN_DATABASE_URL"),
    };
    actix_web::rt::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run tongban")
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A fresh, empty database for a restore: a PostgreSQL database of its own (dropped by the
/// caller), or for SQLite the default file in the new data directory.
async fn empty_target(app: &TestApp, name: &str) -> Option<(String, String)> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    if app.state.db.backend() != sea_orm::DatabaseBackend::Postgres {
        return None;
    }
    let admin = crate::helpers::admin_url();
    let conn = Database::connect(&admin).await.expect("connect");
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create database");
    conn.close().await.expect("close");
    Some((admin.clone(), crate::helpers::database_url_for(&admin, name)))
}

async fn drop_target(admin: &str, name: &str) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(admin).await.expect("connect");
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    ))
    .await
    .expect("drop database");
    conn.close().await.expect("close");
}

async fn a_backup_restores_into_an_empty_installation(app: &TestApp) {
    use sha2::{Digest, Sha256};
    use tongban_server::entity::{certificate, file};

    crate::applying::enrolment_with_materials(app).await;
    let student = app.login("student1").await;
    let file_id = crate::applying::upload(app, &student, "在读材料.pdf", crate::applying::PDF).await;
    let mut form = enrolment_form();
    form["materials"] = json!([file_id]);
    let done = complete_enrolment(app, &student, form).await;
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 1);
    let verify_code = wallet["items"][0]["verify_code"].as_str().expect("code").to_owned();
    let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form() });
    app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201);

    let s = app.state.settings.clone();
    let id = uuid::Uuid::now_v7().simple().to_string();
    let out = std::env::temp_dir().join(format!("tongban-backup-{id}"));
    let t = std::time::Instant::now();
    let o = tongban(&["backup", "--out", out.to_str().expect("utf-8")], &s.data_dir, Some(&s.database_url())).await;
    assert!(o.status.success(), "{}", text(&o));
    let backup_secs = t.elapsed().as_secs_f64();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json");
    let bytes: u64 =
        manifest["files"].as_array().expect("files").iter().map(|f| f["size"].as_u64().expect("size")).sum();
    // The backup names the newest migration applied: the last one the migrator knows.
    let newest = {
        use tongban_migration::MigratorTrait;
        tongban_migration::Migrator::migrations().last().expect("migrations").name().to_owned()
    };
    assert!(newest.starts_with('m') && newest.len() > 16, "{newest}");
    assert_eq!(manifest["migration"], newest.as_str());
    assert!(manifest["objects"].as_u64().expect("objects") >= 1);
    assert!(manifest["files"].as_array().expect("files").iter().any(|f| f["path"] == "keys/jwt.key"));
    assert!(
        manifest["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["path"].as_str().expect("p").starts_with("keys/signing/"))
    );

    // Into an empty data directory and an empty database.
    let target_dir = std::env::temp_dir().join(format!("tongban-restore-{id}"));
    let name = format!("tongban_restore_{id}");
    let pg = empty_target(app, &name).await;
    let target_url = pg.as_ref().map(|(_, u)| u.clone());
    let t = std::time::Instant::now();
    let o = tongban(&["restore", "--from", out.to_str().expect("utf-8")], &target_dir, target_url.as_deref()).await;
    let restore_secs = t.elapsed().as_secs_f64();
    let outcome = async {
        assert!(o.status.success(), "{}", text(&o));
        eprintln!(
            "backup of the demo college ({:?}): {bytes} bytes in {} files, backup {backup_secs:.2} s, restore {restore_secs:.2} s",
            app.state.db.backend(),
            manifest["files"].as_array().map_or(0, Vec::len)
        );
        let m = metrics_text(app).await;
        let at = sample(&m, "tongban_last_backup_timestamp_seconds").expect("last backup");
        assert!((at - chrono::Utc::now().timestamp() as f64).abs() < 120.0, "the backup was recorded: {at}");
        let o = tongban(&["check", "--files", "--json"], &target_dir, target_url.as_deref()).await;
        assert!(o.status.success(), "{}", text(&o));
        let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["affairs"], 2);

        // A second restore into the same target is refused.
        let o = tongban(&["restore", "--from", out.to_str().expect("utf-8")], &target_dir, target_url.as_deref()).await;
        assert!(!o.status.success());
        assert!(text(&o).contains("not empty"), "{}", text(&o));

        // The same affairs, files and certificates.
        let mut restored = (*app.state.settings).clone();
        restored.data_dir = target_dir.clone();
        restored.database_url = target_url.clone().map(Into::into);
        restored.demo = false;
        let db = tongban_server::db::Db::connect(&restored.database_url(), 2).await.expect("restored db");
        let store = tongban_server::services::storage::Storage::from_settings(&restored).expect("store");
        let affairs = |rows: Vec<affair::Model>| {
            let mut v: Vec<_> = rows.into_iter().map(|a| (a.id, a.number, a.status, a.state)).collect();
            v.sort_by_key(|a| a.0);
            v
        };
        assert_eq!(
            affairs(affair::Entity::find().all(db.conn()).await.expect("db")),
            affairs(affair::Entity::find().all(app.state.db.conn()).await.expect("db"))
        );
        let files =
            file::Entity::find().filter(file::Column::DeletedAt.is_null()).all(app.state.db.conn()).await.expect("db");
        assert!(files.iter().any(|f| f.id.to_string() == file_id
            && f.affair_id.map(|a| a.to_string()) == done["id"].as_str().map(str::to_owned)));
        for f in &files {
            let copy = file::Entity::find_by_id(f.id).one(db.conn()).await.expect("db").expect("file row");
            assert_eq!(copy, *f);
            let data = store.get(&f.storage_key).await.expect("restored object");
            assert_eq!(hex::encode(Sha256::digest(&data)), f.sha256, "{}", f.filename);
        }
        let certs = |mut v: Vec<certificate::Model>| {
            v.sort_by_key(|c| c.id);
            v
        };
        let before = certs(certificate::Entity::find().all(app.state.db.conn()).await.expect("db"));
        assert_eq!(before.len(), 1);
        assert_eq!(certs(certificate::Entity::find().all(db.conn()).await.expect("db")), before);
        db.close().await.expect("close");

        // A server on the restored installation accepts the old tokens and verifies the certificate.
        restored.listen = "127.0.0.1:0".into();
        let second = tongban_server::startup::Application::build(restored).await.expect("restored instance");
        let port = second.port();
        let second_state = second.state.clone();
        let server = second.into_server();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let base = format!("http://127.0.0.1:{port}");
        let res = app.client.get(format!("{base}/api/v1/me")).bearer_auth(&student.access).send().await.expect("send");
        assert_eq!(res.status().as_u16(), 200, "the JWT key came back");
        let mut res = app.client.get(format!("{base}/api/v1/verify/{verify_code}")).send().await.expect("send");
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["status"], "valid", "{v}");
        second_state.live.close();
        handle.stop(true).await;
        let _ = second_state.db.close().await;

        // One byte changed: the restore refuses before touching anything.
        let key = &files.iter().find(|f| f.id.to_string() == file_id).expect("the material").storage_key;
        let pdf = format!("objects/{key}");
        let path = out.join(&pdf);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[3] ^= 0x01;
        std::fs::write(&path, bytes).expect("write");
        let other = std::env::temp_dir().join(format!("tongban-restore-bad-{id}"));
        let o = tongban(&["restore", "--from", out.to_str().expect("utf-8")], &other, target_url.as_deref()).await;
        assert!(!o.status.success());
        assert!(text(&o).contains("checksum mismatch") && text(&o).contains(&pdf), "{}", text(&o));
        assert!(!other.join("jwt.key").exists() && !other.join("tongban.db").exists(), "nothing was restored");
        let o = tongban(&["restore", "--verify-only", "--from", out.to_str().expect("utf-8")], &other, None).await;
        assert!(!o.status.success());
        let _ = std::fs::remove_dir_all(&other);
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(outcome)).await;
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&target_dir);
    if let Some((admin, _)) = &pg {
        drop_target(admin, &name).await;
    }
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
db_test!(backup_and_restore, a_backup_restores_into_an_empty_installation);

/// The value of one sample line of `/metrics` (`name` with its labels, as written).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

async fn metrics_text(app: &TestApp) -> String {
    let (status, _, body) = app.get_bytes("/metrics", None).await;
    assert_eq!(status, 200);
    String::from_utf8(body).expect("utf-8")
}

async fn business_figures_appear_in_the_metrics(app: &TestApp) {
    let student = app.login("student1").await;
    complete_enrolment(app, &student, enrolment_form()).await;
    let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form() });
    app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201);
    tongban_server::audit_chain::seal(&app.state.db, &app.state.signing).await.expect("seal");

    let m = metrics_text(app).await;
    assert_eq!(sample(&m, "tongban_affairs{status=\"completed\"}"), Some(1.0), "{m}");
    assert_eq!(sample(&m, "tongban_affairs{status=\"submitted\"}"), Some(1.0));
    assert_eq!(sample(&m, "tongban_tasks_open"), Some(1.0));
    assert_eq!(sample(&m, "tongban_tasks_overdue"), Some(0.0));
    assert_eq!(sample(&m, "tongban_affairs_overdue"), Some(0.0));
    assert!(sample(&m, "tongban_jobs_pending").is_some());
    assert_eq!(sample(&m, "tongban_jobs_failed"), Some(0.0));
    assert_eq!(sample(&m, "tongban_webhook_deliveries{status=\"pending\"}"), Some(0.0));
    assert_eq!(sample(&m, "tongban_last_backup_timestamp_seconds"), Some(0.0));
    assert!(sample(&m, "tongban_audit_chain_head_position").is_some_and(|p| p > 10.0), "sealed records");
    assert!(m.contains("# HELP tongban_affairs Affairs by status"));

    // Within 15 seconds a scrape is served from the figures already read.
    app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201);
    let again = metrics_text(app).await;
    assert_eq!(sample(&again, "tongban_affairs{status=\"submitted\"}"), Some(1.0), "cached");
    *app.state.metrics.business.refreshed.lock().await = None;
    let fresh = metrics_text(app).await;
    assert_eq!(sample(&fresh, "tongban_affairs{status=\"submitted\"}"), Some(2.0));
    assert_eq!(sample(&fresh, "tongban_tasks_open"), Some(2.0));
}
db_test!(business_metrics, business_figures_appear_in_the_metrics);

const ALERT_SECRET: &str = "alert-secret-for-tests-0123456789";

async fn alerts_go_out_once_per_window(app: &TestApp, sink: &crate::notify::SmtpSink, got: &crate::notify::Received) {
    use sea_orm::{ActiveModelTrait, Set};
    use tongban_server::entity::{job, ops_alert, webhook, webhook_delivery};
    use tongban_server::services::alerts;

    // An overdue task, a job given up, two webhook deliveries waiting.
    let student = app.login("student1").await;
    let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form() });
    let open = app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(201).body;
    let open_id: uuid::Uuid = open["id"].as_str().expect("id").parse().expect("uuid");
    let db = app.state.db.conn();
    let now = chrono::Utc::now();
    task::Entity::update_many()
        .col_expr(task::Column::DueAt, Expr::value(Some(now - chrono::TimeDelta::hours(2))))
        .filter(task::Column::AffairId.eq(open_id))
        .exec(db)
        .await
        .expect("db");
    job::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        kind: Set("archive".into()),
        affair_id: Set(Some(open_id)),
        payload: Set(json!({})),
        run_at: Set(now),
        attempts: Set(5),
        locked_by: Set(None),
        locked_until: Set(None),
        done_at: Set(Some(now)),
        last_error: Set(Some("object store unreachable".into())),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("job");
    job::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        kind: Set("service_call".into()),
        affair_id: Set(Some(open_id)),
        payload: Set(json!({})),
        run_at: Set(now + chrono::TimeDelta::days(1)),
        attempts: Set(3),
        locked_by: Set(None),
        locked_until: Set(None),
        done_at: Set(None),
        last_error: Set(Some("webhook target answered 502".into())),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("job");
    let hook = webhook::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        name: Set("教务系统".into()),
        url: Set("http://127.0.0.1:9/never".into()),
        secret: Set("s".repeat(32)),
        events: Set(json!(["affair.completed"])),
        department_id: Set(None),
        active: Set(true),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(db)
    .await
    .expect("webhook");
    for _ in 0..2 {
        webhook_delivery::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            webhook_id: Set(hook.id),
            event: Set("affair.completed".into()),
            payload: Set(json!({})),
            status: Set("pending".into()),
            attempts: Set(3),
            next_attempt_at: Set(now + chrono::TimeDelta::days(1)),
            locked_until: Set(None),
            last_status: Set(Some(503)),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        }
        .insert(db)
        .await
        .expect("delivery");
    }

    // Three instances sweeping at once, then again: each alert is raised once.
    let alerter = alerts::Alerter::from_settings(&app.state.settings).expect("settings").expect("channels");
    let (a, b, c) = futures_util::join!(
        alerts::sweep(&app.state, &alerter),
        alerts::sweep(&app.state, &alerter),
        alerts::sweep(&app.state, &alerter)
    );
    assert!(a.expect("sweep").len() + b.expect("sweep").len() + c.expect("sweep").len() <= 4);
    assert!(alerts::sweep(&app.state, &alerter).await.expect("sweep").is_empty(), "nothing new this window");
    let rows = ops_alert::Entity::find().all(db).await.expect("db");
    let mut kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["job_failed", "job_retrying", "overdue_backlog", "webhook_backlog"]);
    let overdue = rows.iter().find(|r| r.kind == "overdue_backlog").expect("overdue");
    assert_eq!(overdue.detail["overdue_tasks"], 1);
    assert_eq!(rows.iter().find(|r| r.kind == "webhook_backlog").expect("backlog").detail["pending"], 2);
    assert_eq!(
        rows.iter().find(|r| r.kind == "job_failed").expect("job").detail["jobs"][0]["error"],
        "object store unreachable"
    );

    crate::notify::wait_until("four alert mails", || sink.messages().len() >= 4).await;
    crate::notify::wait_until("four alert posts", || got.lock().expect("lock").len() >= 4).await;
    let mut subjects: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| {
            let (subject, to, _) = crate::notify::parse_mail(m);
            assert!(to.contains("ops@demo.tongban.edu.cn"), "{to}");
            subject
        })
        .collect();
    subjects.sort();
    assert!(subjects.iter().any(|s| s.starts_with("【通办告警】超期积压：1 个待办")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("后台任务多次重试后失败")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("后台任务连续失败3次以上")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("Webhook 推送积压：2 条")), "{subjects:?}");
    for (headers, body) in got.lock().expect("lock").iter() {
        let ts: i64 =
            headers.get("x-tongban-timestamp").and_then(|v| v.to_str().ok()).expect("ts").parse().expect("int");
        let sig = headers.get("x-tongban-signature").and_then(|v| v.to_str().ok()).expect("signature");
        assert_eq!(sig, tongban_server::services::delivery::signature(ALERT_SECRET.as_bytes(), ts, body.as_bytes()));
        let v: Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["event"], "alert");
    }
    assert!(rows.iter().all(|r| r.sent_at.is_some() || r.error.is_none()));
    let rows = ops_alert::Entity::find().all(db).await.expect("db");
    assert!(rows.iter().all(|r| r.sent_at.is_some() && r.error.is_none()), "{rows:?}");

    // Later sweeps (this instance's own included) send nothing more.
    alerts::sweep(&app.state, &alerter).await.expect("sweep");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 4);
    assert_eq!(got.lock().expect("lock").len(), 4);
    *app.state.metrics.business.refreshed.lock().await = None;
    let m = metrics_text(app).await;
    assert_eq!(sample(&m, "tongban_alerts_last_day"), Some(4.0));
    assert_eq!(sample(&m, "tongban_tasks_overdue"), Some(1.0));
    assert_eq!(sample(&m, "tongban_jobs_failed"), Some(1.0));
    assert_eq!(sample(&m, "tongban_webhook_deliveries{status=\"pending\"}"), Some(2.0));
}

mod alerting {
    use super::*;

    async fn run(backend: crate::helpers::Backend) {
        let sink = crate::notify::SmtpSink::start();
        let (port, got, receiver) = crate::notify::start_receiver(false);
        let smtp_port = sink.port;
        let tweak = move |s: &mut tongban_server::config::Settings| {
            s.smtp.host = Some("127.0.0.1".into());
            s.smtp.port = smtp_port;
            s.smtp.security = tongban_server::config::SmtpSecurity::None;
            s.alerts.emails = vec!["运维值班 <ops@demo.tongban.edu.cn>".into()];
            s.alerts.webhook_url = Some(format!("http://127.0.0.1:{port}/alerts"));
            s.alerts.webhook_secret = Some(ALERT_SECRET.to_owned().into());
            s.alerts.overdue_threshold = 1;
            s.alerts.webhook_backlog_threshold = 2;
        };
        let (sink_ref, got_ref) = (&sink, &got);
        crate::helpers::run(backend, tweak, async move |app: &TestApp| {
            alerts_go_out_once_per_window(app, sink_ref, got_ref).await
        })
        .await;
        receiver.stop(false).await;
    }

    #[actix_web::test]
    async fn on_sqlite() {
        run(crate::helpers::Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn on_postgres() {
        run(crate::helpers::Backend::Postgres).await;
    }
}

/// Backup and restore with the objects in an S3-compatible store (moto), by the library calls.
#[actix_web::test]
async fn objects_in_s3_are_backed_up_and_restored_into_another_bucket() {
    use crate::storage::S3Server;
    use tongban_server::config::Settings;
    use tongban_server::services::backup;
    use tongban_server::services::storage::Storage;

    let s3 = S3Server::start("tongban-live").await;
    let r = awc::Client::default().put(format!("{}/tongban-restored", s3.url())).send().await.expect("bucket");
    assert!(r.status().is_success());
    let id = uuid::Uuid::now_v7().simple().to_string();
    let tmp = std::env::temp_dir();
    let mut live = Settings { data_dir: tmp.join(format!("tongban-s3-live-{id}")), ..Settings::default() };
    S3Server::configure(&mut live, &s3.url(), "tongban-live");
    tongban_server::startup::prepare(&live).await.expect("prepare").close().await.expect("close");
    let store = Storage::from_settings(&live).expect("store");
    let a = store
        .put("affair_material", "在读证明.pdf", bytes::Bytes::from_static(crate::applying::PDF))
        .await
        .expect("put");
    let b = store.put("guides", "说明.txt", bytes::Bytes::from_static("办事指南".as_bytes())).await.expect("put");

    let out = tmp.join(format!("tongban-s3-backup-{id}"));
    let o = backup::backup(&live, &out).await.expect("backup");
    assert_eq!(o.manifest.storage, "s3");
    assert_eq!(o.manifest.objects, 2);

    let mut restored = Settings { data_dir: tmp.join(format!("tongban-s3-restored-{id}")), ..Settings::default() };
    S3Server::configure(&mut restored, &s3.url(), "tongban-restored");
    backup::restore(&restored, &out, false).await.expect("restore");
    let mut keys = s3.keys("tongban-restored").await;
    keys.sort();
    let mut want = vec![a.key.clone(), b.key.clone()];
    want.sort();
    assert_eq!(keys, want);
    let copy = Storage::from_settings(&restored).expect("store");
    assert_eq!(copy.get(&a.key).await.expect("get").as_ref(), crate::applying::PDF);
    assert_eq!(copy.get(&b.key).await.expect("get").as_ref(), "办事指南".as_bytes());

    // Once restored, the bucket is not empty: another restore is refused unless forced.
    std::fs::remove_file(restored.data_dir.join("tongban.db")).expect("drop the database file");
    let e = backup::restore(&restored, &out, false).await.expect_err("refused");
    assert!(e.to_string().contains("object store is not empty"), "{e}");
    for d in [&live.data_dir, &restored.data_dir, &out] {
        let _ = std::fs::remove_dir_all(d);
    }
}
