//! Properties of working-day arithmetic over 2024–2027 (known and unknown years alike).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use tongban_engine::calendar::WorkCalendar;

fn local(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    t.naive_utc() + TimeDelta::hours(8)
}

/// An instant between mid-2024 and mid-2027, to the nanosecond.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_717_200_000i64..1_814_400_000, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).expect("in range"))
}

fn date() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|t| local(t).date())
}

fn within_office_hours(cal: &WorkCalendar, t: DateTime<Utc>) -> bool {
    let l = local(t);
    cal.is_working_day(l.date()) && cal.office_hours().periods().iter().any(|(o, c)| *o <= l.time() && l.time() <= *c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn working_days_add_up(s in instant(), n in 0u32..60, m in 0u32..60) {
        let cal = WorkCalendar::builtin();
        prop_assert_eq!(cal.add_working_days(cal.add_working_days(s, n), m), cal.add_working_days(s, n + m));
    }

    #[test]
    fn working_day_due_dates_close_a_working_day(s in instant(), n in 1u32..60) {
        let cal = WorkCalendar::builtin();
        let due = cal.add_working_days(s, n);
        prop_assert!(within_office_hours(&cal, due));
        prop_assert_eq!(local(due).time(), cal.office_hours().closing());
        prop_assert_eq!(cal.working_days_between(local(s).date(), local(due).date()), i64::from(n));
        prop_assert!(due > s);
    }

    #[test]
    fn working_hours_add_up(s in instant(), n in 0u32..200, m in 0u32..200) {
        let cal = WorkCalendar::builtin();
        prop_assert_eq!(cal.add_working_hours(cal.add_working_hours(s, n), m), cal.add_working_hours(s, n + m));
    }

    #[test]
    fn working_hour_due_dates_are_in_office_hours(s in instant(), n in 1u32..200) {
        let cal = WorkCalendar::builtin();
        let due = cal.add_working_hours(s, n);
        prop_assert!(within_office_hours(&cal, due));
        prop_assert_eq!(cal.working_time_between(s, due), TimeDelta::hours(i64::from(n)));
    }

    #[test]
    fn due_dates_are_monotone(a in instant(), b in instant(), n in 1u32..30) {
        let cal = WorkCalendar::builtin();
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(cal.add_working_days(a, n) <= cal.add_working_days(b, n));
        prop_assert!(cal.add_working_hours(a, n) <= cal.add_working_hours(b, n));
    }

    #[test]
    fn counting_matches_day_by_day(a in date(), b in date()) {
        let cal = WorkCalendar::builtin();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let brute = lo.iter_days().skip(1).take_while(|d| *d <= hi).filter(|d| cal.is_working_day(*d)).count();
        let brute = i64::try_from(brute).expect("small");
        prop_assert_eq!(cal.working_days_between(lo, hi), brute);
        prop_assert_eq!(cal.working_days_between(hi, lo), -brute);
    }

    #[test]
    // Both ways of finding the day: walking (up to 31 working days) and the binary search beyond.
    fn nth_working_day_matches_stepping(a in date(), n in 0u32..200) {
        let cal = WorkCalendar::builtin();
        let stepped = if n == 0 {
            a
        } else {
            a.iter_days().skip(1).filter(|d| cal.is_working_day(*d)).nth(n as usize - 1).expect("found")
        };
        prop_assert_eq!(cal.nth_working_day_after(a, n), Some(stepped));
    }

    #[test]
    fn unknown_years_are_monday_to_friday(d in date()) {
        let cal = WorkCalendar::builtin();
        if !cal.covers(d.year()) {
            prop_assert_eq!(cal.is_working_day(d), d.weekday().num_days_from_monday() < 5);
        }
        prop_assert_eq!(WorkCalendar::weekdays_only().is_working_day(d), d.weekday().num_days_from_monday() < 5);
    }
}
