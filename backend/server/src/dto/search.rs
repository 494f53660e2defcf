//! `GET /search`: guides by Chinese words and pinyin, and the caller's own affairs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::common::Page;
use super::hall::Audience;
use super::org::validate_text;
use crate::entity::affair;
use crate::services::search::GuideHitDoc;

fn validate_query(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("required"));
    }
    validate_text(s)
}

/// What to search for. Paging is `page` and `page_size` (see `PageQuery`).
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words: Chinese (在读证明, 证明), pinyin (`zaiduzhengming`, `zaidu`, `zai du`), initials
    /// (`zdzm`, `zd`), or a mix; for a signed-in caller also the number or title of their own
    /// affairs. Not blank, no control characters, at most 100 characters; punctuation and symbols
    /// separate words and are never query syntax.
    #[validate(length(min = 1, max = 100), custom(function = "validate_query"))]
    #[param(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub q: String,
    /// Only this theme.
    pub category_id: Option<Uuid>,
    /// Only this department (实施主体).
    pub department_id: Option<Uuid>,
    /// Only guides for this audience (guides without an audience are for everyone).
    pub audience: Option<Audience>,
}

/// A matching guide.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideHit {
    /// Guide id.
    pub id: Uuid,
    /// 事项名称.
    pub name: String,
    /// One-line description.
    pub summary: String,
    /// 实施主体.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Theme.
    pub category_id: Option<Uuid>,
    /// Its name.
    pub category_name: Option<String>,
    /// Relevance (higher is better; only comparable within one search).
    pub score: f32,
    /// HTML fragment of the summary or the guide's content with the matched words in
    /// `<b>…</b>`; everything else is escaped. Absent when only the name or its pinyin matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<String>,
}

impl From<GuideHitDoc> for GuideHit {
    fn from(h: GuideHitDoc) -> Self {
        GuideHit {
            id: h.id,
            name: h.name,
            summary: h.summary,
            department_id: h.department_id,
            department_name: h.department_name,
            category_id: h.category_id,
            category_name: h.category_name,
            score: h.score,
            highlight: h.highlight,
        }
    }
}

/// One of the caller's own affairs whose number or title matches.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AffairHit {
    /// Affair id.
    pub id: Uuid,
    /// Human number, e.g. SW2026112800017.
    pub number: String,
    /// Title.
    pub title: String,
    /// `submitted`, `in_progress`, `returned`, `withdrawn`, `rejected`, `completed`.
    pub status: String,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<affair::Model> for AffairHit {
    fn from(a: affair::Model) -> Self {
        AffairHit {
            id: a.id,
            number: a.number,
            title: a.title,
            status: a.status,
            submitted_at: a.submitted_at,
            updated_at: a.updated_at,
        }
    }
}

/// Search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// Published guides, best first.
    pub guides: Page<GuideHit>,
    /// The caller's own affairs whose number or title contains the query, latest first (at most
    /// 10; always empty without a token).
    pub affairs: Vec<AffairHit>,
}
