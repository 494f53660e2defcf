//! Time helpers.

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};

/// The current time, truncated to microseconds so that it survives a round trip through
/// PostgreSQL (`timestamptz`) and SQLite unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The calendar day in China (UTC+8, no daylight saving) at `t`.
pub fn china_day(t: DateTime<Utc>) -> NaiveDate {
    (t + TimeDelta::hours(8)).date_naive()
}
