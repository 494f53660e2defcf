//! Full-text search over published guides: tantivy with jieba word segmentation and pinyin (full
//! spelling and initials), ranked, filtered by category, department and audience.
//!
//! INTERFACE STUB written by the lead so other modules compile against it; the search engineer
//! replaces the internals (keeping these signatures, or changing callers with care).

use uuid::Uuid;

use crate::db::Db;
use crate::error::AppResult;

/// A guide search.
#[derive(Debug, Clone, Default)]
pub struct GuideQuery {
    /// The user's words: Chinese, pinyin or initials (`zdzm`).
    pub q: String,
    /// Only this category.
    pub category_id: Option<Uuid>,
    /// Only this department (实施主体).
    pub department_id: Option<Uuid>,
    /// Only guides for this audience (`student`, `staff`, `alumni`, `visitor`).
    pub audience: Option<String>,
    /// Skip this many hits.
    pub offset: usize,
    /// Return at most this many hits.
    pub limit: usize,
}

/// Ranked hits and how many matched in all.
#[derive(Debug, Clone, Default)]
pub struct GuideHits {
    /// Matching guides in all.
    pub total: usize,
    /// Guide ids with their scores, best first.
    pub hits: Vec<(Uuid, f32)>,
}

/// The in-memory index shared by all requests (in `AppState.search`).
#[derive(Debug, Default)]
pub struct SearchIndex {}

impl SearchIndex {
    /// Load every published guide from the database (at start).
    pub async fn rebuild(&self, _db: &Db) -> AppResult<()> {
        Ok(())
    }

    /// Bring one guide up to date after it changed (published, edited, taken offline, deleted);
    /// guides that are not published are removed from the index.
    pub async fn refresh_guide(&self, _db: &Db, _guide_id: Uuid) -> AppResult<()> {
        Ok(())
    }

    /// Search published guides.
    pub fn search_guides(&self, _q: &GuideQuery) -> AppResult<GuideHits> {
        Ok(GuideHits::default())
    }
}
