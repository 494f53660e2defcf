//! The working-day calendar: shipped schedules, admin corrections, and who may change them.

use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;

async fn shipped_schedules_answer_and_admins_correct_a_year(app: &TestApp) {
    let years = app.get("/api/v1/holidays", None).await.expect(200).body;
    let known: Vec<i64> = years.as_array().expect("years").iter().filter_map(|y| y["year"].as_i64()).collect();
    assert!(known.contains(&2026), "{known:?}");
    let day = app.get("/api/v1/holidays/day?date=2026-10-02", None).await.expect(200).body;
    assert_eq!(day["working_day"], false);
    assert!(day["holiday"].as_str().is_some_and(|h| h.contains("国庆")), "{day}");
    let makeup = app.get("/api/v1/holidays/day?date=2026-10-10", None).await.expect(200).body;
    assert_eq!(makeup["working_day"], true, "a make-up Saturday is a working day");
    app.get("/api/v1/holidays/day?date=2026-13-40", None).await.expect(400);
    let unknown = app.get("/api/v1/holidays/day?date=2031-01-01", None).await.expect(200).body;
    assert_eq!(unknown["year_known"], false);
    assert_eq!(unknown["working_day"], true, "unknown years count Monday–Friday");

    // 2031 is entered when published; students cannot, administrators can.
    let body = json!({
        "source": "国务院办公厅关于2031年部分节假日安排的通知",
        "holidays": [ { "name": "元旦", "name_en": "New Year's Day", "days_off": ["2031-01-01"] } ]
    });
    let student = app.login("student1").await;
    app.put("/api/v1/holidays/2031", Some(&student.access), &body).await.expect(403);
    let admin = app.login("it_admin").await;
    let saved = app.put("/api/v1/holidays/2031", Some(&admin.access), &body).await.expect(200).body;
    assert_eq!(saved["origin"], "custom");
    assert_eq!(saved["version"], 1);
    let day = app.get("/api/v1/holidays/day?date=2031-01-01", None).await.expect(200).body;
    assert_eq!(day["working_day"], false);
    assert_eq!(day["year_known"], true);

    // Editing again needs the version; a make-up day on a weekday is refused and changes nothing.
    app.put("/api/v1/holidays/2031", Some(&admin.access), &body).await.expect(409);
    let mut bad = body.clone();
    bad["holidays"][0]["make_up_workdays"] = json!(["2031-01-02"]);
    bad["version"] = json!(1);
    let r = app.put("/api/v1/holidays/2031", Some(&admin.access), &bad).await.expect(422);
    assert_eq!(r.code(), "rule_violation");
    let r = app
        .put("/api/v1/holidays/2031", Some(&admin.access), &json!({ "holidays": [ { "name": "", "days_off": [] } ] }))
        .await
        .expect(400);
    assert_eq!(r.code(), "validation_failed");
    assert_eq!(app.get("/api/v1/holidays/2031", None).await.expect(200).body["holidays"], saved["holidays"]);
}
db_test!(holiday_calendar, shipped_schedules_answer_and_admins_correct_a_year);
