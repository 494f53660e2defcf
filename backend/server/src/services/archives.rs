//! Archives (办件归档, 第十二条): a finished affair becomes one ZIP package in the object store —
//!
//! - `summary.pdf`: 办件归档表 — the affair, the whole form, materials, certificates, the timeline
//!   with every opinion, the rating;
//! - `affair.json`: the same, machine-readable;
//! - `files/<field>/<name>`: the uploaded materials as they were uploaded;
//! - `certificates/<number>.json`: the signed certificates issued for the affair;
//! - `audit.json`: the audit records of the affair and its certificates, with their hashes;
//! - `manifest.json`: the SHA-256 and size of every file above.
//!
//! A job makes the package when the affair ends (on whichever instance claims it; the unique
//! `affair_id` keeps one package per affair), and a download of an older affair makes it on
//! demand. Bulk exports gather the packages of a department and date range into one ZIP with an
//! index, built by a job into a temporary file and streamed to the object store.

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::archive::{ArchiveQuery, ArchiveView, CreateExport, ExportStatus, ExportView};
use crate::dto::common::Page;
use crate::entity::{affair, archive, archive_export, audit_log, certificate};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::pdf::summary::{Block, Report, render};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::services::affairs::{self, ArchiveSource};
use crate::state::AppState;
use crate::time::now;

const FORMAT: &str = "tongban-archive/1";

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("archive: {e}"))
}

/// Queue the packaging of a finished affair.
pub(crate) async fn enqueue<C: ConnectionTrait>(db: &C, affair_id: Uuid) -> AppResult<()> {
    crate::services::jobs::insert(db, "archive", Some(affair_id), json!({})).await
}

fn view(a: archive::Model) -> ArchiveView {
    ArchiveView {
        id: a.id,
        affair_id: a.affair_id,
        affair_number: a.affair_number,
        department_id: a.department_id,
        outcome: a.outcome,
        finished_at: a.finished_at,
        size: a.size,
        sha256: a.sha256,
        file_count: a.file_count,
        created_at: a.created_at,
    }
}

fn china(t: DateTime<Utc>) -> String {
    (t + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M").to_string()
}

/// The first moment of a China-time day, in UTC.
fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - TimeDelta::hours(8)
}

// ---------------------------------------------------------------------------------------------
// The package

/// A ZIP being written to a temporary file, with the manifest of what went in.
struct Packer {
    zip: zip::ZipWriter<std::fs::File>,
    path: PathBuf,
    files: Vec<Value>,
    modified: zip::DateTime,
}

/// Removes the temporary file however the packing ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Packer {
    fn create(dir: &std::path::Path, at: DateTime<Utc>) -> anyhow::Result<(Packer, TempFile)> {
        use chrono::{Datelike, Timelike};
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.zip", Uuid::now_v7().simple()));
        let file = std::fs::File::create(&path)?;
        let local = at + TimeDelta::hours(8);
        let modified = zip::DateTime::from_date_and_time(
            local.year().clamp(1980, 2107) as u16,
            local.month() as u8,
            local.day() as u8,
            local.hour() as u8,
            local.minute() as u8,
            local.second() as u8,
        )
        .unwrap_or_default();
        Ok((Packer { zip: zip::ZipWriter::new(file), path: path.clone(), files: Vec::new(), modified }, TempFile(path)))
    }

    fn add(&mut self, name: &str, data: &[u8], deflate: bool) -> anyhow::Result<()> {
        let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(self.modified)
            .unix_permissions(0o644)
            .large_file(data.len() as u64 >= u32::MAX as u64);
        self.zip.start_file(name, options)?;
        self.zip.write_all(data)?;
        self.files.push(json!({ "path": name, "size": data.len(), "sha256": hex::encode(Sha256::digest(data)) }));
        Ok(())
    }

    /// Write the manifest and close the ZIP; the file's path, size and SHA-256.
    fn finish(mut self, head: Value) -> anyhow::Result<(PathBuf, i64, String, i32)> {
        let mut manifest = head;
        manifest["files"] = Value::Array(std::mem::take(&mut self.files));
        let count = manifest["files"].as_array().map_or(0, Vec::len) as i32 + 1;
        let bytes = serde_json::to_vec_pretty(&manifest)?;
        self.add("manifest.json", &bytes, true)?;
        self.zip.finish()?;
        let mut hasher = Sha256::new();
        let mut f = std::fs::File::open(&self.path)?;
        let size = std::io::copy(&mut f, &mut hasher)? as i64;
        Ok((self.path, size, hex::encode(hasher.finalize()), count))
    }
}

/// Run a packing step off the async threads.
async fn step<T: Send + 'static>(
    p: Packer,
    f: impl FnOnce(&mut Packer) -> anyhow::Result<T> + Send + 'static,
) -> AppResult<(Packer, T)> {
    tokio::task::spawn_blocking(move || {
        let mut p = p;
        let t = f(&mut p)?;
        Ok::<_, anyhow::Error>((p, t))
    })
    .await
    .map_err(internal)?
    .map_err(internal)
}

fn outcome_label(status: &str) -> &'static str {
    match status {
        "completed" => "办结（通过）",
        "rejected" => "不予办理",
        "withdrawn" => "申请人撤回",
        _ => "未办结",
    }
}

fn certificate_status(status: &str) -> String {
    match status {
        "valid" => "有效",
        "revoked" => "已撤销",
        "superseded" => "已换发",
        "expired" => "已过期",
        other => other,
    }
    .to_owned()
}

fn action_label(action: &str) -> String {
    let zh = match action {
        "submitted" => "提交",
        "resubmitted" => "重新提交",
        "withdrawn" => "撤回",
        "approved" => "同意",
        "rejected" => "不同意",
        "returned" => "退回",
        "approval_withdrawn" => "撤回审批",
        "transferred" => "转办",
        "delegated" => "委托",
        "delegation_returned" => "委托交回",
        "signers_added" => "加签",
        "signer_removed" => "减签",
        "claimed" => "签收",
        "urged" => "催办",
        "cc_sent" | "cc_notified" => "抄送",
        "commented" => "意见",
        "auto_approved" => "自动通过",
        "no_assignee" => "无办理人",
        "condition_failed" => "条件不满足",
        "service_called" => "系统办理",
        "service_succeeded" => "系统办理完成",
        "service_failed" => "系统办理失败",
        "finished" => "办结",
        _ => "",
    };
    if zh.is_empty() { action.to_owned() } else { zh.to_owned() }
}

/// A form value as a person reads it.
fn show(
    field: &tongban_engine::form::FieldDef,
    v: &Value,
    names: &std::collections::HashMap<String, String>,
) -> String {
    use tongban_engine::form::FieldKind;
    let choice = |opts: &[tongban_engine::form::Choice], s: &str| {
        opts.iter().find(|o| o.value == s).map(|o| o.label.clone()).unwrap_or_else(|| s.to_owned())
    };
    match (&field.kind, v) {
        (_, Value::Null) => String::new(),
        (FieldKind::Select { options, .. } | FieldKind::Radio { options } | FieldKind::Checkbox { options }, v) => {
            match v {
                Value::String(s) => choice(options, s),
                Value::Array(a) => {
                    a.iter().filter_map(Value::as_str).map(|s| choice(options, s)).collect::<Vec<_>>().join("、")
                }
                other => other.to_string(),
            }
        }
        (FieldKind::File { .. } | FieldKind::Certificate { .. }, v) => {
            let ids: Vec<&str> = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            ids.iter()
                .map(|id| names.get(*id).cloned().unwrap_or_else(|| (*id).to_owned()))
                .collect::<Vec<_>>()
                .join("、")
        }
        (FieldKind::Table { columns, .. }, Value::Array(rows)) => rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cells: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{}：{}", c.label, show(c, r.get(&c.key).unwrap_or(&Value::Null), names)))
                    .collect();
                format!("{}. {}", i + 1, cells.join("；"))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (_, Value::Bool(b)) => if *b { "是" } else { "否" }.to_owned(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Number(n)) => n.to_string(),
        (_, Value::Array(a)) => {
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect::<Vec<_>>().join("、")
        }
        (_, other) => other.to_string(),
    }
}

fn report_blocks(src: &ArchiveSource, certs: &[certificate::Model]) -> Vec<Block> {
    let v = &src.view;
    let mut names = std::collections::HashMap::new();
    for g in &v.materials {
        for f in &g.files {
            names.insert(f.id.to_string(), f.filename.clone());
        }
    }
    for c in &v.certificates {
        names.insert(c.certificate_id.to_string(), format!("{}（{}）", c.type_name, c.number));
    }
    let mut blocks = vec![
        Block::Heading("基本信息".into()),
        Block::Fields(vec![
            ("办件编号".into(), v.number.clone()),
            ("事项".into(), format!("{}（第 {} 版流程）", v.process_name, v.process_version)),
            ("标题".into(), v.title.clone()),
            ("申请人".into(), v.applicant_name.clone()),
            ("办理结果".into(), outcome_label(&v.status).to_owned()),
            ("提交时间".into(), v.submitted_at.map(china).unwrap_or_default()),
            ("办结时间".into(), v.finished_at.map(china).unwrap_or_default()),
            ("办理时限".into(), v.due_at.map(|d| format!("{} 前", china(d))).unwrap_or_else(|| "—".into())),
        ]),
        Block::Heading("申请表单".into()),
    ];
    let pairs: Vec<(String, String)> = src
        .form
        .fields
        .iter()
        .filter(|f| v.form.get(&f.key).is_some_and(|x| !x.is_null()))
        .map(|f| (f.label.clone(), show(f, &v.form[&f.key], &names)))
        .collect();
    blocks.push(if pairs.is_empty() { Block::Text("（无）".into()) } else { Block::Fields(pairs) });

    blocks.push(Block::Heading("申请材料".into()));
    let rows: Vec<Vec<String>> = v
        .materials
        .iter()
        .flat_map(|g| {
            g.files.iter().map(|f| {
                vec![
                    g.label.clone(),
                    f.filename.clone(),
                    format!("{} 字节", f.size),
                    f.sha256.chars().take(16).collect(),
                ]
            })
        })
        .collect();
    blocks.push(if rows.is_empty() {
        Block::Text("（无）".into())
    } else {
        Block::Table {
            columns: vec![
                ("材料".into(), 1.2),
                ("文件".into(), 2.0),
                ("大小".into(), 1.0),
                ("SHA-256（前16位）".into(), 1.6),
            ],
            rows,
        }
    });

    blocks.push(Block::Heading("电子证照".into()));
    let mut rows: Vec<Vec<String>> = certs
        .iter()
        .map(|c| {
            vec![
                c.number.clone(),
                c.title.clone(),
                "本件签发".into(),
                certificate_status(&c.status),
                china(c.issued_at),
            ]
        })
        .collect();
    rows.extend(v.certificates.iter().map(|c| {
        vec![
            c.number.clone(),
            c.type_name.clone(),
            format!("申请材料（{}）", c.label),
            certificate_status(&c.status),
            String::new(),
        ]
    }));
    blocks.push(if rows.is_empty() {
        Block::Text("（无）".into())
    } else {
        Block::Table {
            columns: vec![
                ("编号".into(), 1.4),
                ("证照".into(), 1.3),
                ("关系".into(), 1.3),
                ("状态".into(), 0.8),
                ("签发时间".into(), 1.3),
            ],
            rows,
        }
    });

    blocks.push(Block::Heading("办理过程".into()));
    let mut rows = Vec::new();
    for n in &v.timeline {
        if n.records.is_empty() {
            if n.state != "pending" {
                let state = match n.state.as_str() {
                    "skipped" => "未经过",
                    "current" => "办理中",
                    "done" => "已完成",
                    other => other,
                };
                rows.push(vec![n.name.clone(), String::new(), String::new(), String::new(), state.to_owned()]);
            }
            continue;
        }
        for r in &n.records {
            rows.push(vec![
                n.name.clone(),
                r.actor.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| "系统".into()),
                china(r.at),
                action_label(&r.action),
                r.comment.clone().unwrap_or_default(),
            ]);
        }
    }
    blocks.push(Block::Table {
        columns: vec![
            ("环节".into(), 1.2),
            ("办理人".into(), 1.0),
            ("时间".into(), 1.3),
            ("操作".into(), 0.8),
            ("意见".into(), 2.4),
        ],
        rows,
    });
    if let Some(r) = &v.rating {
        blocks.push(Block::Heading("评价".into()));
        blocks.push(Block::Fields(vec![
            ("评分".into(), format!("{} / 5", r.score)),
            ("评价内容".into(), r.comment.clone()),
            ("评价时间".into(), china(r.created_at)),
        ]));
    }
    blocks
}

/// Make the package of a finished affair (once: an existing package is returned as it is).
pub(crate) async fn build(st: &AppState, affair_id: Uuid) -> AppResult<archive::Model> {
    let db = st.db.conn();
    if let Some(a) = archive::Entity::find().filter(archive::Column::AffairId.eq(affair_id)).one(db).await? {
        return Ok(a);
    }
    let src = affairs::archive_source(db, &st.signing, affair_id).await?;
    if !src.finished {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "办件尚未办结，办结后才能归档",
            "The affair has not ended; it is archived when it does",
        ));
    }
    let finished_at = src.view.finished_at.or(src.affair.finished_at).unwrap_or_else(now);
    let certs = certificate::Entity::find()
        .filter(certificate::Column::AffairId.eq(affair_id))
        .order_by_asc(certificate::Column::IssuedAt)
        .all(db)
        .await?;
    let mut objects: Vec<String> = vec![affair_id.to_string()];
    objects.extend(certs.iter().map(|c| c.id.to_string()));
    objects.extend(src.view.tasks.iter().map(|t| t.id.to_string()));
    let audits = audit_log::Entity::find()
        .filter(audit_log::Column::ObjectId.is_in(objects))
        .order_by_asc(audit_log::Column::Seq)
        .all(db)
        .await?;
    let files = crate::services::attachments::of_affair(db, affair_id).await?;
    let (school, _) = crate::services::certificates::school(db).await?;

    let report_title = "办件归档表";
    let reference = format!("办件编号 {}", src.view.number);
    let blocks = report_blocks(&src, &certs);
    let fonts = st.fonts.clone();
    let created = now();
    let summary = tokio::task::spawn_blocking(move || {
        render(
            &fonts,
            &Report { school: &school, title: report_title, reference: &reference, author: "通办", created, blocks },
        )
    })
    .await
    .map_err(internal)?
    .map_err(AppError::Internal)?;

    let (mut p, _temp) = Packer::create(&st.settings.data_dir.join("tmp"), finished_at).map_err(internal)?;
    let affair_json = serde_json::to_vec_pretty(&src.view).map_err(internal)?;
    let audit_json = serde_json::to_vec_pretty(
        &audits
            .iter()
            .map(|a| {
                json!({ "seq": a.seq, "at": a.at, "actor_id": a.actor_id, "actor_name": a.actor_name, "ip": a.ip,
                        "request_id": a.request_id, "action": a.action, "object_type": a.object_type,
                        "object_id": a.object_id, "success": a.success, "before": a.before, "after": a.after,
                        "hash": a.hash, "prev_hash": a.prev_hash })
            })
            .collect::<Vec<_>>(),
    )
    .map_err(internal)?;
    (p, ()) = step(p, move |p| {
        p.add("summary.pdf", &summary, false)?;
        p.add("affair.json", &affair_json, true)?;
        p.add("audit.json", &audit_json, true)
    })
    .await?;
    for c in &certs {
        let doc = serde_json::to_vec_pretty(&c.document).map_err(internal)?;
        let name = format!("certificates/{}.json", c.number);
        (p, ()) = step(p, move |p| p.add(&name, &doc, true)).await?;
    }
    // Materials in the order of the form, one name per file.
    let mut used = std::collections::HashSet::new();
    for g in &src.view.materials {
        for (i, f) in g.files.iter().enumerate() {
            let Some(m) = files.get(&f.id) else { continue };
            let data: Bytes = st.storage.get(&m.storage_key).await?;
            let field = safe_segment(&g.field_key);
            let mut name = format!("files/{field}/{}", m.filename);
            if !used.insert(name.clone()) {
                name = format!("files/{field}/{}-{}", i + 1, m.filename);
                used.insert(name.clone());
            }
            (p, ()) = step(p, move |p| p.add(&name, &data, false)).await?;
        }
    }
    let head = json!({
        "format": FORMAT,
        "affair": { "id": affair_id, "number": src.view.number, "title": src.view.title,
                    "process": src.view.process_name, "outcome": src.view.status, "finished_at": finished_at },
        "generated_at": created,
    });
    let (path, size, sha256, count) =
        tokio::task::spawn_blocking(move || p.finish(head)).await.map_err(internal)?.map_err(internal)?;

    let key = format!(
        "archives/{}/{}-{}.zip",
        (finished_at + TimeDelta::hours(8)).format("%Y"),
        src.view.number,
        affair_id.simple()
    );
    st.storage.put_path(&key, &path).await?;
    let row = archive::ActiveModel {
        id: Set(Uuid::now_v7()),
        affair_id: Set(affair_id),
        affair_number: Set(src.view.number.clone()),
        department_id: Set(src.department_id),
        outcome: Set(src.view.status.clone()),
        finished_at: Set(finished_at),
        storage_key: Set(key.clone()),
        size: Set(size),
        sha256: Set(sha256),
        file_count: Set(count),
        created_at: Set(created),
    };
    let txn = st.db.write().await?;
    match row.insert(&*txn).await {
        Ok(m) => {
            txn.commit().await?;
            Ok(m)
        }
        Err(e) => {
            drop(txn);
            // Another instance packed it first: keep theirs. The key is ours alone, so ours goes.
            if let Some(a) = archive::Entity::find().filter(archive::Column::AffairId.eq(affair_id)).one(db).await? {
                if a.storage_key != key {
                    st.storage.delete(&key).await?;
                }
                Ok(a)
            } else {
                Err(e.into())
            }
        }
    }
}

/// A form key as a path segment: letters, digits, `-`, `_` and `.` only.
fn safe_segment(s: &str) -> String {
    let out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' }).collect();
    if out.is_empty() { "_".into() } else { out }
}

// ---------------------------------------------------------------------------------------------
// Reading

fn reaches(p: &Principal, department_id: Option<Uuid>) -> bool {
    p.can_on(Permission::AffairRead, Target { owner_id: None, department_id })
}

/// The archive of an affair for a download: for those who read the handling department's affairs
/// (`affair.read`); packed now if the affair ended before packages were made.
pub async fn download(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    affair_id: Uuid,
) -> AppResult<(String, u64, futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>)> {
    p.require(Permission::AffairRead)?;
    let db = st.db.conn();
    let a = affair::Entity::find_by_id(affair_id).one(db).await?.ok_or_else(AppError::not_found)?;
    let proc =
        crate::entity::process::Entity::find_by_id(a.process_id).one(db).await?.ok_or_else(AppError::not_found)?;
    if !reaches(p, proc.department_id) {
        return Err(AppError::not_found());
    }
    let m = build(st, affair_id).await?;
    let txn = st.db.write().await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("archive.download", "affair", affair_id).after(&json!({ "sha256": m.sha256 })),
    )
    .await?;
    txn.commit().await?;
    let (size, stream) = st.storage.get_stream(&m.storage_key).await?;
    Ok((format!("{}-archive.zip", m.affair_number), size, stream))
}

fn scoped(p: &Principal, department_id: Option<Uuid>) -> AppResult<Condition> {
    let scope = p.scope(Permission::AffairRead).ok_or_else(AppError::forbidden)?;
    let mut c = Condition::all();
    if let Some(d) = department_id {
        if !reaches(p, Some(d)) {
            return Err(AppError::forbidden());
        }
        c = c.add(archive::Column::DepartmentId.eq(d));
    } else if let DataScope::Limited { departments, .. } = scope {
        c = c.add(archive::Column::DepartmentId.is_in(departments));
    }
    Ok(c)
}

/// Archives the caller may read, newest first, by department and the day the affair ended.
pub async fn list(st: &AppState, p: &Principal, q: &ArchiveQuery) -> AppResult<Page<ArchiveView>> {
    let mut c = scoped(p, q.department_id)?;
    if let Some(f) = q.from {
        c = c.add(archive::Column::FinishedAt.gte(day_start(f)));
    }
    if let Some(t) = q.to {
        c = c.add(archive::Column::FinishedAt.lt(day_start(t) + TimeDelta::days(1)));
    }
    let page = q.paging();
    let paginator = archive::Entity::find()
        .filter(c)
        .order_by_desc(archive::Column::FinishedAt)
        .order_by_desc(archive::Column::Id)
        .paginate(st.db.conn(), page.size());
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.page() - 1).await?.into_iter().map(view).collect();
    Ok(Page { items, total, page: page.page(), page_size: page.size() })
}

// ---------------------------------------------------------------------------------------------
// Bulk exports

fn export_view(e: archive_export::Model) -> ExportView {
    let day = crate::time::china_day;
    ExportView {
        id: e.id,
        department_id: e.department_id,
        from: day(e.date_from),
        to: day(e.date_to - TimeDelta::seconds(1)),
        status: ExportStatus::parse(&e.status).unwrap_or(ExportStatus::Failed),
        archive_count: e.archive_count,
        size: e.size,
        sha256: e.sha256,
        error: e.error,
        created_at: e.created_at,
        finished_at: e.finished_at,
    }
}

/// Ask for an export; a job builds it. Those who read the department's affairs may; without a
/// department, only those who read all.
pub async fn create_export(st: &AppState, p: &Principal, ctx: &AuditCtx, req: CreateExport) -> AppResult<ExportView> {
    p.require(Permission::AffairRead)?;
    match req.department_id {
        Some(d) => {
            crate::entity::department::Entity::find_by_id(d).one(st.db.conn()).await?.ok_or_else(|| {
                AppError::field("department_id", "unknown_department", "部门不存在", "No such department")
            })?;
            if !reaches(p, Some(d)) {
                return Err(AppError::forbidden());
            }
        }
        None => {
            if !matches!(p.scope(Permission::AffairRead), Some(DataScope::All)) {
                return Err(AppError::forbidden());
            }
        }
    }
    let id = Uuid::now_v7();
    let txn = st.db.write().await?;
    let m = archive_export::ActiveModel {
        id: Set(id),
        requested_by: Set(p.user_id),
        department_id: Set(req.department_id),
        date_from: Set(day_start(req.from)),
        date_to: Set(day_start(req.to) + TimeDelta::days(1)),
        status: Set(ExportStatus::Pending.as_str().into()),
        archive_count: Set(None),
        storage_key: Set(None),
        size: Set(None),
        sha256: Set(None),
        error: Set(None),
        created_at: Set(now()),
        finished_at: Set(None),
    }
    .insert(&*txn)
    .await?;
    crate::services::jobs::insert(&*txn, "archive_export", None, json!({ "export_id": id })).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("archive.export", "archive_export", id)
            .after(&json!({ "department_id": req.department_id, "from": req.from, "to": req.to })),
    )
    .await?;
    txn.commit().await?;
    Ok(export_view(m))
}

async fn own_export(st: &AppState, p: &Principal, id: Uuid) -> AppResult<archive_export::Model> {
    archive_export::Entity::find_by_id(id)
        .one(st.db.conn())
        .await?
        .filter(|e| e.requested_by == p.user_id)
        .ok_or_else(AppError::not_found)
}

/// One of the caller's exports.
pub async fn get_export(st: &AppState, p: &Principal, id: Uuid) -> AppResult<ExportView> {
    Ok(export_view(own_export(st, p, id).await?))
}

/// The caller's exports, newest first.
pub async fn list_exports(st: &AppState, p: &Principal) -> AppResult<Vec<ExportView>> {
    Ok(archive_export::Entity::find()
        .filter(archive_export::Column::RequestedBy.eq(p.user_id))
        .order_by_desc(archive_export::Column::CreatedAt)
        .all(st.db.conn())
        .await?
        .into_iter()
        .map(export_view)
        .collect())
}

/// A finished export's ZIP, for the one who asked for it.
pub async fn download_export(
    st: &AppState,
    p: &Principal,
    id: Uuid,
) -> AppResult<(String, u64, futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>)> {
    let e = own_export(st, p, id).await?;
    let Some(key) = e.storage_key.filter(|_| e.status == ExportStatus::Done.as_str()) else {
        return Err(AppError::detail(ErrorCode::RuleViolation, "导出尚未完成", "The export is not ready yet"));
    };
    let (size, stream) = st.storage.get_stream(&key).await?;
    Ok((format!("archives-{}.zip", e.id.simple()), size, stream))
}

/// Build an export (the job): pack what is missing, then gather the packages with an index.
pub(crate) async fn run_export(st: &AppState, id: Uuid) -> AppResult<()> {
    let db = st.db.conn();
    let Some(e) = archive_export::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if e.status == ExportStatus::Done.as_str() {
        return Ok(());
    }
    let set_status = |status: ExportStatus, error: Option<String>| {
        archive_export::Entity::update_many()
            .col_expr(archive_export::Column::Status, Expr::value(status.as_str()))
            .col_expr(archive_export::Column::Error, Expr::value(error))
            .filter(archive_export::Column::Id.eq(id))
    };
    {
        let txn = st.db.write().await?;
        set_status(ExportStatus::Running, None).exec(&*txn).await?;
        txn.commit().await?;
    }
    let result = export_into_store(st, &e).await;
    let txn = st.db.write().await?;
    match result {
        Ok((key, size, sha256, count)) => {
            archive_export::Entity::update_many()
                .col_expr(archive_export::Column::Status, Expr::value(ExportStatus::Done.as_str()))
                .col_expr(archive_export::Column::StorageKey, Expr::value(key))
                .col_expr(archive_export::Column::Size, Expr::value(size))
                .col_expr(archive_export::Column::Sha256, Expr::value(sha256))
                .col_expr(archive_export::Column::ArchiveCount, Expr::value(count))
                .col_expr(archive_export::Column::FinishedAt, Expr::value(now()))
                .filter(archive_export::Column::Id.eq(id))
                .exec(&*txn)
                .await?;
            txn.commit().await?;
            Ok(())
        }
        Err(err) => {
            set_status(ExportStatus::Failed, Some(format!("{err}")))
                .col_expr(archive_export::Column::FinishedAt, Expr::value(now()))
                .exec(&*txn)
                .await?;
            txn.commit().await?;
            Err(err)
        }
    }
}

async fn export_into_store(st: &AppState, e: &archive_export::Model) -> AppResult<(String, i64, String, i32)> {
    let db = st.db.conn();
    // Affairs that ended in the range, in the department's processes, not trial runs.
    let mut q = affair::Entity::find()
        .filter(affair::Column::FinishedAt.gte(e.date_from))
        .filter(affair::Column::FinishedAt.lt(e.date_to))
        .filter(affair::Column::IsTest.eq(false))
        .filter(affair::Column::Status.is_in(["completed", "rejected", "withdrawn"]));
    if let Some(d) = e.department_id {
        let procs: Vec<Uuid> = crate::entity::process::Entity::find()
            .filter(crate::entity::process::Column::DepartmentId.eq(d))
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        q = q.filter(affair::Column::ProcessId.is_in(procs));
    }
    let affairs = q.order_by_asc(affair::Column::FinishedAt).all(db).await?;
    let (mut p, _temp) = Packer::create(&st.settings.data_dir.join("tmp"), now()).map_err(internal)?;
    let mut index = Vec::new();
    for a in &affairs {
        let m = build(st, a.id).await?;
        let data = st.storage.get(&m.storage_key).await?;
        let name = format!("archives/{}.zip", m.affair_number);
        index.push(json!({ "affair_number": m.affair_number, "affair_id": m.affair_id, "outcome": m.outcome,
                           "finished_at": m.finished_at, "path": name, "size": m.size, "sha256": m.sha256 }));
        (p, ()) = step(p, move |p| p.add(&name, &data, false)).await?;
    }
    let range = export_view(e.clone());
    let head = json!({
        "format": "tongban-archive-export/1",
        "department_id": e.department_id,
        "from": range.from,
        "to": range.to,
        "archives": index,
        "generated_at": now(),
    });
    let count = affairs.len() as i32;
    let (path, size, sha256, _) =
        tokio::task::spawn_blocking(move || p.finish(head)).await.map_err(internal)?.map_err(internal)?;
    let key = format!("exports/{}.zip", e.id.simple());
    st.storage.put_path(&key, &path).await?;
    Ok((key, size, sha256, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_action_has_a_chinese_label() {
        use tongban_engine::exec::HistoryAction as H;
        for a in [
            H::Submitted,
            H::Resubmitted,
            H::Withdrawn,
            H::Approved,
            H::Rejected,
            H::Returned,
            H::ApprovalWithdrawn,
            H::Transferred,
            H::Delegated,
            H::DelegationReturned,
            H::SignersAdded,
            H::SignerRemoved,
            H::Claimed,
            H::Urged,
            H::CcSent,
            H::Commented,
            H::AutoApproved,
            H::NoAssignee,
            H::ConditionFailed,
            H::CcNotified,
            H::ServiceCalled,
            H::ServiceSucceeded,
            H::ServiceFailed,
            H::Finished,
        ] {
            let code = serde_json::to_value(a).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            assert!(!action_label(&code).is_ascii(), "{code} has no label");
        }
    }

    #[test]
    fn days_are_china_days() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        assert_eq!(day_start(d).to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(safe_segment("a/../b"), "a____b");
        assert_eq!(safe_segment(""), "_");
    }
}
