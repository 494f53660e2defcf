//! `tongban seed --scale N`: a large college for measurements (issue 9, quality.md). At N = 1:
//! 30,000 users in 540 classes of 8 generated colleges, 300 guides, 100 processes with two
//! versions each (200 process versions), 1,000,000 affairs and about 4,000,000 tasks with their
//! history, on top of the demo college (whose accounts keep their password).
//!
//! Every affair is run through the real engine ([`execute`]) with simulated times, so its state,
//! its tasks and its history are exactly what the server would have written; `tongban check`
//! finds nothing to report. Generation runs on worker threads; rows go to PostgreSQL with `COPY`
//! and to SQLite in batched multi-row inserts. The same `--seed` and `--as-of` give the same
//! college (names, numbers, ids of generated rows, states), whatever the number of threads.
//!
//! The demo handler `xgc_admin` gets exactly [`XGC_ADMIN_PENDING`] pending tasks at every scale,
//! so the to-do list can be compared across scales.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set, Statement,
};
use serde::Serialize;
use serde_json::{Value, json};
use tongban_engine::calendar::WorkCalendar;
use tongban_engine::exec::{
    Action, Command, Directory, Instance, InstanceStatus, ResolveContext, execute, execute_owned, resolve_from_data,
};
use tongban_engine::model::{AssigneeRule, NodeKind, ProcessDefinition, UserId};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::db::Db;
use validator::Validate;

use crate::dto::hall::GuideContent;
use crate::entity::{department, guide, guide_version, process, process_version, role, user};
use crate::error::{AppError, AppResult};
use crate::policy::Scope;
use crate::services::affairs::{handling_days, lower, status_of, task_kind};
use crate::services::{calendar, processes};

/// Pending tasks of the demo handler `xgc_admin` after a scale seed (the to-do list benchmark).
pub const XGC_ADMIN_PENDING: usize = 500;

/// Affairs generated per batch (one `COPY` per table and batch).
const CHUNK: usize = 2_000;

/// What to build.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// 1.0 is the college of quality.md; 0.01 a hundredth of it.
    pub scale: f64,
    /// Seed of the generator.
    pub seed: u64,
    /// The moment the data describes: finished affairs lie in the year before, pending ones in
    /// the two days before.
    pub as_of: DateTime<Utc>,
    /// Number of guides, instead of 300 × scale (the search benchmark wants 5,000).
    pub guides: Option<usize>,
}

/// What was built.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub departments: usize,
    pub users: usize,
    pub guides: usize,
    pub processes: usize,
    pub process_versions: usize,
    pub affairs: usize,
    pub tasks: usize,
    pub pending_tasks: usize,
    pub xgc_admin_pending: usize,
    pub seconds: f64,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("seed --scale: {e}"))
}

fn uid(u: Uuid) -> UserId {
    UserId::from(u.to_string())
}

/// A v7 id at `at` whose random part comes from the generator (reproducible, time-ordered).
fn id_at(rng: &mut ChaCha8Rng, at: DateTime<Utc>) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes).into_uuid()
}

struct Sizes {
    students: usize,
    staff: usize,
    colleges: usize,
    classes: usize,
    processes: usize,
    guides: usize,
    affairs: usize,
}

fn sizes(o: &ScaleOptions) -> Sizes {
    let users = ((30_000.0 * o.scale).round() as usize).max(60);
    let students = users * 9 / 10;
    let classes = students.div_ceil(50);
    let processes = (((100.0 * o.scale).ceil()) as usize).max(4);
    Sizes {
        students,
        staff: users - students,
        colleges: (classes / 4).clamp(1, COLLEGES.len()),
        classes,
        processes,
        guides: o.guides.unwrap_or(((300.0 * o.scale).ceil() as usize).max(processes)),
        affairs: ((1_000_000.0 * o.scale).round() as usize).max(XGC_ADMIN_PENDING),
    }
}

const COLLEGES: &[(&str, &str, &str)] = &[
    ("ylxy", "园林学院", "yl"),
    ("spxy", "食品科技学院", "sp"),
    ("yyxy", "医药学院", "yy"),
    ("jgxy", "经济管理学院", "jg"),
    ("jdxy", "机电工程学院", "jd"),
    ("jzxy", "建筑工程学院", "jz"),
    ("ysxy", "艺术设计学院", "ys"),
    ("mkxy", "马克思主义学院", "mk"),
];

/// Office departments of the demo college and the services they run.
const OFFICES: &[(&str, &[&str])] = &[
    ("xgc", &["奖学金申请", "助学金申请", "勤工助学岗位申请", "家庭经济困难认定", "校外住宿申请", "学生活动场地申请"]),
    ("jwc", &["成绩证明", "缓考申请", "重修报名", "转专业申请", "学籍异动", "免修申请", "课程替代", "辅修报名"]),
    ("cwc", &["学费减免", "票据补开", "报销预约", "退费申请"]),
    ("rsc", &["在职证明", "收入证明", "教职工请假", "职称材料审核"]),
    ("hqbwc", &["宿舍调换", "维修报修", "车辆通行证", "门禁卡补办"]),
    ("zsjyc", &["就业协议书补办", "报到证改派", "就业推荐表", "实习备案"]),
    ("tsg", &["借阅证办理", "离校图书清还", "文献传递", "研讨间预约"]),
    ("dzb", &["介绍信开具", "公文收发", "会议室借用"]),
    ("xxb", &["校园网开户", "邮箱申请", "VPN账号申请", "服务器托管"]),
];

const GENERAL_GUIDES: &[&str] = &[
    "新生入学须知",
    "校园卡使用说明",
    "医疗保险参保指南",
    "户籍迁移说明",
    "党团关系转接",
    "毕业离校手续",
    "学生证使用须知",
    "心理咨询预约",
    "图书馆开放时间",
    "校历与作息时间",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "子涵", "雨轩", "浩然", "梓萱", "思远", "欣怡", "宇航", "佳琪", "俊杰", "诗涵", "博文", "若曦",
];
const REASONS: &[&str] = &[
    "本人因实习单位要求，需提交相关材料。",
    "参加校外竞赛需要学院出具证明。",
    "家庭原因，申请办理。",
    "按学院通知要求提交申请。",
    "办理签证需要，请予审核。",
    "学业规划调整，特此申请。",
];

fn person_name(rng: &mut ChaCha8Rng) -> String {
    format!("{}{}", SURNAMES[rng.random_range(0..SURNAMES.len())], GIVEN[rng.random_range(0..GIVEN.len())])
}

/// One cell of a generated row.
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    /// Serialized JSON.
    Json(String),
}

fn opt_uuid(u: Option<Uuid>) -> Cell {
    u.map_or(Cell::Null, Cell::Uuid)
}

fn opt_time(t: Option<DateTime<Utc>>) -> Cell {
    t.map_or(Cell::Null, Cell::Time)
}

fn opt_text(s: Option<String>) -> Cell {
    s.map_or(Cell::Null, Cell::Text)
}

/// PostgreSQL `COPY … FROM STDIN` text format.
fn copy_escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

fn copy_cell(out: &mut String, c: &Cell) {
    use std::fmt::Write;
    match c {
        Cell::Null => out.push_str("\\N"),
        Cell::Text(s) | Cell::Json(s) => copy_escape(out, s),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Cell::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Cell::Uuid(u) => {
            let _ = write!(out, "{u}");
        }
        Cell::Time(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        }
    }
}

fn db_value(c: &Cell) -> AppResult<sea_orm::Value> {
    Ok(match c {
        Cell::Null => sea_orm::Value::String(None),
        Cell::Text(s) => s.clone().into(),
        Cell::Int(i) => (*i).into(),
        Cell::Float(f) => (*f).into(),
        Cell::Bool(b) => (*b).into(),
        Cell::Uuid(u) => (*u).into(),
        Cell::Time(t) => (*t).into(),
        Cell::Json(s) => serde_json::from_str::<Value>(s).map_err(internal)?.into(),
    })
}

/// Where generated rows go.
struct Sink<'a> {
    db: &'a Db,
}

impl Sink<'_> {
    async fn write(&self, table: &str, cols: &[&str], rows: &[Vec<Cell>]) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self.db.backend() {
            DatabaseBackend::Postgres => {
                let mut buf = String::with_capacity(rows.len() * 256);
                for r in rows {
                    for (i, c) in r.iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        copy_cell(&mut buf, c);
                    }
                    buf.push('\n');
                }
                let pool = self.db.conn().get_postgres_connection_pool();
                let mut conn = pool.acquire().await.map_err(internal)?;
                let sql = format!("COPY {table} ({}) FROM STDIN", cols.join(", "));
                let mut copy = conn.copy_in_raw(&sql).await.map_err(internal)?;
                copy.send(buf.into_bytes()).await.map_err(internal)?;
                copy.finish().await.map_err(internal)?;
            }
            backend => {
                // SQLite allows 32,766 bound values per statement.
                let per = (30_000 / cols.len()).max(1);
                let txn = self.db.write().await?;
                for batch in rows.chunks(per) {
                    let one = format!("({})", vec!["?"; cols.len()].join(", "));
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        cols.join(", "),
                        vec![one; batch.len()].join(", ")
                    );
                    let mut values = Vec::with_capacity(batch.len() * cols.len());
                    for r in batch {
                        for c in r {
                            values.push(db_value(c)?);
                        }
                    }
                    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
                }
                txn.commit().await?;
            }
        }
        Ok(())
    }
}

const USER_COLS: &[&str] = &[
    "id",
    "username",
    "display_name",
    "kind",
    "student_no",
    "staff_no",
    "department_id",
    "email",
    "phone",
    "password_hash",
    "status",
    "auth_epoch",
    "password_changed_at",
    "last_login_at",
    "version",
    "created_at",
    "updated_at",
];
const USER_ROLE_COLS: &[&str] = &["id", "user_id", "role_id", "scope", "department_id", "created_at"];
const DEPT_COLS: &[&str] = &[
    "id",
    "parent_id",
    "code",
    "name",
    "name_en",
    "kind",
    "sort_order",
    "active",
    "version",
    "created_at",
    "updated_at",
];
const POSITION_COLS: &[&str] =
    &["id", "user_id", "kind", "department_id", "title", "version", "created_at", "updated_at"];
const AFFAIR_COLS: &[&str] = &[
    "id",
    "number",
    "process_id",
    "process_version_id",
    "applicant_id",
    "department_id",
    "title",
    "status",
    "is_test",
    "state",
    "due_at",
    "submitted_at",
    "finished_at",
    "version",
    "created_at",
    "updated_at",
    "guide_id",
    "handling_days",
];
const TASK_COLS: &[&str] = &[
    "id",
    "affair_id",
    "seq",
    "node_id",
    "node_name",
    "assignee_id",
    "original_assignee_id",
    "status",
    "kind",
    "result",
    "created_at",
    "due_at",
    "closed_at",
];

/// A generated class and who handles its students.
struct Class {
    id: Uuid,
    code: String,
    counsellor: UserId,
    head: UserId,
}

struct Student {
    id: Uuid,
    name: String,
    class: usize,
}

/// A generated process version the affairs run on.
struct Version {
    id: Uuid,
    def: ProcessDefinition,
}

struct Proc {
    id: Uuid,
    name: String,
    department: Uuid,
    guide_id: Option<Uuid>,
    /// Version 1 (offline since `switched_at`) and version 2 (online).
    versions: [Version; 2],
}

/// Everything the generator threads read.
struct World {
    seed: u64,
    as_of: DateTime<Utc>,
    switched_at: DateTime<Utc>,
    cal: WorkCalendar,
    classes: Vec<Class>,
    by_class_id: HashMap<String, usize>,
    students: Vec<Student>,
    procs: Vec<Proc>,
    /// The process whose review node is `xgc_admin`'s.
    special: usize,
    /// The first `normal` affairs are random; the rest wait for `xgc_admin`.
    normal: usize,
    leader: UserId,
}

impl Directory for World {
    fn resolve(&self, rule: &AssigneeRule, ctx: &ResolveContext<'_>) -> Vec<UserId> {
        if let Some(found) = resolve_from_data(rule, ctx) {
            return found;
        }
        let class = ctx.applicant_attrs["department_id"].as_str().and_then(|d| self.by_class_id.get(d));
        match (rule, class) {
            (AssigneeRule::ClassCounsellor, Some(c)) => vec![self.classes[*c].counsellor.clone()],
            (AssigneeRule::ApplicantDepartmentHead, Some(c)) => vec![self.classes[*c].head.clone()],
            (AssigneeRule::SupervisingLeader { .. }, Some(_)) => vec![self.leader.clone()],
            _ => Vec::new(),
        }
    }

    fn deputy(&self, _user: &UserId, _process_key: &str, _at: DateTime<Utc>) -> Option<UserId> {
        None
    }
}

/// One generated affair, ready to be written once it has a number.
struct GenAffair {
    submitted: DateTime<Utc>,
    row: Vec<Cell>,
    tasks: Vec<Vec<Cell>>,
    candidates: Vec<Vec<Cell>>,
    pending: usize,
}

enum Plan {
    Complete,
    Reject(usize),
    Withdraw,
    /// Stop with the task after this many approvals pending.
    Pending(usize),
}

fn hours(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> Duration {
    Duration::seconds(rng.random_range(lo * 3600..hi * 3600))
}

fn gen_affair(w: &World, index: usize) -> AppResult<GenAffair> {
    let mut rng = ChaCha8Rng::seed_from_u64(w.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let forced = index >= w.normal;
    let p = if forced { w.special } else { rng.random_range(0..w.procs.len()) };
    let proc = &w.procs[p];
    let user_tasks = proc.versions[1].def.nodes.iter().filter(|n| matches!(n.kind, NodeKind::UserTask { .. })).count();
    let roll = rng.random_range(0..1000);
    let mut plan = match roll {
        _ if forced => Plan::Pending(2),
        0..60 => Plan::Pending(rng.random_range(0..user_tasks)),
        60..100 => Plan::Reject(rng.random_range(0..user_tasks)),
        100..120 => Plan::Withdraw,
        _ => Plan::Complete,
    };
    // Only the forced affairs wait for xgc_admin.
    if p == w.special && !forced && matches!(plan, Plan::Pending(k) if k >= 2) {
        plan = Plan::Complete;
    }
    let mut t = match plan {
        Plan::Pending(_) => w.as_of - hours(&mut rng, 1, 48),
        _ => w.as_of - Duration::days(rng.random_range(20..365)) - hours(&mut rng, 0, 24),
    };
    let version = if t < w.switched_at { &proc.versions[0] } else { &proc.versions[1] };
    let student = &w.students[rng.random_range(0..w.students.len())];
    let class = &w.classes[student.class];
    let applicant = uid(student.id);
    let attrs = json!({ "kind": "student", "department_id": class.id.to_string(), "department_code": class.code });
    let form = json!({
        "reason": REASONS[rng.random_range(0..REASONS.len())],
        "copies": rng.random_range(1..=3),
        "contact_phone": format!("139{:08}", rng.random_range(0..100_000_000u32)),
    });
    let submitted = t;
    let mut inst = Instance::new(version.def.key.clone(), applicant.clone(), attrs);
    let submit = Command {
        actor: applicant.clone(),
        action: Action::Submit { picks: BTreeMap::new() },
        comment: None,
        form_patch: form.as_object().cloned(),
        now: t,
    };
    inst = execute(&version.def, &inst, &submit, w, &w.cal).map_err(internal)?.instance;
    let mut approvals = 0;
    loop {
        let Some(task) = inst.pending_tasks().next() else { break };
        let (task_id, actor) = (task.id, task.assignee.clone().or_else(|| task.candidates.first().cloned()));
        let Some(actor) = actor else { return Err(internal("a generated task has nobody to handle it")) };
        let (action, by, comment) = match plan {
            Plan::Pending(k) if approvals >= k => break,
            Plan::Withdraw => (Action::Withdraw, applicant.clone(), None),
            Plan::Reject(k) if approvals >= k => (Action::Reject { task: task_id }, actor, Some("材料不全，不予通过")),
            _ => (Action::Approve { task: task_id }, actor, Some("同意")),
        };
        t += if matches!(plan, Plan::Pending(_)) {
            Duration::minutes(rng.random_range(5..60))
        } else {
            hours(&mut rng, 0, 30)
        };
        let cmd = Command { actor: by, action, comment: comment.map(str::to_owned), form_patch: None, now: t };
        inst = execute_owned(&version.def, inst, &cmd, w, &w.cal).map_err(internal)?.instance;
        approvals += 1;
        if inst.status.is_finished() || inst.status == InstanceStatus::Returned {
            break;
        }
    }
    let id = id_at(&mut rng, submitted);
    let mut tasks = Vec::with_capacity(inst.tasks.len());
    let mut candidates = Vec::new();
    let mut pending = 0;
    for task in &inst.tasks {
        let task_row = id_at(&mut rng, task.created_at);
        let parse = |u: &Option<UserId>| u.as_ref().and_then(|u| u.as_str().parse::<Uuid>().ok());
        if lower(&task.status) == "pending" {
            pending += 1;
            for c in task.candidates.iter().filter_map(|u| u.as_str().parse::<Uuid>().ok()) {
                candidates.push(vec![Cell::Uuid(task_row), Cell::Uuid(c)]);
            }
        }
        tasks.push(vec![
            Cell::Uuid(task_row),
            Cell::Uuid(id),
            Cell::Int(i64::from(task.id.0)),
            Cell::Text(task.node.to_string()),
            Cell::Text(version.def.node(&task.node).map(|n| n.name.clone()).unwrap_or_default()),
            opt_uuid(parse(&task.assignee)),
            opt_uuid(parse(&task.original_assignee)),
            Cell::Text(lower(&task.status)),
            Cell::Text(task_kind(&task.kind).to_owned()),
            opt_text(task.result.as_ref().map(lower)),
            Cell::Time(task.created_at),
            opt_time(task.due_at),
            opt_time(task.closed_at),
        ]);
    }
    let state = serde_json::to_string(&inst).map_err(internal)?;
    let row = vec![
        Cell::Uuid(id),
        Cell::Null, // the number, given in order by the writer
        Cell::Uuid(proc.id),
        Cell::Uuid(version.id),
        Cell::Uuid(student.id),
        Cell::Uuid(class.id),
        Cell::Text(format!("{}（{}）", proc.name, student.name).chars().take(200).collect()),
        Cell::Text(status_of(&inst).to_owned()),
        Cell::Bool(false),
        Cell::Json(state),
        opt_time(inst.due_at),
        opt_time(inst.submitted_at),
        opt_time(inst.finished_at),
        Cell::Int(1 + approvals as i64),
        Cell::Time(submitted),
        Cell::Time(t),
        opt_uuid(proc.guide_id),
        handling_days(&w.cal, &inst).map_or(Cell::Null, Cell::Float),
    ];
    Ok(GenAffair { submitted, row, tasks, candidates, pending })
}

/// The definition and form of a generated process: counsellor, college head, (leader,) the
/// office's reviewer and the office's approver.
fn definition(key: &str, name: &str, office: &str, leader: bool, reviewer: Uuid, approver: Uuid) -> (Value, Value) {
    let task = |id: &str, name: String, rule: Value, days: u32| {
        json!({"id": id, "name": name, "time_limit": {"amount": days, "unit": "working_days"},
               "kind": {"type": "user_task", "assignees": [rule], "mode": {"type": "single"}}})
    };
    let mut nodes = vec![
        json!({"id": "start", "name": "提交申请", "kind": {"type": "start"},
               "field_access": {"reason": "editable", "copies": "editable", "contact_phone": "editable"}}),
        task("counsellor", "辅导员审核".into(), json!({"type": "class_counsellor"}), 1),
        task("college", "二级学院审核".into(), json!({"type": "applicant_department_head"}), 2),
    ];
    if leader {
        nodes.push(task(
            "leader",
            "分管院领导审批".into(),
            json!({"type": "supervising_leader", "of": "applicant_department"}),
            2,
        ));
    }
    nodes.push(task("review", format!("{office}审核"), json!({"type": "users", "users": [reviewer]}), 2));
    nodes.push(task("approve", format!("{office}负责人审批"), json!({"type": "users", "users": [approver]}), 1));
    nodes.push(json!({"id": "end", "name": "办结", "kind": {"type": "end", "outcome": "completed"}}));
    let flows: Vec<Value> = nodes
        .windows(2)
        .enumerate()
        .map(|(i, w)| json!({"id": format!("f{i}"), "from": w[0]["id"], "to": w[1]["id"]}))
        .collect();
    let def = json!({"key": key, "name": name, "time_limit": {"amount": 10, "unit": "working_days"},
                     "admins": [approver], "nodes": nodes, "flows": flows});
    let form = json!({"fields": [
        {"key": "reason", "label": "申请事由", "label_en": "Reason", "kind": {"type": "textarea", "max_len": 500}, "required": true},
        {"key": "copies", "label": "份数", "label_en": "Copies", "kind": {"type": "number", "min": 1, "max": 5, "integer": true}, "required": true},
        {"key": "contact_phone", "label": "联系电话", "label_en": "Phone", "kind": {"type": "text", "pattern": "phone_cn"}, "required": true}
    ]});
    (def, form)
}

/// Build the large college into an empty database. Returns what it built.
pub async fn seed(db: &Db, o: &ScaleOptions) -> AppResult<ScaleReport> {
    let started = std::time::Instant::now();
    if !(o.scale > 0.0 && o.scale <= 100.0) {
        return Err(internal("the scale must be above 0 and at most 100"));
    }
    if !crate::demo::seed(db).await? {
        return Err(internal("the database is not empty; a scale seed goes into a fresh database"));
    }
    let s = sizes(o);
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let t0 = o.as_of - Duration::days(400);
    let conn = db.conn();
    let depts: HashMap<String, department::Model> =
        department::Entity::find().all(conn).await?.into_iter().map(|d| (d.code.clone(), d)).collect();
    let demo_users: HashMap<String, user::Model> =
        user::Entity::find().all(conn).await?.into_iter().map(|u| (u.username.clone(), u)).collect();
    let roles: HashMap<String, Uuid> =
        role::Entity::find().all(conn).await?.into_iter().map(|r| (r.code, r.id)).collect();
    let role = |c: &str| roles.get(c).copied().ok_or_else(|| internal(format!("role {c} missing")));
    let demo = |u: &str| demo_users.get(u).map(|u| u.id).ok_or_else(|| internal(format!("demo user {u} missing")));
    let dept = |c: &str| depts.get(c).map(|d| d.id).ok_or_else(|| internal(format!("department {c} missing")));
    let hash = demo_users
        .get("student1")
        .and_then(|u| u.password_hash.clone())
        .ok_or_else(|| internal("demo student1 has no password"))?;
    let sink = Sink { db };

    // Colleges and classes.
    let school = dept("school")?;
    let mut dept_rows = Vec::new();
    let mut college_ids = Vec::new();
    for (i, (code, name, _)) in COLLEGES.iter().take(s.colleges).enumerate() {
        let id = id_at(&mut rng, t0);
        college_ids.push(id);
        dept_rows.push(vec![
            Cell::Uuid(id),
            Cell::Uuid(school),
            Cell::Text((*code).into()),
            Cell::Text((*name).into()),
            Cell::Null,
            Cell::Text("college".into()),
            Cell::Int(100 + i as i64),
            Cell::Bool(true),
            Cell::Int(1),
            Cell::Time(t0),
            Cell::Time(t0),
        ]);
    }
    let mut class_rows: Vec<(Uuid, String, usize)> = Vec::new();
    for k in 0..s.classes {
        let college = k % s.colleges;
        let (_, cname, short) = COLLEGES[college];
        let year = 2023 + (k / s.colleges) % 3;
        let code = format!("{short}{year}{:02}", k / (s.colleges * 3) + 1);
        let id = id_at(&mut rng, t0);
        dept_rows.push(vec![
            Cell::Uuid(id),
            Cell::Uuid(college_ids[college]),
            Cell::Text(code.clone()),
            Cell::Text(format!("{}{}{:02}班", cname.trim_end_matches("学院"), year % 100, k / (s.colleges * 3) + 1)),
            Cell::Null,
            Cell::Text("class".into()),
            Cell::Int(1000 + k as i64),
            Cell::Bool(true),
            Cell::Int(1),
            Cell::Time(t0),
            Cell::Time(t0),
        ]);
        class_rows.push((id, code, college));
    }
    sink.write("departments", DEPT_COLS, &dept_rows).await?;

    // Staff: half in the colleges (heads and counsellors), half in the offices.
    let mut user_rows = Vec::new();
    let mut role_rows = Vec::new();
    let mut position_rows = Vec::new();
    let applicant = role("applicant")?;
    let handler = role("handler")?;
    let mut college_staff: Vec<Vec<Uuid>> = vec![Vec::new(); s.colleges];
    let mut office_staff: Vec<Vec<Uuid>> = vec![Vec::new(); OFFICES.len()];
    for k in 0..s.staff {
        let id = id_at(&mut rng, t0);
        let in_college = k % 2 == 0;
        let department = if in_college {
            college_staff[(k / 2) % s.colleges].push(id);
            college_ids[(k / 2) % s.colleges]
        } else {
            office_staff[(k / 2) % OFFICES.len()].push(id);
            dept(OFFICES[(k / 2) % OFFICES.len()].0)?
        };
        let username = format!("t{:05}", k + 1);
        user_rows.push(user_row(id, &username, person_name(&mut rng), "staff", &hash, Some(department), t0));
        role_rows.push(vec![
            Cell::Uuid(id_at(&mut rng, t0)),
            Cell::Uuid(id),
            Cell::Uuid(applicant),
            Cell::Text(Scope::Own.as_str().into()),
            Cell::Null,
            Cell::Time(t0),
        ]);
        role_rows.push(vec![
            Cell::Uuid(id_at(&mut rng, t0)),
            Cell::Uuid(id),
            Cell::Uuid(handler),
            Cell::Text(Scope::Department.as_str().into()),
            Cell::Null,
            Cell::Time(t0),
        ]);
    }
    // Colleges without staff of their own borrow the first college's.
    let fallback = college_staff.iter().find(|v| !v.is_empty()).cloned().unwrap_or_default();
    if fallback.is_empty() {
        return Err(internal("too few staff for the colleges"));
    }
    let vp = demo("vp_student")?;
    let mut heads = Vec::new();
    for (c, staff) in college_staff.iter().enumerate() {
        let staff = if staff.is_empty() { &fallback } else { staff };
        heads.push(staff[0]);
        position_rows.push(position_row(&mut rng, staff[0], "department_head", college_ids[c], "二级学院院长", t0));
        position_rows.push(position_row(&mut rng, vp, "supervising_leader", college_ids[c], "分管二级学院副院长", t0));
    }
    let mut classes = Vec::new();
    for (k, (id, code, college)) in class_rows.iter().enumerate() {
        let staff = if college_staff[*college].is_empty() { &fallback } else { &college_staff[*college] };
        // The head counsels only when the college has nobody else.
        let counsellor = if staff.len() > 1 { staff[1 + k % (staff.len() - 1)] } else { staff[0] };
        position_rows.push(position_row(&mut rng, counsellor, "counsellor", *id, "辅导员", t0));
        classes.push(Class { id: *id, code: code.clone(), counsellor: uid(counsellor), head: uid(heads[*college]) });
    }
    let mut students = Vec::with_capacity(s.students);
    for k in 0..s.students {
        let id = id_at(&mut rng, t0);
        let class = k % s.classes;
        let name = person_name(&mut rng);
        let username = format!("s{:06}", k + 1);
        user_rows.push(user_row(id, &username, name.clone(), "student", &hash, Some(class_rows[class].0), t0));
        role_rows.push(vec![
            Cell::Uuid(id_at(&mut rng, t0)),
            Cell::Uuid(id),
            Cell::Uuid(applicant),
            Cell::Text(Scope::Own.as_str().into()),
            Cell::Null,
            Cell::Time(t0),
        ]);
        students.push(Student { id, name, class });
    }
    for chunk in user_rows.chunks(10_000) {
        sink.write("users", USER_COLS, chunk).await?;
    }
    for chunk in role_rows.chunks(10_000) {
        sink.write("user_roles", USER_ROLE_COLS, chunk).await?;
    }
    sink.write("positions", POSITION_COLS, &position_rows).await?;

    // Processes (two versions each) and their guides.
    let switched_at = o.as_of - Duration::days(180);
    let publisher = demo("it_admin")?;
    let offices: Vec<usize> = (0..OFFICES.len()).filter(|i| !office_staff[*i].is_empty()).collect();
    if offices.is_empty() {
        return Err(internal("too few staff for the offices"));
    }
    let mut procs = Vec::new();
    let txn = db.write().await?;
    for k in 0..s.processes {
        // Process 0 is reviewed by the demo handler xgc_admin.
        let special = k == 0;
        let o_idx = if special { 0 } else { offices[k % offices.len()] };
        let (office_code, services) = OFFICES[o_idx];
        let office = depts.get(office_code).ok_or_else(|| internal(office_code))?;
        let round = k / (offices.len() * services.len()).max(1);
        let base = if special { "学生证补办" } else { services[(k / offices.len()) % services.len()] };
        let name = if round == 0 { base.to_owned() } else { format!("{base}（{}）", round + 1) };
        let key = format!("scale_{k:04}");
        let (reviewer, approver) = if special {
            (demo("xgc_admin")?, demo("xgc_head")?)
        } else {
            let staff = &office_staff[o_idx];
            (staff[(k / offices.len()) % staff.len()], staff[0])
        };
        let id = id_at(&mut rng, t0);
        // Version 2 adds the supervising leader on every other process.
        let drafts: Vec<(Value, Value)> =
            (1..=2).map(|n| definition(&key, &name, &office.name, n == 2 && k % 2 == 1, reviewer, approver)).collect();
        process::ActiveModel {
            id: Set(id),
            key: Set(key.clone()),
            name: Set(name.clone()),
            department_id: Set(Some(office.id)),
            description: Set(format!("{}办理{name}。", office.name)),
            draft: Set(drafts[1].0.clone()),
            draft_form: Set(drafts[1].1.clone()),
            draft_diagram: Set(None),
            created_by: Set(Some(publisher)),
            version: Set(1),
            created_at: Set(t0),
            updated_at: Set(switched_at),
        }
        .insert(&*txn)
        .await?;
        let mut versions = Vec::new();
        for (n, (def_json, form_json)) in drafts.into_iter().enumerate() {
            let report = processes::check(&def_json, &form_json);
            if !report.valid {
                return Err(internal(format!("generated process {key} is invalid: {:?}", report.problems)));
            }
            let def: ProcessDefinition = serde_json::from_value(def_json.clone()).map_err(internal)?;
            let vid = id_at(&mut rng, t0);
            let at = if n == 0 { t0 } else { switched_at };
            process_version::ActiveModel {
                id: Set(vid),
                process_id: Set(id),
                number: Set(n as i32 + 1),
                definition: Set(def_json),
                form: Set(form_json),
                diagram: Set(None),
                status: Set(if n == 0 { "offline" } else { "online" }.into()),
                testers: Set(json!([])),
                published_by: Set(Some(publisher)),
                published_at: Set(at),
                status_changed_by: Set(Some(publisher)),
                status_changed_at: Set(at),
            }
            .insert(&*txn)
            .await?;
            versions.push(Version { id: vid, def });
        }
        let [v1, v2]: [Version; 2] = versions.try_into().map_err(|_| internal("two versions"))?;
        procs.push(Proc { id, name, department: office.id, guide_id: None, versions: [v1, v2] });
    }
    let (with_process, without) = guide_templates(&*txn).await?;
    for g in 0..s.guides {
        let linked = g < procs.len();
        let (name, department, process_id) = if linked {
            (procs[g].name.clone(), procs[g].department, Some(procs[g].id))
        } else {
            let base = GENERAL_GUIDES[g % GENERAL_GUIDES.len()];
            let n = g / GENERAL_GUIDES.len();
            let office = dept(OFFICES[g % OFFICES.len()].0)?;
            (if n == 0 { base.to_owned() } else { format!("{base}（{}）", n + 1) }, office, None)
        };
        let mut content = if linked { with_process.clone() } else { without.clone() };
        content.name = name.clone();
        content.name_en = None;
        content.keywords = name.clone();
        content.summary = format!("{name}：{}", content.summary).chars().take(200).collect();
        content.process_id = process_id;
        content.validate().map_err(|e| internal(format!("generated guide {name}: {e}")))?;
        let id = id_at(&mut rng, t0);
        guide::ActiveModel {
            id: Set(id),
            code: Set(format!("scale-{g:05}")),
            department_id: Set(department),
            category_id: Set(content.category_id),
            process_id: Set(process_id),
            name: Set(name),
            name_en: Set(None),
            summary: Set(content.summary.clone()),
            keywords: Set(content.keywords.clone()),
            audiences: Set(serde_json::to_value(&content.audiences).map_err(internal)?),
            channels: Set(serde_json::to_value(&content.channels).map_err(internal)?),
            status: Set("published".into()),
            published_version: Set(Some(1)),
            latest_version: Set(1),
            recommended: Set(false),
            recommend_rank: Set(0),
            protected: Set(false),
            version: Set(1),
            created_at: Set(t0),
            updated_at: Set(t0),
            published_at: Set(Some(t0)),
        }
        .insert(&*txn)
        .await?;
        guide_version::ActiveModel {
            id: Set(id_at(&mut rng, t0)),
            guide_id: Set(id),
            number: Set(1),
            status: Set("published".into()),
            content: Set(serde_json::to_value(&content).map_err(internal)?),
            created_by: Set(publisher),
            created_at: Set(t0),
            published_by: Set(Some(publisher)),
            published_at: Set(Some(t0)),
        }
        .insert(&*txn)
        .await?;
        if linked {
            procs[g].guide_id = Some(id);
        }
    }
    let cal = calendar::load(&*txn).await?;
    txn.commit().await?;

    // Affairs, on worker threads, written in order.
    let by_class_id = classes.iter().enumerate().map(|(i, c)| (c.id.to_string(), i)).collect();
    let world = Arc::new(World {
        seed: o.seed,
        as_of: o.as_of,
        switched_at,
        cal,
        classes,
        by_class_id,
        students,
        procs,
        special: 0,
        normal: s.affairs - XGC_ADMIN_PENDING,
        leader: uid(vp),
    });
    let chunks = s.affairs.div_ceil(CHUNK);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let mut receivers = Vec::new();
    let mut handles = Vec::new();
    for wk in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::channel::<AppResult<Vec<GenAffair>>>(2);
        receivers.push(rx);
        let world = world.clone();
        let total = s.affairs;
        handles.push(std::thread::spawn(move || {
            for c in (wk..chunks).step_by(workers) {
                let batch: AppResult<Vec<GenAffair>> =
                    (c * CHUNK..((c + 1) * CHUNK).min(total)).map(|i| gen_affair(&world, i)).collect();
                let failed = batch.is_err();
                if tx.blocking_send(batch).is_err() || failed {
                    return;
                }
            }
        }));
    }
    let cst = FixedOffset::east_opt(8 * 3600).ok_or_else(|| internal("offset"))?;
    let mut numbers: BTreeMap<String, i64> = BTreeMap::new();
    let (mut tasks, mut pending, mut xgc) = (0usize, 0usize, 0usize);
    for c in 0..chunks {
        let batch = receivers[c % workers].recv().await.ok_or_else(|| internal("a generator thread stopped"))??;
        let mut affairs = Vec::with_capacity(batch.len());
        let mut task_rows = Vec::new();
        let mut candidate_rows = Vec::new();
        for (j, mut a) in batch.into_iter().enumerate() {
            let day = a.submitted.with_timezone(&cst).format("%Y%m%d").to_string();
            let n = numbers.entry(day.clone()).or_insert(0);
            *n += 1;
            a.row[1] = Cell::Text(format!("SW{day}{n:05}"));
            tasks += a.tasks.len();
            pending += a.pending;
            if c * CHUNK + j >= world.normal {
                xgc += a.pending;
            }
            affairs.push(a.row);
            task_rows.extend(a.tasks);
            candidate_rows.extend(a.candidates);
        }
        sink.write("affairs", AFFAIR_COLS, &affairs).await?;
        sink.write("tasks", TASK_COLS, &task_rows).await?;
        sink.write("task_candidates", &["task_id", "user_id"], &candidate_rows).await?;
        if c % 50 == 49 {
            tracing::info!(affairs = (c + 1) * CHUNK, "seed --scale: affairs written");
        }
    }
    for h in handles {
        h.join().map_err(|_| internal("a generator thread panicked"))?;
    }
    // Today's and past days' numbers go on from the generated ones.
    let txn = db.write().await?;
    let backend = db.backend();
    let upsert = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO affair_numbers (day, last) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET last = GREATEST(affair_numbers.last, EXCLUDED.last)"
        }
        _ => {
            "INSERT INTO affair_numbers (day, last) VALUES (?, ?) \
             ON CONFLICT (day) DO UPDATE SET last = MAX(affair_numbers.last, excluded.last)"
        }
    };
    for (day, last) in &numbers {
        txn.execute_raw(Statement::from_sql_and_values(backend, upsert, [day.clone().into(), (*last as i32).into()]))
            .await?;
    }
    let report = ScaleReport {
        departments: dept_rows.len(),
        users: user_rows.len(),
        guides: s.guides,
        processes: s.processes,
        process_versions: 2 * s.processes,
        affairs: s.affairs,
        tasks,
        pending_tasks: pending,
        xgc_admin_pending: xgc,
        seconds: 0.0,
    };
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let mut after = serde_json::to_value(&report).map_err(internal)?;
    after["seed"] = json!(o.seed);
    after["scale"] = json!(o.scale);
    after["as_of"] = json!(o.as_of);
    audit::record(&*txn, &ctx, Entry::new("scale.seed", "system", "scale").after(&after)).await?;
    txn.commit().await?;
    if backend == DatabaseBackend::Postgres {
        conn.execute_unprepared("ANALYZE").await?;
    }
    Ok(ScaleReport { seconds: started.elapsed().as_secs_f64(), ..report })
}

fn user_row(
    id: Uuid,
    username: &str,
    name: String,
    kind: &str,
    hash: &str,
    department: Option<Uuid>,
    t: DateTime<Utc>,
) -> Vec<Cell> {
    let student = kind == "student";
    let number = if student { format!("25{:0>8}", &username[1..]) } else { format!("TS{}", &username[1..]) };
    vec![
        Cell::Uuid(id),
        Cell::Text(username.into()),
        Cell::Text(name),
        Cell::Text(kind.into()),
        if student { Cell::Text(number.clone()) } else { Cell::Null },
        if student { Cell::Null } else { Cell::Text(number) },
        opt_uuid(department),
        Cell::Text(format!("{username}@scale.tongban.edu.cn")),
        Cell::Null,
        Cell::Text(hash.into()),
        Cell::Text("active".into()),
        Cell::Int(0),
        Cell::Time(t),
        Cell::Null,
        Cell::Int(1),
        Cell::Time(t),
        Cell::Time(t),
    ]
}

fn position_row(rng: &mut ChaCha8Rng, user: Uuid, kind: &str, dept: Uuid, title: &str, t: DateTime<Utc>) -> Vec<Cell> {
    vec![
        Cell::Uuid(id_at(rng, t)),
        Cell::Uuid(user),
        Cell::Text(kind.into()),
        Cell::Uuid(dept),
        Cell::Text(title.into()),
        Cell::Int(1),
        Cell::Time(t),
        Cell::Time(t),
    ]
}

/// The published content of a demo guide with an online process and of one without, to vary.
async fn guide_templates<C: ConnectionTrait>(db: &C) -> AppResult<(GuideContent, GuideContent)> {
    let mut with = None;
    let mut without = None;
    for g in guide::Entity::find().filter(guide::Column::Status.eq("published")).all(db).await? {
        let Some(v) = guide_version::Entity::find()
            .filter(guide_version::Column::GuideId.eq(g.id))
            .filter(guide_version::Column::Number.eq(g.published_version.unwrap_or(1)))
            .one(db)
            .await?
        else {
            continue;
        };
        let content: GuideContent = serde_json::from_value(v.content).map_err(internal)?;
        match (&with, &without, g.process_id) {
            (None, _, Some(_)) => with = Some(content),
            (_, None, None) => without = Some(content),
            _ => {}
        }
    }
    match (with, without) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(internal("the demo guides are missing")),
    }
}
