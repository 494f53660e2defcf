//! Drafts (草稿): applications being written, saved without full validation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

/// At most this many pick keys in a draft.
const MAX_PICK_KEYS: usize = 20;

fn validate_picks(picks: &BTreeMap<String, Vec<Uuid>>) -> Result<(), ValidationError> {
    let ok = picks.len() <= MAX_PICK_KEYS && picks.iter().all(|(k, v)| (1..=64).contains(&k.len()) && v.len() <= 50);
    if ok { Ok(()) } else { Err(ValidationError::new("invalid")) }
}

/// `POST /drafts`: save an application being written. The form is checked for shape only (a JSON
/// object); required fields may be missing until it is submitted.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateDraft {
    /// The process to apply through (its key); give this or `guide_id`.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub process_key: Option<String>,
    /// The published guide to apply from; give this or `process_key`.
    pub guide_id: Option<Uuid>,
    /// The form so far (an object).
    #[serde(default = "empty_object")]
    pub form: serde_json::Value,
    /// Handlers picked so far, by pick key.
    #[serde(default)]
    #[validate(custom(function = "validate_picks"))]
    pub picks: BTreeMap<String, Vec<Uuid>>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// `PUT /drafts/{id}`: replace the form and picks.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateDraft {
    /// The form so far (an object).
    pub form: serde_json::Value,
    /// Handlers picked so far.
    #[serde(default)]
    #[validate(custom(function = "validate_picks"))]
    pub picks: BTreeMap<String, Vec<Uuid>>,
    /// The version this update is based on (409 when stale).
    pub version: i32,
}

/// A draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    /// Id.
    pub id: Uuid,
    /// The guide it was started from.
    pub guide_id: Option<Uuid>,
    /// The process.
    pub process_id: Uuid,
    /// Its key.
    pub process_key: String,
    /// Title (the service's name).
    pub title: String,
    /// The form so far.
    pub form: serde_json::Value,
    /// Handlers picked so far.
    pub picks: serde_json::Value,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}

/// A draft in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftSummary {
    /// Id.
    pub id: Uuid,
    /// The guide it was started from.
    pub guide_id: Option<Uuid>,
    /// The process.
    pub process_id: Uuid,
    /// The process's key (for applying by key, `POST /affairs {process_key}`).
    pub process_key: String,
    /// Title.
    pub title: String,
    /// Optimistic-lock version.
    pub version: i32,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}
