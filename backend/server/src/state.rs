//! Shared application state handed to every request.

use std::sync::Arc;

use crate::auth::tokens::JwtKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::services::search::SearchIndex;
use crate::services::storage::Storage;

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Database.
    pub db: Db,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// Access-token keys.
    pub keys: Arc<JwtKeys>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Uploaded files.
    pub storage: Arc<Storage>,
    /// Certificate signing keys.
    pub signing: Arc<crate::signing::KeyRing>,
    /// Fonts for PDFs.
    pub fonts: Arc<crate::pdf::Fonts>,
    /// Live notifications for SSE streams.
    pub live: Arc<crate::services::live::LiveHub>,
    /// Guide search.
    pub search: Arc<SearchIndex>,
    /// The hall's in-memory caches (published catalogue, rendered guide pages).
    pub hall: Arc<crate::services::hall::HallCache>,
    /// Resolved principals of signed-in callers (see [`crate::auth::principal::PrincipalCache`]).
    pub principals: Arc<crate::auth::principal::PrincipalCache>,
    /// The organisation tree and calendar commands read (see
    /// [`crate::services::directory::CommandCache`]).
    pub commands: Arc<crate::services::directory::CommandCache>,
    /// Request rate limits of this instance.
    pub limits: Arc<crate::http::ratelimit::RateLimits>,
}
