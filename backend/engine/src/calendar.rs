//! Time limits counted in working days or hours on a Chinese holiday calendar.
//!
//! A [`WorkCalendar`] knows, per year, the statutory holidays (法定节假日, days off) and the make-up
//! workdays (调休上班, weekend days worked), as published each year by the General Office of the
//! State Council. Every other day is a working day from Monday to Friday; years without data fall
//! back to plain Monday–Friday, and [`WorkCalendar::covers`] says whether a year is known.
//!
//! The engine works in UTC; office hours are China Standard Time (UTC+8, a fixed offset: China
//! has no daylight saving time). Default office hours are 08:30–12:00 and 14:00–17:30.
//!
//! # Counting rules
//!
//! Following 民法典 第二百零一条 and 第二百零三条 (the day a period starts is not counted; when the
//! last day has business hours, the period ends when business closes):
//!
//! * **Working days.** A limit of *n* working days started at instant *s* is due at the close of
//!   office hours on the *n*-th working day strictly after *s*'s local date. The day of *s* is never
//!   counted, whatever the time of day; when *s* falls on a holiday or weekend, counting thus starts
//!   with the next working day. Created at 10:00 on a working day with 1 working day → due at 17:30
//!   on the next working day; created on Sunday → due at 17:30 on Monday (if Monday is a working
//!   day).
//! * **Working hours.** Office time is consumed from *s* onwards (from the next opening if *s* is
//!   outside office hours). The due instant is where the *n*-th hour runs out; when it runs out
//!   exactly at a closing time (12:00 or 17:30), that closing time is the due instant.
//! * **Hours.** Plain elapsed hours.
//! * A zero amount is due at once: the due instant is *s*.
//!
//! These rules are additive: adding *n* then *m* working days (or hours) equals adding *n + m*.
//! Results past chrono's range saturate to [`DateTime::<Utc>::MAX_UTC`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
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

/// China Standard Time, seconds east of UTC.
pub const CST_OFFSET_SECONDS: i64 = 8 * 3600;

/// The built-in schedules (2025 and 2026), embedded at compile time.
pub const BUILTIN_JSON: &str = include_str!("../data/holidays-cn.json");

/// Why calendar data or office hours are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not valid JSON for [`CalendarData`].
    #[error("invalid calendar JSON: {0}")]
    Json(String),
    /// Two entries for one year.
    #[error("year {0} is listed more than once")]
    DuplicateYear(i32),
    /// A holiday without a name or days off.
    #[error("year {year}: every holiday needs a name and at least one day off (`{name}`)")]
    EmptyHoliday {
        /// The year.
        year: i32,
        /// The holiday's name as given.
        name: String,
    },
    /// A date more than one calendar year away from the year it is listed under.
    #[error("year {year}: {date} is not in or next to that year")]
    DateOutsideYear {
        /// The year.
        year: i32,
        /// The date.
        date: NaiveDate,
    },
    /// A date listed twice (as a day off twice, a make-up day twice, or both).
    #[error("{0} is listed more than once")]
    DuplicateDate(NaiveDate),
    /// A make-up workday that is not a Saturday or Sunday.
    #[error("make-up workday {0} is not a Saturday or Sunday")]
    MakeUpNotWeekend(NaiveDate),
    /// Office hours that are empty, unordered, overlapping or malformed.
    #[error("invalid office hours: {0}")]
    OfficeHours(String),
}

// ---------------------------------------------------------------------------------------------
// Data

/// The editable form of a calendar (what `data/holidays-cn.json` holds and an admin API edits).
/// Each [`YearSchedule`] stands alone, so a store may keep one row per year.
///
/// ```json
/// { "office_hours": ["08:30-12:00", "14:00-17:30"],
///   "years": [ { "year": 2026, "source": "国务院办公厅关于2026年部分节假日安排的通知",
///                "holidays": [ { "name": "国庆节", "name_en": "National Day",
///                                "days_off": ["2026-10-01", "…", "2026-10-07"],
///                                "make_up_workdays": ["2026-09-20", "2026-10-10"] } ] } ] }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarData {
    /// Office hours; the default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_hours: Option<OfficeHours>,
    /// The known years.
    pub years: Vec<YearSchedule>,
}

/// One year's holiday schedule (one State Council notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearSchedule {
    /// The year the notice is for.
    pub year: i32,
    /// Where the schedule comes from (the notice's title and number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The holidays.
    pub holidays: Vec<Holiday>,
}

/// One holiday: its days off and the make-up workdays that go with it, as the notice lists them
/// ("1月28日至2月4日放假调休，共8天。1月26日（周日）、2月8日（周六）上班。").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// Chinese name (春节).
    pub name: String,
    /// English name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Days off, weekends included.
    pub days_off: Vec<NaiveDate>,
    /// Saturdays and Sundays that are workdays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub make_up_workdays: Vec<NaiveDate>,
}

/// Office hours: one or more periods of a working day, local time (UTC+8), in order and not
/// overlapping. Serialised as `["08:30-12:00", "14:00-17:30"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct OfficeHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

const fn hm(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

impl Default for OfficeHours {
    /// 08:30–12:00 and 14:00–17:30.
    fn default() -> Self {
        OfficeHours { periods: vec![(hm(8, 30), hm(12, 0)), (hm(14, 0), hm(17, 30))] }
    }
}

impl OfficeHours {
    /// Office hours from periods `(opening, closing)`, local time: at least one, each opening
    /// before its closing, each after the previous one's closing.
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<OfficeHours, CalendarError> {
        if periods.is_empty() {
            return Err(CalendarError::OfficeHours("at least one period is needed".into()));
        }
        let mut previous_close: Option<NaiveTime> = None;
        for (open, close) in &periods {
            if open >= close {
                return Err(CalendarError::OfficeHours(format!("{open} is not before {close}")));
            }
            if previous_close.is_some_and(|p| *open < p) {
                return Err(CalendarError::OfficeHours("periods must be in order and not overlap".into()));
            }
            previous_close = Some(*close);
        }
        Ok(OfficeHours { periods })
    }

    /// The periods, in order.
    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// When the office closes on a working day.
    pub fn closing(&self) -> NaiveTime {
        self.periods.last().map_or(NaiveTime::MIN, |p| p.1)
    }

    /// Office time in one working day (7 hours by default).
    pub fn per_day(&self) -> TimeDelta {
        self.periods.iter().map(|(o, c)| *c - *o).sum()
    }

    /// Office time on `date` (assumed a working day) between two local instants.
    fn overlap(&self, date: NaiveDate, from: NaiveDateTime, to: NaiveDateTime) -> TimeDelta {
        self.periods
            .iter()
            .map(|(o, c)| {
                let (o, c) = (date.and_time(*o), date.and_time(*c));
                (c.min(to) - o.max(from)).max(TimeDelta::zero())
            })
            .sum()
    }
}

impl TryFrom<Vec<String>> for OfficeHours {
    type Error = CalendarError;

    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
        let periods = v
            .iter()
            .map(|p| {
                p.split_once('-')
                    .and_then(|(o, c)| Some((parse(o)?, parse(c)?)))
                    .ok_or_else(|| CalendarError::OfficeHours(format!("`{p}` is not HH:MM-HH:MM")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        OfficeHours::new(periods)
    }
}

impl From<OfficeHours> for Vec<String> {
    fn from(h: OfficeHours) -> Self {
        h.periods.iter().map(|(o, c)| format!("{}-{}", o.format("%H:%M"), c.format("%H:%M"))).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The calendar

#[derive(Debug, Clone, PartialEq, Eq)]
enum Special {
    /// A statutory day off, with the holiday's name.
    Off(String),
    /// A make-up workday, with the name of the holiday it makes up for.
    Work(String),
}

/// A working-day calendar: holiday data plus office hours.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    data: CalendarData,
    hours: OfficeHours,
    years: BTreeSet<i32>,
    special: BTreeMap<NaiveDate, Special>,
}

impl fmt::Debug for WorkCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkCalendar").field("years", &self.years).field("office_hours", &self.hours).finish()
    }
}

impl Default for WorkCalendar {
    /// The built-in calendar.
    fn default() -> Self {
        WorkCalendar::builtin()
    }
}

/// Up to this many working days a due date is found by walking day by day; beyond, by a binary
/// search over [`WorkCalendar::working_days_between`]. Time limits are mostly a few days.
const WALK_LIMIT: u32 = 31;

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Monday-to-Friday days from the start of the proleptic calendar up to `d` inclusive (day 1 of
/// the common era, 0001-01-01, is a Monday).
fn weekdays_upto(d: NaiveDate) -> i64 {
    let k = i64::from(d.num_days_from_ce());
    5 * k.div_euclid(7) + k.rem_euclid(7).min(5)
}

fn add_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_add_days(Days::new(n))
}

fn to_local(t: DateTime<Utc>) -> Option<NaiveDateTime> {
    t.naive_utc().checked_add_signed(TimeDelta::seconds(CST_OFFSET_SECONDS))
}

fn to_utc(t: NaiveDateTime) -> Option<DateTime<Utc>> {
    t.checked_sub_signed(TimeDelta::seconds(CST_OFFSET_SECONDS)).map(|n| n.and_utc())
}

impl WorkCalendar {
    /// The embedded official schedules (currently 2025 and 2026) with default office hours.
    pub fn builtin() -> WorkCalendar {
        // The embedded data is checked by a test, so this cannot fail.
        WorkCalendar::from_json(BUILTIN_JSON)
            .unwrap_or_else(|e| unreachable!("the built-in holiday data is invalid: {e}"))
    }

    /// Plain Monday–Friday with default office hours and no holiday data.
    pub fn weekdays_only() -> WorkCalendar {
        WorkCalendar {
            data: CalendarData::default(),
            hours: OfficeHours::default(),
            years: BTreeSet::new(),
            special: BTreeMap::new(),
        }
    }

    /// A calendar from JSON in the [`CalendarData`] format.
    pub fn from_json(json: &str) -> Result<WorkCalendar, CalendarError> {
        let data: CalendarData = serde_json::from_str(json).map_err(|e| CalendarError::Json(e.to_string()))?;
        WorkCalendar::from_data(data)
    }

    /// A calendar from data, checked: one entry per year, named holidays with days off, dates in or
    /// next to their year, no date listed twice, make-up workdays on weekends.
    pub fn from_data(data: CalendarData) -> Result<WorkCalendar, CalendarError> {
        let mut years = BTreeSet::new();
        let mut special = BTreeMap::new();
        for y in &data.years {
            if !years.insert(y.year) {
                return Err(CalendarError::DuplicateYear(y.year));
            }
            for h in &y.holidays {
                if h.name.trim().is_empty() || h.days_off.is_empty() {
                    return Err(CalendarError::EmptyHoliday { year: y.year, name: h.name.clone() });
                }
                let off = h.days_off.iter().map(|d| (*d, Special::Off(h.name.clone())));
                let work = h.make_up_workdays.iter().map(|d| (*d, Special::Work(h.name.clone())));
                for (date, kind) in off.chain(work) {
                    if (date.year() - y.year).abs() > 1 {
                        return Err(CalendarError::DateOutsideYear { year: y.year, date });
                    }
                    if matches!(kind, Special::Work(_)) && !is_weekend(date) {
                        return Err(CalendarError::MakeUpNotWeekend(date));
                    }
                    if special.insert(date, kind).is_some() {
                        return Err(CalendarError::DuplicateDate(date));
                    }
                }
            }
        }
        let hours = data.office_hours.clone().unwrap_or_default();
        Ok(WorkCalendar { data, hours, years, special })
    }

    /// The same calendar with other office hours.
    pub fn with_office_hours(mut self, hours: OfficeHours) -> WorkCalendar {
        self.data.office_hours = Some(hours.clone());
        self.hours = hours;
        self
    }

    /// The data the calendar was built from (for an admin API to show and edit).
    pub fn data(&self) -> &CalendarData {
        &self.data
    }

    /// The office hours.
    pub fn office_hours(&self) -> &OfficeHours {
        &self.hours
    }

    /// Whether the data has a schedule for `year`; other years are plain Monday–Friday.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.special.get(&date) {
            Some(Special::Off(_)) => false,
            Some(Special::Work(_)) => true,
            None => !is_weekend(date),
        }
    }

    /// The holiday `date` is a day off for, or a make-up workday for.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.special.get(&date).map(|(Special::Off(n) | Special::Work(n))| n.as_str())
    }

    /// Working days in `(a, b]` (`a` excluded, `b` included); negative when `b` is before `a`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        let mut n = weekdays_upto(b) - weekdays_upto(a);
        for (d, s) in self.special.range((Bound::Excluded(a), Bound::Included(b))) {
            match s {
                Special::Off(_) if !is_weekend(*d) => n -= 1,
                Special::Work(_) if is_weekend(*d) => n += 1,
                _ => {}
            }
        }
        n
    }

    /// The `n`-th working day strictly after `date` (`date` itself when `n` is 0); `None` past
    /// chrono's range.
    pub fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        if n == 0 {
            return Some(date);
        }
        if n <= WALK_LIMIT {
            return self.walk_working_days(date, n);
        }
        let want = i64::from(n);
        let count = |offset: u64| add_days(date, offset).map(|d| (d, self.working_days_between(date, d)));
        // Find an offset with enough working days, then the smallest such offset.
        let mut lo = u64::from(n) - 1; // fewer than n working days in (date, date + lo]
        let mut hi = u64::from(n);
        while count(hi)?.1 < want {
            lo = hi;
            hi = hi.checked_mul(2)?;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if count(mid)?.1 >= want {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        count(hi).map(|(d, _)| d)
    }

    /// [`WorkCalendar::nth_working_day_after`] for a small `n` (`n` > 0), day by day: the special
    /// days ahead are read in one pass instead of counted again for every guess.
    fn walk_working_days(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        let mut special = self.special.range((Bound::Excluded(date), Bound::Unbounded)).peekable();
        let (mut day, mut left) = (date, n);
        loop {
            day = day.succ_opt()?;
            let working = match special.next_if(|(d, _)| **d == day) {
                Some((_, s)) => matches!(s, Special::Work(_)),
                None => !is_weekend(day),
            };
            if working {
                left -= 1;
                if left == 0 {
                    return Some(day);
                }
            }
        }
    }

    /// Due instant of `n` working days from `start` (see the module documentation): the close of
    /// office hours on the `n`-th working day after `start`'s local date; `start` when `n` is 0.
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return start;
        }
        to_local(start)
            .and_then(|local| self.nth_working_day_after(local.date(), n))
            .and_then(|day| to_utc(day.and_time(self.hours.closing())))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Due instant of `n` working hours from `start` (see the module documentation); `start` when
    /// `n` is 0.
    pub fn add_working_hours(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return start;
        }
        to_local(start)
            .and_then(|local| self.add_office_time(local, TimeDelta::try_hours(i64::from(n))?))
            .and_then(to_utc)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Consume `remaining` (positive) office time from local instant `t`.
    fn add_office_time(&self, mut t: NaiveDateTime, mut remaining: TimeDelta) -> Option<NaiveDateTime> {
        let per_day = self.hours.per_day().num_seconds();
        let mut skipped = false;
        loop {
            let date = t.date();
            if self.is_working_day(date) {
                for (open, close) in &self.hours.periods {
                    let (open, close) = (date.and_time(*open), date.and_time(*close));
                    if t < close {
                        let from = t.max(open);
                        let available = close - from;
                        if remaining <= available {
                            return from.checked_add_signed(remaining);
                        }
                        remaining -= available;
                        t = close;
                    }
                }
            }
            let next = date.succ_opt()?;
            t = next.and_time(NaiveTime::MIN);
            if !skipped && remaining.num_seconds() > per_day {
                // Skip whole working days, leaving between a moment and one full day to consume.
                skipped = true;
                let secs = remaining.num_seconds();
                let whole = if remaining.subsec_nanos() > 0 { secs / per_day } else { (secs - 1) / per_day };
                let last = self.nth_working_day_after(next.pred_opt()?, u32::try_from(whole).ok()?)?;
                remaining -= TimeDelta::try_seconds(per_day.checked_mul(whole)?)?;
                if whole > 0 {
                    t = last.succ_opt()?.and_time(NaiveTime::MIN);
                }
            }
        }
    }

    /// Office time elapsed from `a` to `b` (negative when `b` is before `a`): for statistics such
    /// as average handling time in working hours.
    pub fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> TimeDelta {
        if b < a {
            return -self.working_time_between(b, a);
        }
        let (Some(la), Some(lb)) = (to_local(a), to_local(b)) else { return TimeDelta::zero() };
        let (da, db) = (la.date(), lb.date());
        let on = |d: NaiveDate, from: NaiveDateTime, to: NaiveDateTime| {
            if self.is_working_day(d) { self.hours.overlap(d, from, to) } else { TimeDelta::zero() }
        };
        if da == db {
            return on(da, la, lb);
        }
        let first = da.succ_opt().map_or(TimeDelta::zero(), |next| on(da, la, next.and_time(NaiveTime::MIN)));
        let last = on(db, db.and_time(NaiveTime::MIN), lb);
        let between = db.pred_opt().map_or(0, |p| self.working_days_between(da, p));
        let middle = self
            .hours
            .per_day()
            .num_seconds()
            .checked_mul(between)
            .and_then(TimeDelta::try_seconds)
            .unwrap_or(TimeDelta::MAX);
        first.checked_add(&middle).and_then(|t| t.checked_add(&last)).unwrap_or(TimeDelta::MAX)
    }
}

impl DueDates for WorkCalendar {
    fn due(&self, start: DateTime<Utc>, limit: TimeLimit) -> DateTime<Utc> {
        match limit.unit {
            TimeUnit::WorkingDays => self.add_working_days(start, limit.amount),
            TimeUnit::WorkingHours => self.add_working_hours(start, limit.amount),
            TimeUnit::Hours => TimeDelta::try_hours(i64::from(limit.amount))
                .and_then(|d| start.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}
