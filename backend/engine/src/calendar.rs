//! Time limits counted in working days or hours on a Chinese holiday calendar.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Working days (法定节假日 skipped, 调休 make-up days counted).
    WorkingDays,
    /// Working hours within office hours of working days.
    WorkingHours,
    /// Plain hours around the clock.
    Hours,
}

/// A time limit on a node or a whole affair (办理时限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeLimit {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: TimeUnit,
}

/// Computes due dates; implemented by [`WorkCalendar`] and passed to the executor so that the
/// engine never reads a clock or a database.
pub trait DueDates {
    /// When something started at `start` with limit `limit` is due.
    fn due(&self, start: DateTime<Utc>, limit: TimeLimit) -> DateTime<Utc>;
}
