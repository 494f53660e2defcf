//! Supervision (第三条, 第十四条): the figures the leading group assesses departments by, electronic
//! supervision in the manner of government service halls (a yellow card at 90 % of a time limit,
//! a red card when overdue), and the violations register of the discipline office.
//!
//! Figures are counted over a period of China-time days from the affairs themselves (trial runs
//! left out): submissions, ends by outcome, returns, what runs and is overdue now, handling time in
//! working days (stored on each affair when it ends, on the calendar of that day), the on-time
//! rate, ratings, cards and violations. Cards and overdue violations are issued by the timer sweep
//! of any instance; a unique key per subject makes each one once.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement, Value as DbValue,
};
use serde_json::json;
use tongban_engine::calendar::WorkCalendar;
use uuid::Uuid;

use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::dto::affair::PersonRef;
use crate::dto::common::Page;
use crate::dto::stats::{
    Assessment, AssessmentQuery, AssessmentRow, CardKind, CardQuery, CardSubject, CardView, DayCount, HandleViolation,
    RecordComplaint, StatsOverview, StatsQuery, StatsRow, ViolationKind, ViolationQuery, ViolationStatus,
    ViolationView,
};
use crate::entity::{affair, department, process, supervision_card, task, violation};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{DataScope, Permission, Principal};
use crate::services::{affairs, calendar};
use crate::state::AppState;
use crate::time::{china_day, now};

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

/// The instant a China-time day begins.
fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - TimeDelta::hours(8)).unwrap_or_default()
}

/// The period asked for, both ends included: the last 30 days by default.
fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (NaiveDate, NaiveDate) {
    let today = china_day(now());
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - TimeDelta::days(29));
    (from, to)
}

/// Run raw SQL written with `?` placeholders on either database.
async fn query<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<DbValue>) -> AppResult<Vec<sea_orm::QueryResult>> {
    let backend = db.get_database_backend();
    let sql = if backend == DatabaseBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Ok(db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?)
}

// ---------------------------------------------------------------------------------------------
// Reach

/// The processes whose figures the caller reads (`stats.read` over their handling department),
/// narrowed to one department and those below it when asked.
async fn processes_in_reach<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    department: Option<Uuid>,
) -> AppResult<HashMap<Uuid, process::Model>> {
    if !p.may(Op::StatsRead, &Facts::default()) {
        return Err(AppError::forbidden());
    }
    let scope = p.scope(Permission::StatsRead).ok_or_else(AppError::forbidden)?;
    let mut find = process::Entity::find();
    if let DataScope::Limited { departments, .. } = &scope {
        find = find.filter(process::Column::DepartmentId.is_in(departments.iter().copied()));
    }
    if let Some(d) = department {
        if let DataScope::Limited { departments, .. } = &scope
            && !departments.contains(&d)
        {
            return Err(AppError::forbidden());
        }
        let below: Vec<Uuid> = crate::auth::principal::subtree(db, &[d]).await?.into_iter().collect();
        find = find.filter(process::Column::DepartmentId.is_in(below));
    }
    Ok(find.all(db).await?.into_iter().map(|m| (m.id, m)).collect())
}

/// `AND <column> IN (…)` over the processes in reach (nothing when there are none).
fn in_processes(column: &str, processes: &HashMap<Uuid, process::Model>, values: &mut Vec<DbValue>) -> String {
    if processes.is_empty() {
        return " AND 1 = 0".into();
    }
    let marks: Vec<&str> = processes.keys().map(|_| "?").collect();
    values.extend(processes.keys().map(|id| DbValue::from(*id)));
    format!(" AND {column} IN ({})", marks.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Figures

#[derive(Default, Clone)]
struct Acc {
    submitted: u64,
    completed: u64,
    rejected: u64,
    withdrawn: u64,
    returns: u64,
    open_now: u64,
    overdue_now: u64,
    on_time: u64,
    days: Vec<f64>,
    scores: Vec<f64>,
    yellow: u64,
    red: u64,
    violations: u64,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.submitted += o.submitted;
        self.completed += o.completed;
        self.rejected += o.rejected;
        self.withdrawn += o.withdrawn;
        self.returns += o.returns;
        self.open_now += o.open_now;
        self.overdue_now += o.overdue_now;
        self.on_time += o.on_time;
        self.days.extend(o.days.iter().copied());
        self.scores.extend(o.scores.iter().copied());
        self.yellow += o.yellow;
        self.red += o.red;
        self.violations += o.violations;
    }

    fn row(&self, id: Option<Uuid>, name: String, department_id: Option<Uuid>) -> StatsRow {
        let mut days = self.days.clone();
        days.sort_by(|a, b| a.total_cmp(b));
        let ended = self.completed + self.rejected;
        let round = |x: f64| (x * 100.0).round() / 100.0;
        StatsRow {
            id,
            name,
            department_id,
            submitted: self.submitted,
            completed: self.completed,
            rejected: self.rejected,
            withdrawn: self.withdrawn,
            returns: self.returns,
            open_now: self.open_now,
            overdue_now: self.overdue_now,
            on_time: self.on_time,
            on_time_rate: (ended > 0).then(|| round(self.on_time as f64 / ended as f64)),
            avg_days: (!days.is_empty()).then(|| round(days.iter().sum::<f64>() / days.len() as f64)),
            median_days: median(&days).map(round),
            p90_days: percentile(&days, 0.9).map(round),
            max_days: days.last().copied(),
            satisfaction: (!self.scores.is_empty())
                .then(|| round(self.scores.iter().sum::<f64>() / self.scores.len() as f64)),
            ratings: self.scores.len() as u64,
            yellow_cards: self.yellow,
            red_cards: self.red,
            violations: self.violations,
        }
    }
}

/// The middle value (the mean of the two middle ones for an even count) of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `q` of all at
/// or below it.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len() - 1)).copied()
}

const RUNNING: [&str; 3] = ["submitted", "in_progress", "returned"];

/// Everything counted per process over `[start, end)`, and per China day.
async fn figures<C: ConnectionTrait>(
    db: &C,
    cal: &WorkCalendar,
    processes: &HashMap<Uuid, process::Model>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<(HashMap<Uuid, Acc>, BTreeMap<NaiveDate, (u64, u64)>)> {
    let t = now();
    let mut acc: HashMap<Uuid, Acc> = HashMap::new();
    let mut days: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();

    let mut v: Vec<DbValue> = vec![false.into(), start.into(), end.into(), start.into(), end.into()];
    let sql = format!(
        "SELECT process_id, status, submitted_at, finished_at, due_at, handling_days FROM affairs \
         WHERE is_test = ? AND ((submitted_at >= ? AND submitted_at < ?) OR (finished_at >= ? AND finished_at < ?)){}",
        in_processes("process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        let pid: Uuid = r.try_get("", "process_id")?;
        let status: String = r.try_get("", "status")?;
        let submitted: Option<DateTime<Utc>> = r.try_get("", "submitted_at")?;
        let finished: Option<DateTime<Utc>> = r.try_get("", "finished_at")?;
        let due: Option<DateTime<Utc>> = r.try_get("", "due_at")?;
        let stored: Option<f64> = r.try_get("", "handling_days")?;
        let a = acc.entry(pid).or_default();
        if let Some(s) = submitted.filter(|s| *s >= start && *s < end) {
            a.submitted += 1;
            days.entry(china_day(s)).or_default().0 += 1;
        }
        let Some(f) = finished.filter(|f| *f >= start && *f < end) else { continue };
        days.entry(china_day(f)).or_default().1 += 1;
        match status.as_str() {
            "completed" => a.completed += 1,
            "rejected" => a.rejected += 1,
            "withdrawn" => {
                a.withdrawn += 1;
                continue;
            }
            _ => continue,
        }
        if due.is_none_or(|d| f <= d) {
            a.on_time += 1;
        }
        let per_day = cal.office_hours().per_day().num_seconds() as f64;
        let computed = submitted
            .filter(|_| per_day > 0.0)
            .map(|s| ((cal.working_time_between(s, f).num_seconds() as f64 / per_day) * 100.0).round() / 100.0);
        if let Some(d) = stored.or(computed) {
            a.days.push(d);
        }
    }

    let mut v: Vec<DbValue> = vec![false.into()];
    let running: Vec<String> = RUNNING.iter().map(|_| "?".to_owned()).collect();
    v.extend(RUNNING.iter().map(|s| DbValue::from(*s)));
    let sql = format!(
        "SELECT process_id, status, due_at FROM affairs WHERE is_test = ? AND status IN ({}){}",
        running.join(", "),
        in_processes("process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        let pid: Uuid = r.try_get("", "process_id")?;
        let status: String = r.try_get("", "status")?;
        let due: Option<DateTime<Utc>> = r.try_get("", "due_at")?;
        let a = acc.entry(pid).or_default();
        a.open_now += 1;
        if status != "returned" && due.is_some_and(|d| d < t) {
            a.overdue_now += 1;
        }
    }

    let mut v: Vec<DbValue> = vec!["returned".into(), start.into(), end.into(), false.into()];
    let sql = format!(
        "SELECT a.process_id AS process_id FROM tasks t JOIN affairs a ON a.id = t.affair_id \
         WHERE t.result = ? AND t.closed_at >= ? AND t.closed_at < ? AND a.is_test = ?{}",
        in_processes("a.process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        acc.entry(r.try_get("", "process_id")?).or_default().returns += 1;
    }

    let mut v: Vec<DbValue> = vec![start.into(), end.into()];
    let sql = format!(
        "SELECT a.process_id AS process_id, r.score AS score FROM affair_ratings r JOIN affairs a ON a.id = r.affair_id \
         WHERE r.created_at >= ? AND r.created_at < ?{}",
        in_processes("a.process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        let score: i16 = r.try_get("", "score")?;
        acc.entry(r.try_get("", "process_id")?).or_default().scores.push(f64::from(score));
    }

    let mut v: Vec<DbValue> = vec![start.into(), end.into()];
    let sql = format!(
        "SELECT process_id, kind FROM supervision_cards WHERE issued_at >= ? AND issued_at < ?{}",
        in_processes("process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        let kind: String = r.try_get("", "kind")?;
        let a = acc.entry(r.try_get("", "process_id")?).or_default();
        if kind == CardKind::Red.as_str() { a.red += 1 } else { a.yellow += 1 }
    }

    let mut v: Vec<DbValue> = vec![start.into(), end.into()];
    let sql = format!(
        "SELECT process_id FROM violations WHERE occurred_at >= ? AND occurred_at < ?{}",
        in_processes("process_id", processes, &mut v)
    );
    for r in query(db, &sql, v).await? {
        acc.entry(r.try_get("", "process_id")?).or_default().violations += 1;
    }
    acc.retain(|pid, _| processes.contains_key(pid));
    Ok((acc, days))
}

async fn department_names<C: ConnectionTrait>(db: &C) -> AppResult<HashMap<Uuid, String>> {
    Ok(department::Entity::find().all(db).await?.into_iter().map(|d| (d.id, d.name)).collect())
}

/// Rows per process and per handling department, most submissions first.
fn rows(
    acc: &HashMap<Uuid, Acc>,
    processes: &HashMap<Uuid, process::Model>,
    names: &HashMap<Uuid, String>,
) -> (Acc, Vec<StatsRow>, Vec<StatsRow>) {
    let mut total = Acc::default();
    let mut by_dept: HashMap<Option<Uuid>, Acc> = HashMap::new();
    let mut process_rows = Vec::new();
    for (pid, a) in acc {
        let Some(p) = processes.get(pid) else { continue };
        total.add(a);
        by_dept.entry(p.department_id).or_default().add(a);
        process_rows.push(a.row(Some(*pid), p.name.clone(), p.department_id));
    }
    let mut dept_rows: Vec<StatsRow> = by_dept
        .iter()
        .map(|(d, a)| a.row(*d, d.and_then(|d| names.get(&d).cloned()).unwrap_or_else(|| "（未指定部门）".into()), *d))
        .collect();
    let order = |a: &StatsRow, b: &StatsRow| b.submitted.cmp(&a.submitted).then_with(|| a.name.cmp(&b.name));
    dept_rows.sort_by(order);
    process_rows.sort_by(order);
    (total, dept_rows, process_rows)
}

/// The figures over a period: total, per department, per process, per day.
pub async fn overview(st: &AppState, p: &Principal, q: &StatsQuery) -> AppResult<StatsOverview> {
    let db = st.db.conn();
    let processes = processes_in_reach(db, p, q.department_id).await?;
    let (from, to) = period(q.from, q.to);
    let cal = calendar::load(db).await?;
    let (acc, by_day) = figures(db, &cal, &processes, day_start(from), day_start(to + TimeDelta::days(1))).await?;
    let names = department_names(db).await?;
    let (total, departments, process_rows) = rows(&acc, &processes, &names);
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        let (submitted, finished) = by_day.get(&d).copied().unwrap_or_default();
        days.push(DayCount { day: d, submitted, finished });
        d += TimeDelta::days(1);
    }
    Ok(StatsOverview {
        from,
        to,
        total: total.row(None, "合计".into(), None),
        departments,
        processes: process_rows,
        days,
    })
}

/// The quarter's figures per department, ranked for the assessment (第三条).
pub async fn assessment(st: &AppState, p: &Principal, q: &AssessmentQuery) -> AppResult<Assessment> {
    let from = NaiveDate::from_ymd_opt(q.year, (q.quarter - 1) * 3 + 1, 1)
        .ok_or_else(|| AppError::field("quarter", "invalid", "季度无效", "Invalid quarter"))?;
    let next = if q.quarter == 4 {
        NaiveDate::from_ymd_opt(q.year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(q.year, q.quarter * 3 + 1, 1)
    }
    .ok_or_else(|| AppError::field("year", "invalid", "年份无效", "Invalid year"))?;
    let to = next - TimeDelta::days(1);
    let o = overview(st, p, &StatsQuery { from: Some(from), to: Some(to), department_id: None }).await?;
    let mut ranked = o.departments;
    ranked.sort_by(|a, b| {
        let rate = |r: &StatsRow| r.on_time_rate.unwrap_or(-1.0);
        rate(b)
            .total_cmp(&rate(a))
            .then_with(|| (a.red_cards + a.violations).cmp(&(b.red_cards + b.violations)))
            .then_with(|| b.satisfaction.unwrap_or(0.0).total_cmp(&a.satisfaction.unwrap_or(0.0)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let departments =
        ranked.into_iter().enumerate().map(|(i, figures)| AssessmentRow { rank: i as u32 + 1, figures }).collect();
    Ok(Assessment { year: q.year, quarter: q.quarter, from, to, departments })
}

// ---------------------------------------------------------------------------------------------
// Cards and violations: lists

fn department_filter(processes: &HashMap<Uuid, process::Model>, column: impl ColumnTrait) -> Condition {
    Condition::all().add(column.is_in(processes.keys().copied()))
}

struct Labels {
    affairs: HashMap<Uuid, affair::Model>,
    departments: HashMap<Uuid, String>,
    people: HashMap<Uuid, String>,
}

async fn labels<C: ConnectionTrait>(
    db: &C,
    affair_ids: impl IntoIterator<Item = Uuid>,
    people: impl IntoIterator<Item = Uuid>,
) -> AppResult<Labels> {
    let ids: HashSet<Uuid> = affair_ids.into_iter().collect();
    let affairs = affair::Entity::find()
        .filter(affair::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(Labels { affairs, departments: department_names(db).await?, people: affairs::names(db, people).await? })
}

fn person(names: &HashMap<Uuid, String>, id: Option<Uuid>) -> Option<PersonRef> {
    id.map(|id| PersonRef { id, name: names.get(&id).cloned().unwrap_or_default() })
}

fn card_views(
    rows: Vec<supervision_card::Model>,
    processes: &HashMap<Uuid, process::Model>,
    l: &Labels,
) -> Vec<CardView> {
    rows.into_iter()
        .map(|c| {
            let a = l.affairs.get(&c.affair_id);
            CardView {
                id: c.id,
                kind: CardKind::parse(&c.kind).unwrap_or(CardKind::Yellow),
                subject: CardSubject::parse(&c.subject).unwrap_or(CardSubject::Task),
                affair_id: c.affair_id,
                affair_number: a.map(|a| a.number.clone()).unwrap_or_default(),
                affair_title: a.map(|a| a.title.clone()).unwrap_or_default(),
                task_id: c.task_id,
                node_name: c.node_name,
                process_id: c.process_id,
                process_name: processes.get(&c.process_id).map(|p| p.name.clone()).unwrap_or_default(),
                department_id: c.department_id,
                department_name: c.department_id.and_then(|d| l.departments.get(&d).cloned()).unwrap_or_default(),
                handler: person(&l.people, c.handler_id),
                due_at: c.due_at,
                issued_at: c.issued_at,
                resolved_at: c.resolved_at,
            }
        })
        .collect()
}

/// Every card issued in `[start, end)` in reach (at most 10,000, newest first), for exports.
async fn cards_between(
    st: &AppState,
    p: &Principal,
    q: &StatsQuery,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> AppResult<Vec<CardView>> {
    let db = st.db.conn();
    let processes = processes_in_reach(db, p, q.department_id).await?;
    let rows = supervision_card::Entity::find()
        .filter(department_filter(&processes, supervision_card::Column::ProcessId))
        .filter(supervision_card::Column::IssuedAt.gte(start))
        .filter(supervision_card::Column::IssuedAt.lt(end))
        .order_by_desc(supervision_card::Column::IssuedAt)
        .limit(10_000)
        .all(db)
        .await?;
    let l = labels(db, rows.iter().map(|c| c.affair_id), rows.iter().filter_map(|c| c.handler_id)).await?;
    Ok(card_views(rows, &processes, &l))
}

/// Supervision cards in reach, newest first.
pub async fn cards(st: &AppState, p: &Principal, q: &CardQuery) -> AppResult<Page<CardView>> {
    let db = st.db.conn();
    let processes = processes_in_reach(db, p, q.department_id).await?;
    let mut find =
        supervision_card::Entity::find().filter(department_filter(&processes, supervision_card::Column::ProcessId));
    if let Some(k) = q.kind {
        find = find.filter(supervision_card::Column::Kind.eq(k.as_str()));
    }
    match q.open {
        Some(true) => find = find.filter(supervision_card::Column::ResolvedAt.is_null()),
        Some(false) => find = find.filter(supervision_card::Column::ResolvedAt.is_not_null()),
        None => {}
    }
    let paging = q.paging();
    let pages = find
        .order_by_desc(supervision_card::Column::IssuedAt)
        .order_by_asc(supervision_card::Column::Id)
        .paginate(db, paging.size());
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(paging.page() - 1).await?;
    let l = labels(db, rows.iter().map(|c| c.affair_id), rows.iter().filter_map(|c| c.handler_id)).await?;
    let items = card_views(rows, &processes, &l);
    Ok(Page { items, total, page: paging.page(), page_size: paging.size() })
}

/// Who reads the violations register: the discipline office everywhere, holders of `stats.read`
/// within their reach.
async fn violation_reach<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    department: Option<Uuid>,
) -> AppResult<HashMap<Uuid, process::Model>> {
    if p.has(Permission::SupervisionManage) {
        let mut find = process::Entity::find();
        if let Some(d) = department {
            let below: Vec<Uuid> = crate::auth::principal::subtree(db, &[d]).await?.into_iter().collect();
            find = find.filter(process::Column::DepartmentId.is_in(below));
        }
        return Ok(find.all(db).await?.into_iter().map(|m| (m.id, m)).collect());
    }
    processes_in_reach(db, p, department).await
}

fn violation_view(v: violation::Model, processes: &HashMap<Uuid, process::Model>, l: &Labels) -> ViolationView {
    ViolationView {
        id: v.id,
        kind: ViolationKind::parse(&v.kind).unwrap_or(ViolationKind::Complaint),
        affair_number: l.affairs.get(&v.affair_id).map(|a| a.number.clone()).unwrap_or_default(),
        affair_id: v.affair_id,
        task_id: v.task_id,
        process_id: v.process_id,
        process_name: processes.get(&v.process_id).map(|p| p.name.clone()).unwrap_or_default(),
        department_id: v.department_id,
        department_name: v.department_id.and_then(|d| l.departments.get(&d).cloned()).unwrap_or_default(),
        user: person(&l.people, v.user_id),
        detail: v.detail,
        occurred_at: v.occurred_at,
        status: ViolationStatus::parse(&v.status).unwrap_or(ViolationStatus::Open),
        handled_by: person(&l.people, v.handled_by),
        handled_at: v.handled_at,
        handling_note: v.handling_note,
        version: v.version,
    }
}

/// The violations register, newest first.
pub async fn violations(st: &AppState, p: &Principal, q: &ViolationQuery) -> AppResult<Page<ViolationView>> {
    let db = st.db.conn();
    let processes = violation_reach(db, p, q.department_id).await?;
    let mut find = violation::Entity::find().filter(department_filter(&processes, violation::Column::ProcessId));
    if let Some(k) = q.kind {
        find = find.filter(violation::Column::Kind.eq(k.as_str()));
    }
    if let Some(s) = q.status {
        find = find.filter(violation::Column::Status.eq(s.as_str()));
    }
    let paging = q.paging();
    let pages = find
        .order_by_desc(violation::Column::OccurredAt)
        .order_by_asc(violation::Column::Id)
        .paginate(db, paging.size());
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(paging.page() - 1).await?;
    let people: Vec<Uuid> = rows.iter().flat_map(|v| [v.user_id, v.handled_by]).flatten().collect();
    let l = labels(db, rows.iter().map(|v| v.affair_id), people).await?;
    let items = rows.into_iter().map(|v| violation_view(v, &processes, &l)).collect();
    Ok(Page { items, total, page: paging.page(), page_size: paging.size() })
}

/// The discipline office records how a violation was dealt with (责令改正, 第十四条).
pub async fn handle(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: HandleViolation,
) -> AppResult<ViolationView> {
    p.require(Permission::SupervisionManage)?;
    let txn = st.db.write().await?;
    let v = violation::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    if v.version != req.version {
        return Err(AppError::stale());
    }
    if v.status == ViolationStatus::Handled.as_str() {
        return Err(AppError::detail(ErrorCode::AffairStateConflict, "该违规已处理", "Already handled"));
    }
    let t = now();
    let done = violation::Entity::update_many()
        .col_expr(violation::Column::Status, Expr::value(ViolationStatus::Handled.as_str()))
        .col_expr(violation::Column::HandledBy, Expr::value(p.user_id))
        .col_expr(violation::Column::HandledAt, Expr::value(t))
        .col_expr(violation::Column::HandlingNote, Expr::value(req.note.trim()))
        .col_expr(violation::Column::Version, Expr::value(v.version + 1))
        .filter(violation::Column::Id.eq(id))
        .filter(violation::Column::Version.eq(v.version))
        .exec(&*txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("violation.handle", "violation", id).after(&json!({ "note": req.note.trim() })),
    )
    .await?;
    let v = violation::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let processes: HashMap<Uuid, process::Model> =
        process::Entity::find_by_id(v.process_id).one(&*txn).await?.into_iter().map(|m| (m.id, m)).collect();
    let l = labels(&*txn, [v.affair_id], [v.user_id, v.handled_by].into_iter().flatten()).await?;
    txn.commit().await?;
    Ok(violation_view(v, &processes, &l))
}

/// The discipline office registers a complaint received outside the system.
pub async fn record_complaint(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    req: RecordComplaint,
) -> AppResult<ViolationView> {
    p.require(Permission::SupervisionManage)?;
    let txn = st.db.write().await?;
    let a = affair::Entity::find()
        .filter(affair::Column::Number.eq(req.affair_number.trim()))
        .one(&*txn)
        .await?
        .ok_or_else(|| {
            AppError::field("affair_number", "not_found", "没有这个编号的事务", "No affair has this number")
        })?;
    let proc = process::Entity::find_by_id(a.process_id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let (id, _) = register(&*txn, ViolationKind::Complaint, None, &a, &proc, None, None, req.detail.trim()).await?;
    audit::record(&*txn, ctx, Entry::new("violation.record", "violation", id).after(&json!({ "affair": a.number })))
        .await?;
    let v = violation::Entity::find_by_id(id).one(&*txn).await?.ok_or_else(AppError::not_found)?;
    let processes = HashMap::from([(proc.id, proc)]);
    let l = labels(&*txn, [v.affair_id], [v.user_id].into_iter().flatten()).await?;
    txn.commit().await?;
    Ok(violation_view(v, &processes, &l))
}

// ---------------------------------------------------------------------------------------------
// Recording, in the transactions of the changes that cause them

/// Register a violation; one with a `dedupe` key only once. Returns its id and whether it was new.
#[allow(clippy::too_many_arguments)]
async fn register<C: ConnectionTrait>(
    db: &C,
    kind: ViolationKind,
    dedupe: Option<String>,
    a: &affair::Model,
    proc: &process::Model,
    task_id: Option<Uuid>,
    user_id: Option<Uuid>,
    detail: &str,
) -> AppResult<(Uuid, bool)> {
    let id = Uuid::now_v7();
    let row = violation::ActiveModel {
        id: Set(id),
        kind: Set(kind.as_str().to_owned()),
        dedupe_key: Set(dedupe),
        affair_id: Set(a.id),
        task_id: Set(task_id),
        process_id: Set(proc.id),
        department_id: Set(proc.department_id),
        user_id: Set(user_id),
        detail: Set(detail.to_owned()),
        occurred_at: Set(now()),
        status: Set(ViolationStatus::Open.as_str().to_owned()),
        handled_by: Set(None),
        handled_at: Set(None),
        handling_note: Set(None),
        version: Set(1),
    };
    let n = violation::Entity::insert(row)
        .on_conflict(OnConflict::column(violation::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok((id, n > 0))
}

/// A process administrator took a task away from its handler (转办 of someone else's task).
pub(crate) async fn handler_overridden<C: ConnectionTrait>(
    db: &C,
    a: &affair::Model,
    proc: &process::Model,
    task_id: Option<Uuid>,
    handler: Option<Uuid>,
    by: Uuid,
    node_name: &str,
) -> AppResult<()> {
    let who = affairs::names(db, [by].into_iter().chain(handler)).await?;
    let name = |u: Option<Uuid>| u.and_then(|u| who.get(&u).cloned()).unwrap_or_default();
    let detail = format!("「{node_name}」环节的待办由 {} 转交他人办理，操作人：{}", name(handler), name(Some(by)));
    register(db, ViolationKind::Override, None, a, proc, task_id, handler, &detail).await.map(|_| ())
}

/// A rating of 1 or 2 is a complaint about the affair's handling.
pub(crate) async fn rated<C: ConnectionTrait>(db: &C, a: &affair::Model, score: i16, comment: &str) -> AppResult<()> {
    if score > 2 {
        return Ok(());
    }
    let Some(proc) = process::Entity::find_by_id(a.process_id).one(db).await? else { return Ok(()) };
    let detail = if comment.is_empty() {
        format!("申请人评价 {score} 分（不满意）")
    } else {
        format!("申请人评价 {score} 分（不满意）：{comment}")
    };
    register(db, ViolationKind::Complaint, Some(format!("rating:{}", a.id)), a, &proc, None, None, &detail)
        .await
        .map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The sweep: cards, their resolution, overdue violations

/// Tasks and affairs looked at per sweep.
const BATCH: u64 = 500;

async fn issue<C: ConnectionTrait>(db: &C, card: supervision_card::ActiveModel) -> AppResult<bool> {
    let r = supervision_card::Entity::insert(card)
        .on_conflict(OnConflict::column(supervision_card::Column::SubjectKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(r > 0)
}

/// How much of the working time from `start` to `due` has passed at `t` (1.0 and more when due).
fn used(cal: &WorkCalendar, start: DateTime<Utc>, due: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    if t >= due {
        return 1.0;
    }
    let whole = cal.working_time_between(start, due).num_seconds();
    if whole <= 0 {
        return 1.0;
    }
    cal.working_time_between(start, t).num_seconds() as f64 / whole as f64
}

/// Whether no row of `table` with `kind` (and, for cards, `subject`) points at the outer row
/// through `own`.
fn none_of(table: &str, kind: &str, subject: Option<&str>, own: &str, outer: (&str, &str)) -> Expr {
    use sea_orm::sea_query::{Alias, Query};
    let mut inner = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new(table))
        .and_where(Expr::col((Alias::new(table), Alias::new(own))).equals((Alias::new(outer.0), Alias::new(outer.1))))
        .and_where(Expr::col((Alias::new(table), Alias::new("kind"))).eq(kind))
        .to_owned();
    if let Some(subject) = subject {
        inner.and_where(Expr::col((Alias::new(table), Alias::new("subject"))).eq(subject));
    }
    Expr::exists(inner).not()
}

/// The affairs and processes of some tasks.
async fn context_of<C: ConnectionTrait>(
    db: &C,
    affair_ids: impl IntoIterator<Item = Uuid>,
) -> AppResult<(HashMap<Uuid, affair::Model>, HashMap<Uuid, process::Model>)> {
    let ids: HashSet<Uuid> = affair_ids.into_iter().collect();
    let affairs: HashMap<Uuid, affair::Model> = affair::Entity::find()
        .filter(affair::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let pids: HashSet<Uuid> = affairs.values().map(|a| a.process_id).collect();
    let processes = process::Entity::find()
        .filter(process::Column::Id.is_in(pids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok((affairs, processes))
}

fn card(
    kind: CardKind,
    a: &affair::Model,
    proc: &process::Model,
    task: Option<&task::Model>,
    due: DateTime<Utc>,
    t: DateTime<Utc>,
) -> supervision_card::ActiveModel {
    let (subject, key) = match task {
        Some(x) => (CardSubject::Task, format!("{}:{}", kind.as_str(), x.id)),
        None => (CardSubject::Affair, format!("{}:{}", kind.as_str(), a.id)),
    };
    supervision_card::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.as_str().to_owned()),
        subject: Set(subject.as_str().to_owned()),
        subject_key: Set(key),
        affair_id: Set(a.id),
        task_id: Set(task.map(|x| x.id)),
        process_id: Set(proc.id),
        department_id: Set(proc.department_id),
        handler_id: Set(task.and_then(|x| x.assignee_id)),
        node_name: Set(task.map(|x| x.node_name.chars().take(128).collect()).unwrap_or_default()),
        due_at: Set(Some(due)),
        issued_at: Set(t),
        resolved_at: Set(None),
    }
}

/// Issue due cards, resolve those whose task or affair moved on, and register tasks overdue beyond
/// the threshold. Returns how many cards and violations were written. Each step looks only at rows
/// still lacking what it writes, so a backlog of old overdue tasks never starves newer ones.
pub async fn sweep(st: &AppState) -> AppResult<usize> {
    let db = st.db.conn();
    let cal = calendar::load(db).await?;
    let t = now();
    let yellow_at = f64::from(st.settings.supervision.yellow_at_percent.clamp(1, 100)) / 100.0;
    let grace = st.settings.supervision.violation_after_working_days;
    let mut written = 0;
    let pending_tasks = || {
        task::Entity::find()
            .filter(task::Column::Status.eq("pending"))
            .filter(task::Column::DueAt.is_not_null())
            .order_by_asc(task::Column::DueAt)
            .limit(BATCH)
    };

    // Tasks: yellow at the share of their working time, red when due, a violation `grace` working
    // days after that (due + grace calendar days comes first, so it bounds the candidates).
    let yellow = pending_tasks()
        .filter(task::Column::DueAt.lte(t + TimeDelta::days(60)))
        .filter(none_of("supervision_cards", "yellow", Some("task"), "task_id", ("tasks", "id")))
        .all(db)
        .await?;
    let red = pending_tasks()
        .filter(task::Column::DueAt.lte(t))
        .filter(none_of("supervision_cards", "red", Some("task"), "task_id", ("tasks", "id")))
        .all(db)
        .await?;
    let late = pending_tasks()
        .filter(task::Column::DueAt.lte(t - TimeDelta::days(i64::from(grace))))
        .filter(none_of("violations", "overdue", None, "task_id", ("tasks", "id")))
        .all(db)
        .await?;
    let (affairs_of, processes) = context_of(db, yellow.iter().chain(&red).chain(&late).map(|x| x.affair_id)).await?;
    let owner = |x: &task::Model| {
        let a = affairs_of.get(&x.affair_id).filter(|a| !a.is_test)?;
        Some((a, processes.get(&a.process_id)?))
    };
    // What was read above is written in one transaction (the single writer on SQLite).
    let txn = st.db.write().await?;
    for (kind, list) in [(CardKind::Yellow, &yellow), (CardKind::Red, &red)] {
        for x in list {
            let (Some(due), Some((a, proc))) = (x.due_at, owner(x)) else { continue };
            let reached = match kind {
                CardKind::Yellow => used(&cal, x.created_at, due, t) >= yellow_at,
                CardKind::Red => t >= due,
            };
            if reached && issue(&*txn, card(kind, a, proc, Some(x), due, t)).await? {
                written += 1;
            }
        }
    }
    for x in &late {
        let (Some(due), Some((a, proc))) = (x.due_at, owner(x)) else { continue };
        if t < cal.add_working_days(due, grace) {
            continue;
        }
        let detail = format!("「{}」环节超过办理时限 {grace} 个工作日仍未办理（时限 {}）", x.node_name, china_day(due));
        if register(
            &*txn,
            ViolationKind::Overdue,
            Some(format!("overdue:{}", x.id)),
            a,
            proc,
            Some(x.id),
            x.assignee_id,
            &detail,
        )
        .await?
        .1
        {
            written += 1;
        }
    }
    txn.commit().await?;

    // Affairs past a share of, or their whole, time limit (办理时限).
    let running = || {
        affair::Entity::find()
            .filter(affair::Column::Status.is_in(["submitted", "in_progress"]))
            .filter(affair::Column::IsTest.eq(false))
            .filter(affair::Column::DueAt.is_not_null())
            .order_by_asc(affair::Column::DueAt)
            .limit(BATCH)
    };
    let yellow = running()
        .filter(affair::Column::DueAt.lte(t + TimeDelta::days(60)))
        .filter(none_of("supervision_cards", "yellow", Some("affair"), "affair_id", ("affairs", "id")))
        .all(db)
        .await?;
    let red = running()
        .filter(affair::Column::DueAt.lte(t))
        .filter(none_of("supervision_cards", "red", Some("affair"), "affair_id", ("affairs", "id")))
        .all(db)
        .await?;
    let pids: HashSet<Uuid> = yellow.iter().chain(&red).map(|a| a.process_id).collect();
    let processes: HashMap<Uuid, process::Model> = process::Entity::find()
        .filter(process::Column::Id.is_in(pids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let txn = st.db.write().await?;
    for (kind, list) in [(CardKind::Yellow, &yellow), (CardKind::Red, &red)] {
        for a in list {
            let (Some(due), Some(start), Some(proc)) = (a.due_at, a.submitted_at, processes.get(&a.process_id)) else {
                continue;
            };
            let reached = match kind {
                CardKind::Yellow => used(&cal, start, due, t) >= yellow_at,
                CardKind::Red => t >= due,
            };
            if reached && issue(&*txn, card(kind, a, proc, None, due, t)).await? {
                written += 1;
            }
        }
    }
    txn.commit().await?;

    // Cards whose task was handled or whose affair ended are resolved at that time.
    let open = supervision_card::Entity::find()
        .filter(supervision_card::Column::ResolvedAt.is_null())
        .limit(BATCH * 2)
        .all(db)
        .await?;
    let task_ids: Vec<Uuid> = open.iter().filter_map(|c| c.task_id).collect();
    let closed_tasks: HashMap<Uuid, DateTime<Utc>> = task::Entity::find()
        .filter(task::Column::Id.is_in(task_ids))
        .filter(task::Column::Status.ne("pending"))
        .all(db)
        .await?
        .into_iter()
        .map(|x| (x.id, x.closed_at.unwrap_or(t)))
        .collect();
    let affair_ids: Vec<Uuid> = open.iter().filter(|c| c.task_id.is_none()).map(|c| c.affair_id).collect();
    let ended: HashMap<Uuid, DateTime<Utc>> = affair::Entity::find()
        .filter(affair::Column::Id.is_in(affair_ids))
        .filter(affair::Column::FinishedAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.finished_at.unwrap_or(t)))
        .collect();
    let resolved: Vec<(Uuid, DateTime<Utc>)> = open
        .iter()
        .filter_map(|c| {
            let when = match c.task_id {
                Some(tid) => closed_tasks.get(&tid).copied(),
                None => ended.get(&c.affair_id).copied(),
            };
            when.map(|w| (c.id, w))
        })
        .collect();
    if !resolved.is_empty() {
        let txn = st.db.write().await?;
        for (id, when) in resolved {
            supervision_card::Entity::update_many()
                .col_expr(supervision_card::Column::ResolvedAt, Expr::value(when))
                .filter(supervision_card::Column::Id.eq(id))
                .filter(supervision_card::Column::ResolvedAt.is_null())
                .exec(&*txn)
                .await?;
        }
        txn.commit().await?;
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------------
// Export

/// The figures, cards and violations of a period as an XLSX workbook: (file name, bytes).
pub async fn export(st: &AppState, p: &Principal, ctx: &AuditCtx, q: &StatsQuery) -> AppResult<(String, Vec<u8>)> {
    use rust_xlsxwriter::{Format, Workbook};
    let o = overview(st, p, q).await?;
    let cards = cards_between(st, p, q, day_start(o.from), day_start(o.to + TimeDelta::days(1))).await?;
    let mut book = Workbook::new();
    let head = Format::new().set_bold();
    let columns = [
        "名称",
        "受理",
        "办结",
        "不予办理",
        "撤回",
        "退回",
        "在办",
        "超期在办",
        "按时办结",
        "按时率",
        "平均用时（工作日）",
        "中位用时",
        "P90 用时",
        "最长用时",
        "满意度",
        "评价数",
        "黄牌",
        "红牌",
        "违规",
    ];
    let sheet_rows = |rows: &[StatsRow]| -> Vec<Vec<String>> {
        let f = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
        rows.iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.submitted.to_string(),
                    r.completed.to_string(),
                    r.rejected.to_string(),
                    r.withdrawn.to_string(),
                    r.returns.to_string(),
                    r.open_now.to_string(),
                    r.overdue_now.to_string(),
                    r.on_time.to_string(),
                    r.on_time_rate.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default(),
                    f(r.avg_days),
                    f(r.median_days),
                    f(r.p90_days),
                    f(r.max_days),
                    f(r.satisfaction),
                    r.ratings.to_string(),
                    r.yellow_cards.to_string(),
                    r.red_cards.to_string(),
                    r.violations.to_string(),
                ]
            })
            .collect()
    };
    let mut depts = o.departments.clone();
    depts.push(o.total.clone());
    let xl = |e: rust_xlsxwriter::XlsxError| internal(e);
    for (title, rows) in [("部门统计", sheet_rows(&depts)), ("事项统计", sheet_rows(&o.processes))] {
        let ws = book.add_worksheet();
        ws.set_name(title).map_err(xl)?;
        ws.write_string(0, 0, format!("统计期间：{} 至 {}", o.from, o.to)).map_err(xl)?;
        for (c, h) in columns.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, *h, &head).map_err(xl)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match cell.parse::<f64>() {
                    Ok(n) if c > 0 => ws.write_number(r as u32 + 2, c as u16, n).map_err(xl)?,
                    _ => ws.write_string(r as u32 + 2, c as u16, cell).map_err(xl)?,
                };
            }
        }
        ws.set_column_width(0, 28).map_err(xl)?;
    }
    let ws = book.add_worksheet();
    ws.set_name("督办牌").map_err(xl)?;
    for (c, h) in
        ["类型", "事务编号", "事务", "环节", "部门", "经办人", "时限", "发牌时间", "解除时间"].iter().enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &head).map_err(xl)?;
    }
    let fmt = |t: Option<DateTime<Utc>>| {
        t.map(|t| (t + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
    };
    for (r, c) in cards.iter().enumerate() {
        let kind = if c.kind == CardKind::Red { "红牌" } else { "黄牌" };
        let cells = [
            kind.to_owned(),
            c.affair_number.clone(),
            c.affair_title.clone(),
            if c.node_name.is_empty() { "（整体时限）".into() } else { c.node_name.clone() },
            c.department_name.clone(),
            c.handler.as_ref().map(|h| h.name.clone()).unwrap_or_default(),
            fmt(c.due_at),
            fmt(Some(c.issued_at)),
            fmt(c.resolved_at),
        ];
        for (i, cell) in cells.iter().enumerate() {
            ws.write_string(r as u32 + 1, i as u16, cell).map_err(xl)?;
        }
    }
    let bytes = book.save_to_buffer().map_err(xl)?;
    audit::record(
        st.db.conn(),
        ctx,
        Entry::new("stats.export", "stats", "export")
            .after(&json!({ "from": o.from, "to": o.to, "department_id": q.department_id })),
    )
    .await?;
    let name = format!("网上办事统计-{}-{}.xlsx", o.from.format("%Y%m%d"), o.to.format("%Y%m%d"));
    Ok((name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles_follow_their_definitions() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 0.9), Some(9.0));
        assert_eq!(percentile(&ten, 1.0), Some(10.0));
        assert_eq!(percentile(&[5.0], 0.9), Some(5.0));
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(percentile(&eleven, 0.9), Some(10.0));
    }

    #[test]
    fn periods_are_china_days() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert_eq!(day_start(d).to_rfc3339(), "2026-12-01T16:00:00+00:00");
        let (from, to) = period(None, Some(d));
        assert_eq!((to - from).num_days(), 29);
    }
}
