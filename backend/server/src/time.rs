//! Time helpers.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds so that it survives a round trip through
/// PostgreSQL (`timestamptz`) and SQLite unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
