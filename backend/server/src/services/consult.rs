//! 在线咨询: questions on a guide, answered by its department's staff (`consult.answer`); answered
//! questions can be published as the guide's FAQ.
//!
//! Who sees a question: its asker, the staff who may answer it, and — once it is answered and
//! published to the FAQ of a published guide — everyone, without the asker's name.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::Page;
use crate::dto::hall::{
    AnswerQuestion, AnswerView, AskQuestion, GuideStatus, QuestionQuery, QuestionStatus, QuestionView, SetFaq,
};
use crate::entity::{answer, guide, question, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policy::{DataScope, Permission, Principal, Target};
use crate::services::{guides, notifications};
use crate::state::AppState;
use crate::time::now;

fn target(g: &guide::Model) -> Target {
    Target { owner_id: None, department_id: Some(g.department_id) }
}

/// Whether the caller answers questions on this guide.
fn is_staff(p: &Principal, g: &guide::Model) -> bool {
    p.can_on(Permission::ConsultAnswer, target(g))
}

fn published(g: &guide::Model) -> bool {
    g.status == GuideStatus::Published.as_str()
}

async fn load_guide(st: &AppState, id: Uuid) -> AppResult<guide::Model> {
    guide::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)
}

/// Turn question rows into views, loading guides, answers and names in a few queries.
async fn views(
    st: &AppState,
    who: Option<&Principal>,
    rows: Vec<question::Model>,
    staff_of: impl Fn(&guide::Model) -> bool,
) -> AppResult<Vec<QuestionView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let qids: Vec<Uuid> = rows.iter().map(|q| q.id).collect();
    let gids: Vec<Uuid> = rows.iter().map(|q| q.guide_id).collect();
    let guides: HashMap<Uuid, guide::Model> = guide::Entity::find()
        .filter(guide::Column::Id.is_in(gids))
        .all(st.db.conn())
        .await?
        .into_iter()
        .map(|g| (g.id, g))
        .collect();
    let answers = answer::Entity::find()
        .filter(answer::Column::QuestionId.is_in(qids))
        .order_by_asc(answer::Column::CreatedAt)
        .all(st.db.conn())
        .await?;
    let mut people: Vec<Uuid> = answers.iter().map(|a| a.responder_id).collect();
    people.extend(rows.iter().map(|q| q.asker_id));
    people.sort();
    people.dedup();
    let names: HashMap<Uuid, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(people))
        .into_tuple::<(Uuid, String)>()
        .all(st.db.conn())
        .await?
        .into_iter()
        .collect();
    let mut by_question: HashMap<Uuid, Vec<AnswerView>> = HashMap::new();
    for a in answers {
        by_question.entry(a.question_id).or_default().push(AnswerView {
            id: a.id,
            body: a.body,
            responder_name: names.get(&a.responder_id).cloned().unwrap_or_default(),
            created_at: a.created_at,
        });
    }
    let me = who.map(|p| p.user_id);
    Ok(rows
        .into_iter()
        .map(|q| {
            let g = guides.get(&q.guide_id);
            let mine = me == Some(q.asker_id);
            let staff = g.is_some_and(&staff_of);
            QuestionView {
                id: q.id,
                guide_id: q.guide_id,
                guide_name: g.map(|g| g.name.clone()).unwrap_or_default(),
                body: q.body,
                status: QuestionStatus::parse(&q.status).unwrap_or(QuestionStatus::Open),
                is_faq: q.is_faq,
                mine,
                asker_name: (mine || staff).then(|| names.get(&q.asker_id).cloned().unwrap_or_default()),
                answers: by_question.remove(&q.id).unwrap_or_default(),
                version: q.version,
                created_at: q.created_at,
                updated_at: q.updated_at,
            }
        })
        .collect())
}

fn one(v: Vec<QuestionView>) -> AppResult<QuestionView> {
    v.into_iter().next().ok_or_else(AppError::not_found)
}

async fn page_of(
    st: &AppState,
    who: Option<&Principal>,
    find: Select<question::Entity>,
    q: &QuestionQuery,
    staff_of: impl Fn(&guide::Model) -> bool,
) -> AppResult<Page<QuestionView>> {
    let mut find = find;
    if let Some(s) = q.status {
        find = find.filter(question::Column::Status.eq(s.as_str()));
    }
    let paging = q.paging();
    let paginator = find.order_by_desc(question::Column::CreatedAt).paginate(st.db.conn(), paging.size());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(paging.page() - 1).await?;
    Ok(Page { items: views(st, who, rows, staff_of).await?, total, page: paging.page(), page_size: paging.size() })
}

/// Ask a question on a published guide.
pub async fn ask(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    guide_id: Uuid,
    req: AskQuestion,
) -> AppResult<QuestionView> {
    let g = load_guide(st, guide_id).await?;
    if !published(&g) && !guides::can_read_drafts(p, &g) {
        return Err(AppError::not_found());
    }
    let t = now();
    let txn = st.db.write().await?;
    let m = question::ActiveModel {
        id: Set(Uuid::now_v7()),
        guide_id: Set(guide_id),
        asker_id: Set(p.user_id),
        body: Set(req.body.trim().to_owned()),
        status: Set(QuestionStatus::Open.as_str().into()),
        is_faq: Set(false),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("question.ask", "question", m.id)
            .after(&serde_json::json!({ "guide_id": guide_id, "body": m.body })),
    )
    .await?;
    txn.commit().await?;
    let staff = is_staff(p, &g);
    one(views(st, Some(p), vec![m], |_| staff).await?)
}

/// The questions on a guide: its public FAQ and the caller's own; everything for its staff.
pub async fn for_guide(
    st: &AppState,
    who: Option<&Principal>,
    guide_id: Uuid,
    q: &QuestionQuery,
) -> AppResult<Page<QuestionView>> {
    let g = load_guide(st, guide_id).await?;
    let staff = who.is_some_and(|p| is_staff(p, &g) || guides::can_read_drafts(p, &g));
    if !published(&g) && !staff {
        return Err(AppError::not_found());
    }
    let mut find = question::Entity::find().filter(question::Column::GuideId.eq(guide_id));
    if !staff {
        let mut visible = Condition::any().add(
            Condition::all()
                .add(question::Column::IsFaq.eq(true))
                .add(question::Column::Status.eq(QuestionStatus::Answered.as_str())),
        );
        if let Some(p) = who {
            visible = visible.add(question::Column::AskerId.eq(p.user_id));
        }
        find = find.filter(visible);
    }
    page_of(st, who, find, q, |_| staff).await
}

/// The questions the caller may answer (inbox of `consult.answer`), newest first.
pub async fn inbox(st: &AppState, p: &Principal, q: &QuestionQuery) -> AppResult<Page<QuestionView>> {
    let mut find = question::Entity::find();
    match p.scope(Permission::ConsultAnswer) {
        None => return Err(AppError::forbidden()),
        Some(DataScope::All) => {}
        Some(DataScope::Limited { departments, .. }) => {
            let ids: Vec<Uuid> = guide::Entity::find()
                .select_only()
                .column(guide::Column::Id)
                .filter(guide::Column::DepartmentId.is_in(departments))
                .into_tuple()
                .all(st.db.conn())
                .await?;
            find = find.filter(question::Column::GuideId.is_in(ids));
        }
    }
    page_of(st, Some(p), find, q, |g| is_staff(p, g)).await
}

/// The caller's own questions, newest first.
pub async fn mine(st: &AppState, p: &Principal, q: &QuestionQuery) -> AppResult<Page<QuestionView>> {
    let find = question::Entity::find().filter(question::Column::AskerId.eq(p.user_id));
    page_of(st, Some(p), find, q, |g| is_staff(p, g)).await
}

/// The question and its guide, for someone who may answer it: 403 for staff of other departments,
/// 404 for everyone else.
async fn for_staff(st: &AppState, p: &Principal, id: Uuid) -> AppResult<(question::Model, guide::Model)> {
    let q = question::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let g = load_guide(st, q.guide_id).await?;
    if is_staff(p, &g) {
        Ok((q, g))
    } else if p.has(Permission::ConsultAnswer) || q.asker_id == p.user_id || (q.is_faq && published(&g)) {
        Err(AppError::forbidden())
    } else {
        Err(AppError::not_found())
    }
}

/// Answer a question; the asker is notified.
pub async fn answer(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    id: Uuid,
    req: AnswerQuestion,
) -> AppResult<QuestionView> {
    let (q, g) = for_staff(st, p, id).await?;
    let t = now();
    let txn = st.db.write().await?;
    let a = answer::ActiveModel {
        id: Set(Uuid::now_v7()),
        question_id: Set(id),
        responder_id: Set(p.user_id),
        body: Set(req.body.trim().to_owned()),
        created_at: Set(t),
    }
    .insert(&*txn)
    .await?;
    question::Entity::update_many()
        .col_expr(question::Column::Status, Expr::value(QuestionStatus::Answered.as_str()))
        .col_expr(question::Column::Version, Expr::col(question::Column::Version).add(1))
        .col_expr(question::Column::UpdatedAt, Expr::value(t))
        .filter(question::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    let excerpt: String = a.body.chars().take(200).collect();
    notifications::send(
        &*txn,
        [q.asker_id],
        "question_answered",
        &format!("您对「{}」的咨询已有答复", g.name),
        &excerpt,
        None,
        None,
    )
    .await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("question.answer", "question", id).after(&serde_json::json!({ "answer_id": a.id, "body": a.body })),
    )
    .await?;
    txn.commit().await?;
    let q = question::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    one(views(st, Some(p), vec![q], |_| true).await?)
}

/// Publish an answered question to the guide's FAQ, or take it back; `version` must match.
pub async fn set_faq(st: &AppState, p: &Principal, ctx: &AuditCtx, id: Uuid, req: SetFaq) -> AppResult<QuestionView> {
    let (q, _) = for_staff(st, p, id).await?;
    if req.is_faq && q.status != QuestionStatus::Answered.as_str() {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            "问题尚未答复，不能列入常见问题",
            "Only answered questions can go into the FAQ",
        ));
    }
    let txn = st.db.write().await?;
    let r = question::Entity::update_many()
        .col_expr(question::Column::IsFaq, Expr::value(req.is_faq))
        .col_expr(question::Column::Version, Expr::col(question::Column::Version).add(1))
        .col_expr(question::Column::UpdatedAt, Expr::value(now()))
        .filter(question::Column::Id.eq(id))
        .filter(question::Column::Version.eq(req.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(
        &*txn,
        ctx,
        Entry::new("question.faq", "question", id)
            .before(&serde_json::json!({ "is_faq": q.is_faq }))
            .after(&serde_json::json!({ "is_faq": req.is_faq })),
    )
    .await?;
    txn.commit().await?;
    let q = question::Entity::find_by_id(id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    one(views(st, Some(p), vec![q], |_| true).await?)
}
