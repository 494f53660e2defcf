//! The hall (`GET /hall`): hot services by real use, recommended services fitted to the user's
//! identity, quick channels, themes with counts, and the user's favourites and recent guides.
//!
//! What is the same for everyone of one audience comes from an in-memory [`Snapshot`] of the
//! published catalogue, so an anonymous `GET /hall` (or `GET /guides`, or `GET /guides/{id}`)
//! costs no query while the snapshot is fresh. Every change of a guide, category or quick link in
//! this instance drops the snapshot at once; other instances see the change when their snapshot
//! expires ([`HallCache::TTL`]). Hot-service counts are as old as the snapshot at most.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::dto::common::{Page, PageQuery};
use crate::dto::hall::{
    Audience, CategoryCount, CategoryView, Channel, GuideSummary, HallLinkView, HallView, HotGuide, MyGuide,
};
use crate::entity::{affair, category, department, favorite, guide, guide_visit, hall_link, process_version, user};
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::services::guides;
use crate::state::AppState;
use crate::time::now;

/// How many guides each list of the hall shows.
const HALL_LIST: usize = 8;
/// The window of "hot" (热门) services.
const HOT_DAYS: i64 = 30;

/// A published guide as the hall and lists need it.
#[derive(Debug, Clone)]
pub struct PublishedGuide {
    /// The row.
    pub model: guide::Model,
    /// Who may use it (empty: everyone).
    pub audiences: Vec<Audience>,
    /// Where it is offered (empty: everywhere).
    pub channels: Vec<Channel>,
    /// The list form.
    pub summary: GuideSummary,
}

impl PublishedGuide {
    /// Whether someone of `a` may use it.
    pub fn for_audience(&self, a: Audience) -> bool {
        self.audiences.is_empty() || self.audiences.contains(&a)
    }

    /// Whether it is offered on `c`.
    pub fn on_channel(&self, c: Channel) -> bool {
        self.channels.is_empty() || self.channels.contains(&c)
    }
}

/// The published catalogue at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Published guides, recommended first (by rank), then by name.
    pub published: Vec<PublishedGuide>,
    /// Index into `published` by id.
    pub by_id: HashMap<Uuid, usize>,
    /// Themes in order.
    pub categories: Vec<category::Model>,
    /// Quick links in order.
    pub links: Vec<hall_link::Model>,
    /// (guide, affairs started from it in the last 30 days), most used first.
    pub hot: Vec<(Uuid, u64)>,
}

impl Snapshot {
    /// A published guide by id.
    pub fn guide(&self, id: Uuid) -> Option<&PublishedGuide> {
        self.by_id.get(&id).map(|&i| &self.published[i])
    }
}

/// A rendered public guide page with its entity tag.
#[derive(Debug)]
pub struct CachedGuide {
    /// Strong entity tag, quoted.
    pub etag: String,
    /// The JSON body.
    pub body: Bytes,
}

struct Timed<T> {
    at: Instant,
    value: Arc<T>,
}

/// The in-memory caches of the hall (in `AppState.hall`).
pub struct HallCache {
    generation: AtomicU64,
    snapshot: Mutex<Option<Timed<Snapshot>>>,
    guides: Mutex<HashMap<Uuid, Timed<CachedGuide>>>,
    ttl: Duration,
}

impl Default for HallCache {
    fn default() -> HallCache {
        HallCache::new(HallCache::TTL)
    }
}

impl std::fmt::Debug for HallCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HallCache").field("generation", &self.generation.load(Ordering::Relaxed)).finish()
    }
}

impl HallCache {
    /// How long a snapshot is trusted; bounds how stale another instance's change can look.
    pub const TTL: Duration = Duration::from_secs(30);

    /// Caches that expire after `ttl`.
    pub fn new(ttl: Duration) -> HallCache {
        HallCache { generation: AtomicU64::new(0), snapshot: Mutex::new(None), guides: Mutex::new(HashMap::new()), ttl }
    }

    /// Drop everything: a guide, category or link changed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut s) = self.snapshot.lock() {
            *s = None;
        }
        if let Ok(mut g) = self.guides.lock() {
            g.clear();
        }
    }

    /// The current generation; values loaded under an older one are not stored.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn fresh<T>(&self, t: &Timed<T>) -> bool {
        t.at.elapsed() < self.ttl
    }

    fn cached_snapshot(&self) -> Option<Arc<Snapshot>> {
        let s = self.snapshot.lock().ok()?;
        s.as_ref().filter(|t| self.fresh(t)).map(|t| t.value.clone())
    }

    fn store_snapshot(&self, generation: u64, value: Arc<Snapshot>) {
        if let Ok(mut s) = self.snapshot.lock()
            && self.generation() == generation
        {
            *s = Some(Timed { at: Instant::now(), value });
        }
    }

    /// A cached public guide page.
    pub fn guide(&self, id: Uuid) -> Option<Arc<CachedGuide>> {
        let g = self.guides.lock().ok()?;
        g.get(&id).filter(|t| self.fresh(t)).map(|t| t.value.clone())
    }

    /// Keep a public guide page rendered under `generation`.
    pub fn store_guide(&self, generation: u64, id: Uuid, value: Arc<CachedGuide>) {
        if let Ok(mut g) = self.guides.lock()
            && self.generation() == generation
        {
            // Bounded by the number of published guides; expired entries are replaced on use.
            g.insert(id, Timed { at: Instant::now(), value });
        }
    }
}

fn sort_published(v: &mut [PublishedGuide]) {
    v.sort_by(|a, b| {
        b.model
            .recommended
            .cmp(&a.model.recommended)
            .then(a.model.recommend_rank.cmp(&b.model.recommend_rank))
            .then(a.model.name.cmp(&b.model.name))
            .then(a.model.code.cmp(&b.model.code))
    });
}

async fn load_snapshot<C: ConnectionTrait>(db: &C) -> AppResult<Snapshot> {
    let rows = guide::Entity::find().filter(guide::Column::Status.eq("published")).all(db).await?;
    let departments: HashMap<Uuid, String> =
        department::Entity::find().all(db).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let online: HashSet<Uuid> = process_version::Entity::find()
        .select_only()
        .column(process_version::Column::ProcessId)
        .filter(process_version::Column::Status.eq("online"))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut published: Vec<PublishedGuide> = rows
        .into_iter()
        .map(|m| {
            let dept = departments.get(&m.department_id).map(String::as_str).unwrap_or_default();
            let is_online = m.process_id.is_some_and(|p| online.contains(&p));
            let summary = guides::summary(&m, dept, is_online);
            PublishedGuide {
                audiences: summary.audiences.clone(),
                channels: summary.channels.clone(),
                summary,
                model: m,
            }
        })
        .collect();
    sort_published(&mut published);
    let by_id = published.iter().enumerate().map(|(i, g)| (g.model.id, i)).collect();
    let categories = category::Entity::find()
        .order_by_asc(category::Column::SortOrder)
        .order_by_asc(category::Column::Code)
        .all(db)
        .await?;
    let links = hall_link::Entity::find()
        .order_by_asc(hall_link::Column::SortOrder)
        .order_by_asc(hall_link::Column::CreatedAt)
        .all(db)
        .await?;
    let since = now() - chrono::Duration::days(HOT_DAYS);
    // Applications started from a guide count for it; those started from the process itself (by
    // an integrator, say) count for the process's published guide.
    let counts: Vec<(Option<Uuid>, Uuid, i64)> = affair::Entity::find()
        .select_only()
        .column(affair::Column::GuideId)
        .column(affair::Column::ProcessId)
        .column_as(Expr::col(affair::Column::Id).count(), "n")
        .filter(affair::Column::SubmittedAt.gte(since))
        .filter(affair::Column::IsTest.eq(false))
        .group_by(affair::Column::GuideId)
        .group_by(affair::Column::ProcessId)
        .into_tuple()
        .all(db)
        .await?;
    let mut guide_of_process: HashMap<Uuid, Uuid> = HashMap::new();
    for g in &published {
        if let Some(p) = g.model.process_id {
            guide_of_process.entry(p).or_insert(g.model.id);
        }
    }
    let mut uses: HashMap<Uuid, u64> = HashMap::new();
    for (g, p, n) in counts {
        if let Some(g) = g.or_else(|| guide_of_process.get(&p).copied()) {
            *uses.entry(g).or_default() += u64::try_from(n).unwrap_or(0);
        }
    }
    let mut hot: Vec<(Uuid, u64)> = uses.into_iter().collect();
    hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Snapshot { published, by_id, categories, links, hot })
}

/// The published catalogue, from memory while fresh.
pub async fn snapshot(st: &AppState) -> AppResult<Arc<Snapshot>> {
    if let Some(s) = st.hall.cached_snapshot() {
        return Ok(s);
    }
    let generation = st.hall.generation();
    let s = Arc::new(load_snapshot(st.db.conn()).await?);
    st.hall.store_snapshot(generation, s.clone());
    Ok(s)
}

/// The audience a signed-in user belongs to.
pub async fn audience_of<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Audience> {
    let kind: Option<String> =
        user::Entity::find_by_id(user_id).select_only().column(user::Column::Kind).into_tuple().one(db).await?;
    Ok(kind.map_or(Audience::Visitor, |k| Audience::of_user_kind(&k)))
}

/// A quick link as the API shows it.
pub(crate) fn link_view(m: &hall_link::Model) -> HallLinkView {
    HallLinkView {
        id: m.id,
        title: m.title.clone(),
        title_en: m.title_en.clone(),
        url: m.url.clone(),
        guide_id: m.guide_id,
        icon: m.icon.clone(),
        audiences: serde_json::from_value(m.audiences.clone()).unwrap_or_default(),
        sort_order: m.sort_order,
        version: m.version,
    }
}

/// The hall for an audience, without the personal parts.
fn shared(s: &Snapshot, a: Audience) -> HallView {
    let visible = |id: Uuid| s.guide(id).filter(|g| g.for_audience(a));
    let hot = s
        .hot
        .iter()
        .filter_map(|(id, n)| visible(*id).map(|g| HotGuide { guide: g.summary.clone(), uses: *n }))
        .take(HALL_LIST)
        .collect();
    let recommended = s
        .published
        .iter()
        .filter(|g| g.model.recommended && g.for_audience(a))
        .take(HALL_LIST)
        .map(|g| g.summary.clone())
        .collect();
    let quick_links = s
        .links
        .iter()
        .map(link_view)
        .filter(|l| l.audiences.is_empty() || l.audiences.contains(&a))
        .filter(|l| l.guide_id.is_none_or(|g| visible(g).is_some()))
        .collect();
    let mut counts: HashMap<Uuid, u64> = HashMap::new();
    for g in s.published.iter().filter(|g| g.for_audience(a)) {
        if let Some(c) = g.model.category_id {
            *counts.entry(c).or_default() += 1;
        }
    }
    let categories = s
        .categories
        .iter()
        .map(|c| CategoryCount {
            category: CategoryView::from(c.clone()),
            guides: counts.get(&c.id).copied().unwrap_or(0),
        })
        .collect();
    HallView { audience: a, hot, recommended, quick_links, favorites: Vec::new(), recent: Vec::new(), categories }
}

/// `GET /hall`: anonymous callers get the visitors' page; a signed-in user the page of their kind
/// with their favourites and recent guides.
pub async fn hall(st: &AppState, who: Option<&Principal>) -> AppResult<HallView> {
    let s = snapshot(st).await?;
    let Some(p) = who else {
        return Ok(shared(&s, Audience::Visitor));
    };
    let a = audience_of(st.db.conn(), p.user_id).await?;
    let mut view = shared(&s, a);
    let favs: Vec<Uuid> = favorite::Entity::find()
        .select_only()
        .column(favorite::Column::GuideId)
        .filter(favorite::Column::UserId.eq(p.user_id))
        .order_by_desc(favorite::Column::CreatedAt)
        .limit(50)
        .into_tuple()
        .all(st.db.conn())
        .await?;
    view.favorites = favs.into_iter().filter_map(|id| s.guide(id)).take(HALL_LIST).map(|g| g.summary.clone()).collect();
    let recent: Vec<Uuid> = guide_visit::Entity::find()
        .select_only()
        .column(guide_visit::Column::GuideId)
        .filter(guide_visit::Column::UserId.eq(p.user_id))
        .order_by_desc(guide_visit::Column::LastAt)
        .limit(50)
        .into_tuple()
        .all(st.db.conn())
        .await?;
    view.recent = recent.into_iter().filter_map(|id| s.guide(id)).take(HALL_LIST).map(|g| g.summary.clone()).collect();
    Ok(view)
}

// ---------------------------------------------------------------------------------------------
// Favourites and recent visits

/// Mark a published guide as a favourite; doing it twice changes nothing.
pub async fn add_favorite(st: &AppState, p: &Principal, ctx: &AuditCtx, guide_id: Uuid) -> AppResult<()> {
    let g = guide::Entity::find_by_id(guide_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if g.status != "published" && !guides::can_read_drafts(p, &g) {
        return Err(AppError::not_found());
    }
    let txn = st.db.write().await?;
    let added = favorite::Entity::insert(favorite::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(p.user_id),
        guide_id: Set(guide_id),
        created_at: Set(now()),
    })
    .on_conflict(OnConflict::columns([favorite::Column::UserId, favorite::Column::GuideId]).do_nothing().to_owned())
    .exec_without_returning(&*txn)
    .await?;
    if added == 0 {
        return Ok(());
    }
    audit::record(&*txn, ctx, Entry::new("favorite.add", "guide", guide_id)).await?;
    txn.commit().await?;
    Ok(())
}

/// Remove a favourite; removing one that is not there changes nothing.
pub async fn remove_favorite(st: &AppState, p: &Principal, ctx: &AuditCtx, guide_id: Uuid) -> AppResult<()> {
    let txn = st.db.write().await?;
    let r = favorite::Entity::delete_many()
        .filter(favorite::Column::UserId.eq(p.user_id))
        .filter(favorite::Column::GuideId.eq(guide_id))
        .exec(&*txn)
        .await?;
    if r.rows_affected > 0 {
        audit::record(&*txn, ctx, Entry::new("favorite.remove", "guide", guide_id)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The caller's favourite guides that are in the hall, newest first.
pub async fn favorites(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<MyGuide>> {
    let s = snapshot(st).await?;
    let rows = favorite::Entity::find()
        .filter(favorite::Column::UserId.eq(p.user_id))
        .order_by_desc(favorite::Column::CreatedAt)
        .all(st.db.conn())
        .await?;
    let items: Vec<MyGuide> = rows
        .into_iter()
        .filter_map(|f| s.guide(f.guide_id).map(|g| MyGuide { guide: g.summary.clone(), at: f.created_at, visits: 0 }))
        .collect();
    Ok(paged(items, page))
}

/// The caller's recently visited guides that are in the hall, latest first.
pub async fn recent(st: &AppState, p: &Principal, page: &PageQuery) -> AppResult<Page<MyGuide>> {
    let s = snapshot(st).await?;
    let rows = guide_visit::Entity::find()
        .filter(guide_visit::Column::UserId.eq(p.user_id))
        .order_by_desc(guide_visit::Column::LastAt)
        .limit(200)
        .all(st.db.conn())
        .await?;
    let items: Vec<MyGuide> = rows
        .into_iter()
        .filter_map(|v| {
            s.guide(v.guide_id).map(|g| MyGuide { guide: g.summary.clone(), at: v.last_at, visits: v.visits })
        })
        .collect();
    Ok(paged(items, page))
}

/// Cut one page out of a list held in memory.
pub(crate) fn paged<T>(items: Vec<T>, page: &PageQuery) -> Page<T> {
    let total = items.len() as u64;
    let skip = usize::try_from((page.page() - 1).saturating_mul(page.size())).unwrap_or(usize::MAX);
    let items = items.into_iter().skip(skip).take(page.size() as usize).collect();
    Page { items, total, page: page.page(), page_size: page.size() }
}

/// Remember that a signed-in user read a guide (for "recent"). Not audited: it records a read of
/// public content, not a change.
pub async fn record_visit(st: &AppState, user_id: Uuid, guide_id: Uuid) -> AppResult<()> {
    let txn = st.db.write().await?;
    let t = now();
    guide_visit::Entity::insert(guide_visit::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        guide_id: Set(guide_id),
        visits: Set(1),
        last_at: Set(t),
    })
    .on_conflict(
        OnConflict::columns([guide_visit::Column::UserId, guide_visit::Column::GuideId])
            .value(guide_visit::Column::Visits, Expr::col((guide_visit::Entity, guide_visit::Column::Visits)).add(1))
            .value(guide_visit::Column::LastAt, Expr::value(t))
            .to_owned(),
    )
    .exec_without_returning(&*txn)
    .await?;
    txn.commit().await?;
    Ok(())
}
