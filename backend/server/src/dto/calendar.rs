//! The working-day calendar (法定节假日 and 调休 make-up workdays).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::org::validate_text;

/// One holiday of a year's schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HolidayView {
    /// Chinese name, e.g. 春节.
    #[validate(length(min = 1, max = 64), custom(function = "validate_text"))]
    pub name: String,
    /// English name.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    pub name_en: Option<String>,
    /// Days off, weekends included.
    #[validate(length(min = 1, max = 31))]
    pub days_off: Vec<NaiveDate>,
    /// Saturdays and Sundays that are workdays (调休上班).
    #[validate(length(max = 10))]
    #[serde(default)]
    pub make_up_workdays: Vec<NaiveDate>,
}

/// Where a year's schedule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleOrigin {
    /// Shipped with Tongban.
    Builtin,
    /// Entered or corrected by an administrator.
    Custom,
}

/// One year's schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HolidayYearView {
    /// The year.
    pub year: i32,
    /// The State Council notice it follows.
    pub source: Option<String>,
    /// The holidays.
    pub holidays: Vec<HolidayView>,
    /// Shipped or edited.
    pub origin: ScheduleOrigin,
    /// Optimistic-lock version of an edited year; send it back when editing again.
    pub version: Option<i32>,
    /// When it was last edited.
    pub updated_at: Option<DateTime<Utc>>,
}

/// `PUT /holidays/{year}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PutHolidayYear {
    /// The notice it follows.
    #[validate(length(max = 200), custom(function = "validate_text"))]
    pub source: Option<String>,
    /// The holidays.
    #[validate(length(max = 20), nested)]
    pub holidays: Vec<HolidayView>,
    /// The version of the edited year being replaced; omit when the year has not been edited yet.
    pub version: Option<i32>,
}

/// `GET /holidays/day`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The date (YYYY-MM-DD).
    pub date: NaiveDate,
}

/// Whether a date is a working day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    /// The date.
    pub date: NaiveDate,
    /// A working day (weekday not off, or a make-up workday).
    pub working_day: bool,
    /// The holiday it belongs to, if any.
    pub holiday: Option<String>,
    /// Whether the calendar has a schedule for the year (else Monday–Friday is assumed).
    pub year_known: bool,
}
