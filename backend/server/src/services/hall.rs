//! The hall (`GET /hall`): hot services by real use, recommended services fitted to the user's
//! identity, quick channels, themes with counts, and the user's favourites and recent guides.
//!
//! What is the same for everyone of one audience comes from an in-memory [`Snapshot`] of the
//! published catalogue, so an anonymous `GET /hall` (or `GET /guides`, or `GET /guides/{id}`)
//! costs no query while the snapshot is fresh, and the anonymous hall's JSON is serialised once
//! per snapshot and audience. Every change of a guide, category or quick link in this instance
//! drops the snapshot at once and the next read loads it (one load at a time, the others wait
//! for it); other instances see the change when their snapshot expires ([`HallCache::TTL`]): an
//! expired snapshot is still served while one background task loads its successor, so no request
//! waits for a reload. Hot-service counts (a scan of the last 30 days of affairs, seconds on a
//! million of them) are refreshed in that background task at most every [`HallCache::HOT_TTL`]
//! and survive invalidation; only an instance's very first load waits for them, and
//! `startup` makes that load before the first request.

use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
use crate::encoded::Encoded;
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
pub struct Catalogue {
    /// Published guides, recommended first (by rank), then by name.
    pub published: Vec<PublishedGuide>,
    /// Index into `published` by id.
    pub by_id: HashMap<Uuid, usize>,
    /// Themes in order.
    pub categories: Vec<category::Model>,
    /// Quick links in order.
    pub links: Vec<hall_link::Model>,
}

impl Catalogue {
    /// A published guide by id.
    pub fn guide(&self, id: Uuid) -> Option<&PublishedGuide> {
        self.by_id.get(&id).map(|&i| &self.published[i])
    }
}

/// Affairs submitted in the last 30 days, per (guide, process).
#[derive(Debug, Default)]
struct HotCounts {
    rows: Vec<(Option<Uuid>, Uuid, u64)>,
}

/// The catalogue with the hot-service counts, and the anonymous hall rendered from them.
#[derive(Debug, Default)]
pub struct Snapshot {
    catalogue: Catalogue,
    /// (guide, affairs started from it in the last 30 days), most used first.
    pub hot: Vec<(Uuid, u64)>,
    /// The shared hall of each audience, serialised on first use.
    bodies: [OnceLock<Arc<Encoded>>; 4],
}

impl Deref for Snapshot {
    type Target = Catalogue;

    fn deref(&self) -> &Catalogue {
        &self.catalogue
    }
}

impl Snapshot {
    fn new(catalogue: Catalogue, counts: &HotCounts) -> Snapshot {
        // Applications started from a guide count for it; those started from the process itself
        // (by an integrator, say) count for the process's published guide.
        let mut guide_of_process: HashMap<Uuid, Uuid> = HashMap::new();
        for g in &catalogue.published {
            if let Some(p) = g.model.process_id {
                guide_of_process.entry(p).or_insert(g.model.id);
            }
        }
        let mut uses: HashMap<Uuid, u64> = HashMap::new();
        for (g, p, n) in &counts.rows {
            if let Some(g) = g.or_else(|| guide_of_process.get(p).copied()) {
                *uses.entry(g).or_default() += n;
            }
        }
        let mut hot: Vec<(Uuid, u64)> = uses.into_iter().collect();
        hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Snapshot { catalogue, hot, bodies: Default::default() }
    }

    /// The hall every anonymous caller (or, without their own lists, every user of `a`) sees, as
    /// JSON.
    pub fn shared_body(&self, a: Audience) -> AppResult<Arc<Encoded>> {
        let slot = &self.bodies[match a {
            Audience::Student => 0,
            Audience::Staff => 1,
            Audience::Alumni => 2,
            Audience::Visitor => 3,
        }];
        if let Some(b) = slot.get() {
            return Ok(b.clone());
        }
        let body = serde_json::to_vec(&shared(self, a)).map_err(|e| AppError::Internal(e.into()))?;
        Ok(slot.get_or_init(|| Arc::new(Encoded::new(Bytes::from(body)))).clone())
    }
}

/// A rendered public guide page with its entity tag.
#[derive(Debug)]
pub struct CachedGuide {
    /// Strong entity tag, quoted.
    pub etag: String,
    /// The JSON body.
    pub body: Encoded,
}

struct Timed<T> {
    at: Instant,
    value: Arc<T>,
}

/// The in-memory caches of the hall (in `AppState.hall`).
pub struct HallCache {
    generation: AtomicU64,
    snapshot: Mutex<Option<Timed<Snapshot>>>,
    /// Held while a snapshot is loaded for requests that have none to serve.
    loading: tokio::sync::Mutex<()>,
    /// A background reload of an expired snapshot is running.
    refreshing: AtomicBool,
    hot: Mutex<Option<Timed<HotCounts>>>,
    guides: Mutex<HashMap<Uuid, Timed<CachedGuide>>>,
    ttl: Duration,
    hot_ttl: Duration,
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
    /// How old the hot-service counts may grow.
    pub const HOT_TTL: Duration = Duration::from_secs(300);

    /// Caches whose catalogue expires after `ttl` (the hot counts after [`HallCache::HOT_TTL`],
    /// or `ttl` if that is longer).
    pub fn new(ttl: Duration) -> HallCache {
        HallCache {
            generation: AtomicU64::new(0),
            snapshot: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            hot: Mutex::new(None),
            guides: Mutex::new(HashMap::new()),
            ttl,
            hot_ttl: ttl.max(HallCache::HOT_TTL),
        }
    }

    /// Drop the catalogue: a guide, category or link changed. The hot counts are kept.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut s) = self.snapshot.lock() {
            *s = None;
        }
        if let Ok(mut g) = self.guides.lock() {
            g.clear();
        }
    }

    /// Drop the hot counts too, so the next snapshot counts afresh.
    pub fn invalidate_all(&self) {
        if let Ok(mut h) = self.hot.lock() {
            *h = None;
        }
        self.invalidate();
    }

    /// The current generation; values loaded under an older one are not stored.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn fresh<T>(&self, t: &Timed<T>) -> bool {
        t.at.elapsed() < self.ttl
    }

    /// The snapshot held, and whether it is still fresh.
    fn held_snapshot(&self) -> Option<(Arc<Snapshot>, bool)> {
        let s = self.snapshot.lock().ok()?;
        s.as_ref().map(|t| (t.value.clone(), self.fresh(t)))
    }

    fn store_snapshot(&self, generation: u64, value: Arc<Snapshot>) {
        if let Ok(mut s) = self.snapshot.lock()
            && self.generation() == generation
        {
            *s = Some(Timed { at: Instant::now(), value });
        }
    }

    /// The hot counts held, if young enough.
    fn held_hot(&self) -> Option<Arc<HotCounts>> {
        let h = self.hot.lock().ok()?;
        h.as_ref().filter(|t| t.at.elapsed() < self.hot_ttl).map(|t| t.value.clone())
    }

    /// The hot counts held, however old.
    fn any_hot(&self) -> Option<Arc<HotCounts>> {
        self.hot.lock().ok()?.as_ref().map(|t| t.value.clone())
    }

    fn store_hot(&self, value: Arc<HotCounts>) {
        if let Ok(mut h) = self.hot.lock() {
            *h = Some(Timed { at: Instant::now(), value });
        }
    }

    /// Make what is held look `by` older (tests of expiry; nothing else calls it).
    #[doc(hidden)]
    pub fn age(&self, by: Duration) {
        let back = |at: &mut Instant| *at = at.checked_sub(by).unwrap_or(*at);
        if let Ok(mut s) = self.snapshot.lock()
            && let Some(t) = s.as_mut()
        {
            back(&mut t.at);
        }
        if let Ok(mut h) = self.hot.lock()
            && let Some(t) = h.as_mut()
        {
            back(&mut t.at);
        }
    }

    /// Whether a background reload is running.
    #[doc(hidden)]
    pub fn is_refreshing(&self) -> bool {
        self.refreshing.load(Ordering::SeqCst)
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

async fn load_catalogue<C: ConnectionTrait>(db: &C) -> AppResult<Catalogue> {
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
    Ok(Catalogue { published, by_id, categories, links })
}

async fn load_hot<C: ConnectionTrait>(db: &C) -> AppResult<HotCounts> {
    let since = now() - chrono::Duration::days(HOT_DAYS);
    let rows: Vec<(Option<Uuid>, Uuid, i64)> = affair::Entity::find()
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
    Ok(HotCounts { rows: rows.into_iter().map(|(g, p, n)| (g, p, u64::try_from(n).unwrap_or(0))).collect() })
}

/// Load a snapshot: the catalogue now, the hot counts from memory while young enough (any held
/// counts when `reuse_old_hot`, so a request never waits for the scan once there are some).
async fn load_snapshot(st: &AppState, reuse_old_hot: bool) -> AppResult<Arc<Snapshot>> {
    let generation = st.hall.generation();
    let catalogue = load_catalogue(st.db.conn()).await?;
    let held = if reuse_old_hot { st.hall.any_hot() } else { st.hall.held_hot() };
    let hot = match held {
        Some(h) => h,
        None => {
            let h = Arc::new(load_hot(st.db.conn()).await?);
            st.hall.store_hot(h.clone());
            h
        }
    };
    let s = Arc::new(Snapshot::new(catalogue, &hot));
    st.hall.store_snapshot(generation, s.clone());
    Ok(s)
}

/// Clears the refreshing flag however the background reload ends.
struct RefreshDone(AppState);

impl Drop for RefreshDone {
    fn drop(&mut self) {
        self.0.hall.refreshing.store(false, Ordering::SeqCst);
    }
}

/// The published catalogue, from memory while fresh; an expired one while its successor loads.
pub async fn snapshot(st: &AppState) -> AppResult<Arc<Snapshot>> {
    if let Some((s, fresh)) = st.hall.held_snapshot() {
        if !fresh && !st.hall.refreshing.swap(true, Ordering::SeqCst) {
            let done = RefreshDone(st.clone());
            tokio::spawn(async move {
                if let Err(e) = load_snapshot(&done.0, false).await {
                    tracing::warn!(error = %e, "could not reload the hall's snapshot");
                }
            });
        }
        return Ok(s);
    }
    // Nothing to serve (first use, or a change in this instance): one load, the others wait.
    let _one = st.hall.loading.lock().await;
    if let Some((s, _)) = st.hall.held_snapshot() {
        return Ok(s);
    }
    load_snapshot(st, true).await
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

/// The hall as one caller gets it.
#[derive(Debug)]
pub enum HallPage {
    /// The page every anonymous caller gets, serialised.
    Shared(Arc<Encoded>),
    /// A signed-in user's page with their favourites and recent guides.
    Personal(Box<HallView>),
}

/// `GET /hall`: anonymous callers get the visitors' page; a signed-in user the page of their kind
/// with their favourites and recent guides.
pub async fn hall(st: &AppState, who: Option<&Principal>) -> AppResult<HallPage> {
    let s = snapshot(st).await?;
    let Some(p) = who else {
        return Ok(HallPage::Shared(s.shared_body(Audience::Visitor)?));
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
    Ok(HallPage::Personal(Box::new(view)))
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
