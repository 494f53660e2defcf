//! Working-day calendar: the shipped 2025/2026 schedules and the counting rules around them.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use tongban_engine::calendar::{CalendarData, CalendarError, DueDates, OfficeHours, TimeLimit, TimeUnit, WorkCalendar};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// A China Standard Time instant as UTC.
fn cst(s: &str) -> DateTime<Utc> {
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("datetime");
    (local - TimeDelta::hours(8)).and_utc()
}

#[test]
fn builtin_covers_2025_and_2026_only() {
    let cal = WorkCalendar::builtin();
    assert!(cal.covers(2025) && cal.covers(2026));
    assert!(!cal.covers(2024) && !cal.covers(2027));
    assert_eq!(cal.data().years.len(), 2);
    assert_eq!(cal.office_hours(), &OfficeHours::default());
}

#[test]
fn builtin_days_off_and_make_up_days() {
    let cal = WorkCalendar::builtin();
    let count_off = |year: i32| {
        cal.data()
            .years
            .iter()
            .filter(|y| y.year == year)
            .flat_map(|y| &y.holidays)
            .map(|h| h.days_off.len())
            .sum::<usize>()
    };
    assert_eq!(count_off(2025), 28usize);
    assert_eq!(count_off(2026), 33usize);
    let make_up: Vec<NaiveDate> =
        cal.data().years.iter().flat_map(|y| &y.holidays).flat_map(|h| h.make_up_workdays.clone()).collect();
    let expected = [
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2025-09-28",
        "2025-10-11",
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ];
    assert_eq!(make_up, expected.iter().map(|s| d(s)).collect::<Vec<_>>());
    for m in make_up {
        assert!(matches!(m.weekday(), Weekday::Sat | Weekday::Sun), "{m}");
        assert!(cal.is_working_day(m), "{m}");
    }
}

#[test]
fn working_day_table() {
    let cal = WorkCalendar::builtin();
    let table = [
        // 2025
        ("2025-01-01", false),
        ("2025-01-26", true), // Sunday, 春节 make-up
        ("2025-01-27", true),
        ("2025-01-28", false),
        ("2025-02-04", false),
        ("2025-02-05", true),
        ("2025-02-08", true), // Saturday, make-up
        ("2025-04-04", false),
        ("2025-04-07", true),
        ("2025-04-27", true), // Sunday, 劳动节 make-up
        ("2025-05-05", false),
        ("2025-05-06", true),
        ("2025-05-31", false),
        ("2025-06-02", false),
        ("2025-06-03", true),
        ("2025-09-28", true), // Sunday, 国庆 make-up
        ("2025-10-08", false),
        ("2025-10-09", true),
        ("2025-10-11", true), // Saturday, make-up
        ("2025-10-12", false),
        ("2025-12-31", true),
        // 2026
        ("2026-01-01", false),
        ("2026-01-03", false),
        ("2026-01-04", true), // Sunday, 元旦 make-up
        ("2026-02-13", true),
        ("2026-02-14", true), // Saturday, 春节 make-up
        ("2026-02-15", false),
        ("2026-02-17", false), // 正月初一
        ("2026-02-23", false), // Monday, still off
        ("2026-02-24", true),
        ("2026-02-28", true), // Saturday, make-up
        ("2026-03-01", false),
        ("2026-04-06", false),
        ("2026-05-05", false),
        ("2026-05-09", true), // Saturday, make-up
        ("2026-06-19", false),
        ("2026-06-22", true),
        ("2026-09-20", true), // Sunday, 国庆 make-up
        ("2026-09-25", false),
        ("2026-09-28", true),
        ("2026-10-01", false),
        ("2026-10-07", false),
        ("2026-10-08", true),
        ("2026-10-10", true), // Saturday, make-up
        ("2026-10-11", false),
        // Years without data: Monday–Friday.
        ("2024-10-01", true),
        ("2027-01-01", true),
        ("2027-01-02", false),
        ("2030-02-04", true),
    ];
    for (date, working) in table {
        assert_eq!(cal.is_working_day(d(date)), working, "{date}");
    }
    assert_eq!(cal.holiday_name(d("2026-02-17")), Some("春节"));
    assert_eq!(cal.holiday_name(d("2026-02-28")), Some("春节"));
    assert_eq!(cal.holiday_name(d("2026-03-02")), None);
}

#[test]
fn add_working_days_around_spring_festival_2026() {
    let cal = WorkCalendar::builtin();
    let cases = [
        // (start CST, working days, due CST)
        ("2026-02-12 10:00", 1, "2026-02-13 17:30"),
        ("2026-02-13 10:00", 1, "2026-02-14 17:30"), // Saturday make-up day counts
        ("2026-02-13 10:00", 2, "2026-02-24 17:30"),
        ("2026-02-14 10:00", 1, "2026-02-24 17:30"),
        ("2026-02-14 10:00", 3, "2026-02-26 17:30"),
        ("2026-02-17 10:00", 1, "2026-02-24 17:30"), // created on a holiday
        ("2026-02-22 23:59", 1, "2026-02-24 17:30"),
        ("2026-02-24 00:00", 1, "2026-02-25 17:30"), // the start day never counts
        ("2026-02-27 10:00", 1, "2026-02-28 17:30"), // Saturday make-up day
        ("2026-02-27 10:00", 2, "2026-03-02 17:30"),
        ("2026-02-28 18:00", 1, "2026-03-02 17:30"),
    ];
    for (start, n, due) in cases {
        assert_eq!(cal.add_working_days(cst(start), n), cst(due), "{start} + {n}");
    }
}

#[test]
fn add_working_days_around_national_day_2026() {
    let cal = WorkCalendar::builtin();
    let cases = [
        ("2026-09-18 10:00", 1, "2026-09-20 17:30"), // Sunday make-up day
        ("2026-09-18 10:00", 2, "2026-09-21 17:30"),
        ("2026-09-24 10:00", 1, "2026-09-28 17:30"), // over 中秋
        ("2026-09-30 10:00", 1, "2026-10-08 17:30"),
        ("2026-09-30 10:00", 2, "2026-10-09 17:30"),
        ("2026-09-30 10:00", 3, "2026-10-10 17:30"), // Saturday make-up day
        ("2026-09-30 10:00", 4, "2026-10-12 17:30"),
        ("2026-10-03 10:00", 1, "2026-10-08 17:30"),
        ("2026-10-09 16:00", 1, "2026-10-10 17:30"),
    ];
    for (start, n, due) in cases {
        assert_eq!(cal.add_working_days(cst(start), n), cst(due), "{start} + {n}");
    }
}

#[test]
fn add_working_days_across_year_boundaries_and_unknown_years() {
    let cal = WorkCalendar::builtin();
    let cases = [
        ("2024-12-31 10:00", 1, "2025-01-02 17:30"), // 2024 unknown, 2025-01-01 off
        ("2025-12-31 10:00", 1, "2026-01-04 17:30"), // Sunday make-up for 元旦 2026
        ("2025-12-31 10:00", 2, "2026-01-05 17:30"),
        ("2026-12-31 10:00", 1, "2027-01-01 17:30"), // 2027 unknown: plain Friday
        ("2026-12-31 10:00", 2, "2027-01-04 17:30"),
        ("2030-03-01 10:00", 5, "2030-03-08 17:30"),
        ("2026-03-02 07:00", 1, "2026-03-03 17:30"), // before opening: still not counted
        ("2026-03-06 20:00", 1, "2026-03-09 17:30"),
    ];
    for (start, n, due) in cases {
        assert_eq!(cal.add_working_days(cst(start), n), cst(due), "{start} + {n}");
    }
}

#[test]
fn local_date_is_china_standard_time() {
    let cal = WorkCalendar::builtin();
    // 2026-02-13 17:00 UTC is 2026-02-14 01:00 in Beijing: the start day is the make-up Saturday.
    let start: DateTime<Utc> = "2026-02-13T17:00:00Z".parse().expect("instant");
    assert_eq!(cal.add_working_days(start, 1), "2026-02-24T09:30:00Z".parse::<DateTime<Utc>>().expect("instant"));
}

#[test]
fn zero_amounts_are_due_at_once() {
    let cal = WorkCalendar::builtin();
    for start in [cst("2026-02-17 10:00"), cst("2026-03-02 10:00")] {
        assert_eq!(cal.add_working_days(start, 0), start);
        assert_eq!(cal.add_working_hours(start, 0), start);
        for unit in [TimeUnit::WorkingDays, TimeUnit::WorkingHours, TimeUnit::Hours] {
            assert_eq!(cal.due(start, TimeLimit { amount: 0, unit }), start);
        }
    }
    assert_eq!(cal.nth_working_day_after(d("2026-02-17"), 0), Some(d("2026-02-17")));
}

#[test]
fn add_working_hours_table() {
    let cal = WorkCalendar::builtin();
    let cases = [
        ("2026-03-02 10:00", 1, "2026-03-02 11:00"),
        ("2026-03-02 10:00", 2, "2026-03-02 12:00"), // runs out at closing: due then
        ("2026-03-02 10:00", 3, "2026-03-02 15:00"),
        ("2026-03-02 10:00", 7, "2026-03-03 10:00"),
        ("2026-03-02 12:30", 1, "2026-03-02 15:00"), // lunch break
        ("2026-03-02 07:00", 1, "2026-03-02 09:30"),
        ("2026-03-02 18:00", 1, "2026-03-03 09:30"),
        ("2026-03-02 08:30", 70, "2026-03-13 17:30"), // ten whole days
        ("2026-03-02 08:30", 71, "2026-03-16 09:30"),
        ("2026-02-13 16:30", 1, "2026-02-13 17:30"),
        ("2026-02-13 16:30", 8, "2026-02-14 17:30"), // make-up Saturday
        ("2026-02-13 16:30", 9, "2026-02-24 09:30"),
        ("2026-02-17 10:00", 1, "2026-02-24 09:30"), // from a holiday
        ("2026-09-30 17:00", 1, "2026-10-08 09:00"),
        ("2025-12-31 17:00", 1, "2026-01-04 09:00"),
    ];
    for (start, n, due) in cases {
        assert_eq!(cal.add_working_hours(cst(start), n), cst(due), "{start} + {n}h");
    }
}

#[test]
fn due_dates_by_unit() {
    let cal = WorkCalendar::builtin();
    let start = cst("2026-09-30 10:00");
    let due = |amount, unit| cal.due(start, TimeLimit { amount, unit });
    assert_eq!(due(1, TimeUnit::WorkingDays), cst("2026-10-08 17:30"));
    assert_eq!(due(8, TimeUnit::WorkingHours), cst("2026-10-08 11:00")); // 5.5 h on 9/30, 2.5 h on 10/8
    assert_eq!(due(48, TimeUnit::Hours), cst("2026-10-02 10:00"));
    // Out of chrono's range: saturates rather than panicking.
    assert_eq!(due(u32::MAX, TimeUnit::WorkingDays), DateTime::<Utc>::MAX_UTC);
    assert_eq!(due(u32::MAX, TimeUnit::WorkingHours), DateTime::<Utc>::MAX_UTC);
    assert_eq!(
        cal.due(DateTime::<Utc>::MAX_UTC, TimeLimit { amount: 1, unit: TimeUnit::Hours }),
        DateTime::<Utc>::MAX_UTC
    );
}

#[test]
fn working_days_between_counts_half_open_intervals() {
    let cal = WorkCalendar::builtin();
    let cases = [
        ("2026-02-13", "2026-02-24", 2), // 2/14 (make-up) and 2/24
        ("2026-09-30", "2026-10-12", 4), // 10/8, 10/9, 10/10, 10/12
        ("2026-03-02", "2026-03-02", 0),
        ("2026-03-02", "2026-03-09", 5),
        ("2025-12-31", "2026-01-05", 2),
        ("2026-02-24", "2026-02-13", -2),
        ("2029-12-31", "2030-12-31", 261),
    ];
    for (a, b, n) in cases {
        assert_eq!(cal.working_days_between(d(a), d(b)), n, "{a}..{b}");
    }
    // 2026 as a whole: 261 weekdays; 19 of the 33 days off fall on weekdays (元旦 2, 春节 6, 清明 1,
    // 劳动节 3, 端午 1, 中秋 1, 国庆 5); 6 make-up days → 248 working days.
    assert_eq!(cal.working_days_between(d("2025-12-31"), d("2026-12-31")), 248);
    // 2025: 261 weekdays; 18 days off on weekdays (元旦 1, 春节 6, 清明 1, 劳动节 3, 端午 1, 国庆 6);
    // 5 make-up days → 248.
    let brute = |y: i32| {
        d(&format!("{y}-01-01")).iter_days().take_while(|x| x.year() == y).filter(|x| cal.is_working_day(*x)).count()
    };
    assert_eq!(brute(2026), 248);
    assert_eq!(brute(2025), 248);
    assert_eq!(cal.working_days_between(d("2024-12-31"), d("2025-12-31")), 248);
}

#[test]
fn working_time_between_counts_office_time() {
    let cal = WorkCalendar::builtin();
    let h = TimeDelta::hours;
    let m = TimeDelta::minutes;
    let cases = [
        ("2026-03-02 10:00", "2026-03-02 11:00", h(1)),
        ("2026-03-02 11:00", "2026-03-02 15:00", h(2)),
        ("2026-03-02 10:00", "2026-03-03 10:00", h(7)),
        ("2026-03-02 07:00", "2026-03-02 23:00", h(7)),
        ("2026-02-13 16:30", "2026-02-24 09:30", h(9)),
        ("2026-02-15 09:00", "2026-02-23 17:00", h(0)),
        ("2026-03-02 08:30", "2026-03-13 17:30", h(70)),
        ("2026-03-02 12:15", "2026-03-02 14:45", m(45)),
        ("2026-03-02 11:00", "2026-03-02 10:00", -h(1)),
    ];
    for (a, b, t) in cases {
        assert_eq!(cal.working_time_between(cst(a), cst(b)), t, "{a}..{b}");
    }
}

#[test]
fn configurable_office_hours() {
    let hours: OfficeHours = serde_json::from_str(r#"["09:00-17:00"]"#).expect("hours");
    assert_eq!(hours.per_day(), TimeDelta::hours(8));
    let cal = WorkCalendar::builtin().with_office_hours(hours.clone());
    assert_eq!(cal.add_working_days(cst("2026-03-02 10:00"), 1), cst("2026-03-03 17:00"));
    assert_eq!(cal.add_working_hours(cst("2026-03-02 16:00"), 2), cst("2026-03-03 10:00"));
    assert_eq!(cal.data().office_hours.as_ref(), Some(&hours));
    assert_eq!(serde_json::to_string(&OfficeHours::default()).expect("json"), r#"["08:30-12:00","14:00-17:30"]"#);
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
    assert_eq!(OfficeHours::default().periods(), &[(t(8, 30), t(12, 0)), (t(14, 0), t(17, 30))]);
    for bad in [r#"[]"#, r#"["12:00-08:30"]"#, r#"["08:00-12:00","11:00-17:00"]"#, r#"["8.30-12"]"#] {
        assert!(serde_json::from_str::<OfficeHours>(bad).is_err(), "{bad}");
    }
    assert!(matches!(OfficeHours::new(vec![]), Err(CalendarError::OfficeHours(_))));
    // Office hours can come with the data.
    let cal = WorkCalendar::from_json(r#"{ "office_hours": ["08:00-12:00", "14:30-18:00"], "years": [] }"#)
        .expect("calendar");
    assert_eq!(cal.add_working_days(cst("2026-03-02 10:00"), 1), cst("2026-03-03 18:00"));
}

#[test]
fn data_round_trips_and_weekdays_only() {
    let cal = WorkCalendar::builtin();
    let json = serde_json::to_string(cal.data()).expect("json");
    assert_eq!(WorkCalendar::from_json(&json).expect("calendar"), cal);
    let plain = WorkCalendar::weekdays_only();
    assert!(plain.is_working_day(d("2026-10-01")) && !plain.covers(2026));
    assert_eq!(WorkCalendar::default(), cal);
}

#[test]
fn refuses_bad_data() {
    let year = |body: &str| format!(r#"{{ "years": [ {body} ] }}"#);
    let cases = [
        (year(r#"{ "year": 2026, "holidays": [] }, { "year": 2026, "holidays": [] }"#), "DuplicateYear"),
        (year(r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": [] } ] }"#), "EmptyHoliday"),
        (year(r#"{ "year": 2026, "holidays": [ { "name": " ", "days_off": ["2026-01-01"] } ] }"#), "EmptyHoliday"),
        (year(r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": ["2062-01-01"] } ] }"#), "DateOutsideYear"),
        (
            year(r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": ["2026-01-01", "2026-01-01"] } ] }"#),
            "DuplicateDate",
        ),
        (
            year(
                r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": ["2026-02-14"], "make_up_workdays": ["2026-02-14"] } ] }"#,
            ),
            "DuplicateDate",
        ),
        (
            year(
                r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": ["2026-02-16"], "make_up_workdays": ["2026-02-13"] } ] }"#,
            ),
            "MakeUpNotWeekend",
        ),
        (year(r#"{ "year": 2026, "holidays": [], "extra": 1 }"#), "Json"),
        (year(r#"{ "year": 2026, "holidays": [ { "name": "x", "days_off": ["2026-02-30"] } ] }"#), "Json"),
        ("not json".to_owned(), "Json"),
    ];
    for (json, want) in cases {
        let err = WorkCalendar::from_json(&json).expect_err(&json);
        assert!(format!("{err:?}").starts_with(want), "{json}: {err:?}");
    }
    // A notice may list dates of the neighbouring year (the 2019 notice: 2018-12-29 worked).
    let cal = WorkCalendar::from_json(&year(
        r#"{ "year": 2019, "holidays": [ { "name": "元旦", "days_off": ["2018-12-30", "2018-12-31", "2019-01-01"], "make_up_workdays": ["2018-12-29"] } ] }"#,
    ))
    .expect("calendar");
    assert!(cal.is_working_day(d("2018-12-29")) && !cal.is_working_day(d("2018-12-31")));
    assert!(cal.covers(2019) && !cal.covers(2018));
    let _ = CalendarData::default();
}
