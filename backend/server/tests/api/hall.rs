//! The hall: fitted to the audience, hot services by use, invalidated on change; favourites,
//! recent guides, quick links and themes.

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongban_server::entity::affair;

use crate::db_test;
use crate::guides::{content, create_guide, demo_guide, publish};
use crate::helpers::{TestApp, Tokens};

fn codes(list: &Value) -> Vec<String> {
    list.as_array().expect("list").iter().filter_map(|g| g["code"].as_str().map(str::to_owned)).collect()
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array().expect("list").iter().filter_map(|g| g["title"].as_str().map(str::to_owned)).collect()
}

fn category_count(hall: &Value, code: &str) -> u64 {
    hall["categories"].as_array().expect("categories").iter().find(|c| c["code"] == code).expect("category")["guides"]
        .as_u64()
        .expect("count")
}

async fn hall_of(app: &TestApp, who: Option<&Tokens>) -> Value {
    app.get("/api/v1/hall", who.map(|t| t.access.as_str())).await.expect(200).body
}

async fn each_audience_gets_its_own_hall(app: &TestApp) {
    let anon = hall_of(app, None).await;
    let student = hall_of(app, Some(&app.login("student1").await)).await;
    let staff = hall_of(app, Some(&app.login("teacher1").await)).await;
    assert_eq!((anon["audience"].as_str(), student["audience"].as_str()), (Some("visitor"), Some("student")));
    assert_eq!(staff["audience"], "staff");

    let (a, s, t) = (codes(&anon["recommended"]), codes(&student["recommended"]), codes(&staff["recommended"]));
    assert!(a.contains(&"visitor_entry".into()) && !a.contains(&"enrolment_certificate".into()), "{a:?}");
    assert!(s.contains(&"enrolment_certificate".into()) && s.contains(&"student_leave".into()), "{s:?}");
    assert!(!s.contains(&"seal_application".into()) && !s.contains(&"visitor_entry".into()), "{s:?}");
    assert!(t.contains(&"seal_application".into()) && !t.contains(&"enrolment_certificate".into()), "{t:?}");
    assert_eq!(s.first().map(String::as_str), Some("enrolment_certificate"), "by rank");

    let (a, s, t) = (titles(&anon["quick_links"]), titles(&student["quick_links"]), titles(&staff["quick_links"]));
    assert!(a.contains(&"访客入校预约".into()) && !a.contains(&"在读证明".into()), "{a:?}");
    assert!(s.contains(&"在读证明".into()) && !s.contains(&"用印申请".into()), "{s:?}");
    assert!(t.contains(&"用印申请".into()) && !t.contains(&"在读证明".into()), "{t:?}");
    assert!(a.contains(&"图书馆".into()) && s.contains(&"图书馆".into()), "links for everyone");

    assert_eq!(category_count(&anon, "xjxy"), 0, "no 学籍学业 guide is for visitors");
    assert!(category_count(&student, "xjxy") > category_count(&anon, "xjxy"));
    assert!(category_count(&staff, "xzbg") > category_count(&student, "xzbg"));
    assert!(anon["favorites"].as_array().expect("f").is_empty() && anon["recent"].as_array().expect("r").is_empty());

    // A bad token is an error, not the anonymous page.
    app.get("/api/v1/hall", Some("not-a-token")).await.expect(401);

    // Shared caches may keep the anonymous hall briefly, never a personalised one.
    let cc = |r: &crate::helpers::Resp| r.headers.get("cache-control").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let r = app.get("/api/v1/hall", None).await.expect(200);
    assert_eq!(cc(&r).as_deref(), Some("public, max-age=30"));
    let r = app.get("/api/v1/hall", Some(&app.login("student1").await.access)).await.expect(200);
    assert_eq!(cc(&r).as_deref(), Some("private, no-cache"));
    let vary = r.headers.get("vary").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(vary.split(',').any(|v| v.trim() == "Authorization"), "{vary}");
}
db_test!(hall_is_fitted_to_the_audience, each_audience_gets_its_own_hall);

async fn apply(app: &TestApp, who: &Tokens, guide_id: &str, form: Value) -> String {
    let a = app.post("/api/v1/affairs", Some(&who.access), &json!({ "guide_id": guide_id, "form": form })).await;
    let a = a.expect(201).body;
    assert_eq!(a["guide_id"], guide_id);
    a["id"].as_str().expect("id").to_owned()
}

fn leave_form() -> Value {
    json!({
        "leave_type": "personal", "period": { "start": "2026-12-07", "end": "2026-12-08" }, "days": 2,
        "reason": "家中有事", "leave_campus": "no", "emergency_contact": "林父", "emergency_phone": "13800138000"
    })
}

fn certificate_form() -> Value {
    json!({ "purpose": "internship", "copies": 1, "language": "zh" })
}

async fn hot_services_rank_by_affairs_of_the_last_30_days(app: &TestApp) {
    let leave = demo_guide(app, "student_leave").await["id"].as_str().expect("id").to_owned();
    let cert = demo_guide(app, "enrolment_certificate").await["id"].as_str().expect("id").to_owned();
    let s1 = app.login("student1").await;
    let s2 = app.login("student2").await;
    apply(app, &s1, &leave, leave_form()).await;
    apply(app, &s2, &leave, leave_form()).await;
    apply(app, &s1, &cert, certificate_form()).await;
    // An application through the process itself counts for its guide too.
    let by_key = json!({ "process_key": "enrolment_certificate", "form": certificate_form() });
    for who in [&s1, &s2] {
        app.post("/api/v1/affairs", Some(&who.access), &by_key).await.expect(201);
    }
    // Three older applications for the certificate fall outside the window.
    let mut old = Vec::new();
    for who in [&s1, &s2, &s2] {
        old.push(apply(app, who, &cert, certificate_form()).await);
    }
    let ids: Vec<uuid::Uuid> = old.iter().map(|s| s.parse().expect("uuid")).collect();
    affair::Entity::update_many()
        .col_expr(affair::Column::SubmittedAt, Expr::value(Some(Utc::now() - Duration::days(40))))
        .filter(affair::Column::Id.is_in(ids))
        .exec(app.state.db.conn())
        .await
        .expect("backdate");
    // Counts are kept for minutes (and through changes of the catalogue); count afresh.
    app.state.hall.invalidate_all();

    let hall = hall_of(app, Some(&s1)).await;
    let hot: Vec<(String, u64)> = hall["hot"]
        .as_array()
        .expect("hot")
        .iter()
        .map(|g| (g["code"].as_str().unwrap_or("").to_owned(), g["uses"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(hot, vec![("enrolment_certificate".to_owned(), 3), ("student_leave".to_owned(), 2)]);
    // Both are for students only: visitors see neither.
    assert!(hall_of(app, None).await["hot"].as_array().expect("hot").is_empty());
}
db_test!(hot_services, hot_services_rank_by_affairs_of_the_last_30_days);

fn named(list: &Value, code: &str) -> Option<String> {
    list.as_array()?.iter().find(|g| g["code"] == code).and_then(|g| g["name"].as_str().map(str::to_owned))
}

fn uses(hall: &Value, code: &str) -> u64 {
    hall["hot"]
        .as_array()
        .expect("hot")
        .iter()
        .find(|g| g["code"] == code)
        .map_or(0, |g| g["uses"].as_u64().expect("uses"))
}

async fn an_expired_hall_is_served_while_its_successor_loads(app: &TestApp) {
    let leave = demo_guide(app, "student_leave").await;
    let id = leave["id"].as_str().expect("id").to_owned();
    let s1 = app.login("student1").await;
    app.get(&format!("/api/v1/guides/{id}"), Some(&s1.access)).await.expect(200);
    app.state.hall.invalidate_all();
    let before = hall_of(app, Some(&s1)).await;
    let name = named(&before["recent"], "student_leave").expect("recently visited");
    let n = uses(&before, "student_leave");

    // A change of the catalogue reloads it at once; the hot counts are kept (minutes old at most).
    apply(app, &s1, &id, leave_form()).await;
    app.state.hall.invalidate();
    assert_eq!(uses(&hall_of(app, Some(&s1)).await, "student_leave"), n);

    // Another instance renames the guide: this one does not know until its snapshot expires.
    tongban_server::entity::guide::Entity::update_many()
        .col_expr(tongban_server::entity::guide::Column::Name, Expr::value("学生请假（新）"))
        .filter(tongban_server::entity::guide::Column::Code.eq("student_leave"))
        .exec(app.state.db.conn())
        .await
        .expect("rename");
    assert_eq!(named(&hall_of(app, Some(&s1)).await["recent"], "student_leave").as_deref(), Some(name.as_str()));

    // Expired: the old page is served once more, without waiting, while one reload runs.
    app.state.hall.age(tongban_server::services::hall::HallCache::HOT_TTL + std::time::Duration::from_secs(1));
    let stale = hall_of(app, Some(&s1)).await;
    assert_eq!(named(&stale["recent"], "student_leave").as_deref(), Some(name.as_str()));
    assert_eq!(uses(&stale, "student_leave"), n);
    let mut fresh = stale;
    for _ in 0..100 {
        if !app.state.hall.is_refreshing() {
            fresh = hall_of(app, Some(&s1)).await;
            if named(&fresh["recent"], "student_leave").as_deref() == Some("学生请假（新）") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(named(&fresh["recent"], "student_leave").as_deref(), Some("学生请假（新）"));
    assert_eq!(uses(&fresh, "student_leave"), n + 1, "the reload counted afresh");
    // The anonymous page comes from the same snapshot: visitors may not use the student service.
    assert_eq!(uses(&hall_of(app, None).await, "student_leave"), 0);
}
db_test!(hall_served_stale_while_reloading, an_expired_hall_is_served_while_its_successor_loads);

async fn a_change_shows_in_the_hall_at_once(app: &TestApp) {
    let before = hall_of(app, None).await;
    let n = category_count(&before, "shfw");
    let cats = app.get("/api/v1/categories", None).await.expect(200).body;
    let shfw = cats.as_array().expect("c").iter().find(|c| c["code"] == "shfw").expect("shfw")["id"].clone();
    let xgc = app.login("xgc_admin").await;
    let mut c = content("校园导览");
    c["category_id"] = shfw;
    let g = create_guide(app, &xgc, "campus_tour", "xgc", c).await;
    assert_eq!(category_count(&hall_of(app, None).await, "shfw"), n, "a draft is not in the hall");
    let g = publish(app, &xgc, &g).await;
    let after = hall_of(app, None).await;
    assert_eq!(category_count(&after, "shfw"), n + 1, "the cached hall was dropped on publish");
    assert!(!codes(&after["recommended"]).contains(&"campus_tour".into()));

    // Curating it as recommended (the IT office) shows at once, too.
    let id = g["id"].as_str().expect("id");
    let admin = app.login("it_admin").await;
    let body = json!({ "recommended": true, "recommend_rank": 0, "version": g["version"] });
    app.put(&format!("/api/v1/guides/{id}/recommendation"), Some(&xgc.access), &body).await.expect(403);
    let r = app.put(&format!("/api/v1/guides/{id}/recommendation"), Some(&admin.access), &body).await.expect(200);
    assert_eq!(r.body["recommended"], true);
    let after = hall_of(app, None).await;
    assert_eq!(codes(&after["recommended"]).first().map(String::as_str), Some("campus_tour"));
    let stale = app.put(&format!("/api/v1/guides/{id}/recommendation"), Some(&admin.access), &body).await;
    assert_eq!(stale.expect(409).code(), "version_conflict");

    // A cached guide page follows a new publication.
    assert_eq!(app.get(&format!("/api/v1/guides/{id}"), None).await.expect(200).body["content"]["name"], "校园导览");
    let cur = app.get(&format!("/api/v1/guides/{id}"), Some(&xgc.access)).await.expect(200).body;
    let mut c = cur["content"].clone();
    c["name"] = json!("校园导览（新版）");
    let e = app
        .put(&format!("/api/v1/guides/{id}"), Some(&xgc.access), &json!({ "version": cur["version"], "content": c }))
        .await;
    let e = e.expect(200).body;
    app.post(&format!("/api/v1/guides/{id}/publish"), Some(&xgc.access), &json!({ "version": e["version"] }))
        .await
        .expect(200);
    let page = app.get(&format!("/api/v1/guides/{id}"), None).await.expect(200).body;
    assert_eq!(page["content"]["name"], "校园导览（新版）");
    let after = hall_of(app, None).await;
    assert!(after["recommended"].as_array().expect("r").iter().any(|g| g["name"] == "校园导览（新版）"));
}
db_test!(hall_cache_is_invalidated_on_change, a_change_shows_in_the_hall_at_once);

async fn favourites_and_recent_guides_are_personal(app: &TestApp) {
    let s1 = app.login("student1").await;
    let s2 = app.login("student2").await;
    let cert = demo_guide(app, "enrolment_certificate").await["id"].as_str().expect("id").to_owned();
    let leave = demo_guide(app, "student_leave").await["id"].as_str().expect("id").to_owned();
    let fav = format!("/api/v1/me/favorites/{cert}");
    app.put(&fav, Some(&s1.access), &json!(null)).await.expect(204);
    app.put(&fav, Some(&s1.access), &json!(null)).await.expect(204);
    let mine = app.get("/api/v1/me/favorites", Some(&s1.access)).await.expect(200).body;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["id"], cert.as_str());
    assert_eq!(app.get("/api/v1/me/favorites", Some(&s2.access)).await.expect(200).body["total"], 0);
    assert_eq!(codes(&hall_of(app, Some(&s1)).await["favorites"]), vec!["enrolment_certificate".to_owned()]);
    assert!(hall_of(app, Some(&s2)).await["favorites"].as_array().expect("f").is_empty());
    app.put(&format!("/api/v1/me/favorites/{}", uuid::Uuid::now_v7()), Some(&s1.access), &json!(null))
        .await
        .expect(404);
    app.get("/api/v1/me/favorites", None).await.expect(401);
    app.delete(&fav, Some(&s2.access)).await.expect(204);
    assert_eq!(app.get("/api/v1/me/favorites", Some(&s1.access)).await.expect(200).body["total"], 1, "not theirs");
    app.delete(&fav, Some(&s1.access)).await.expect(204);
    app.delete(&fav, Some(&s1.access)).await.expect(204);
    assert_eq!(app.get("/api/v1/me/favorites", Some(&s1.access)).await.expect(200).body["total"], 0);

    // Reading a guide while signed in keeps it in "recent", latest first.
    app.get(&format!("/api/v1/guides/{cert}"), Some(&s1.access)).await.expect(200);
    app.get(&format!("/api/v1/guides/{leave}"), Some(&s1.access)).await.expect(200);
    app.get(&format!("/api/v1/guides/{cert}"), None).await.expect(200);
    let recent = app.get("/api/v1/me/recent", Some(&s1.access)).await.expect(200).body;
    let order: Vec<&str> = recent["items"].as_array().expect("i").iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(order, vec![leave.as_str(), cert.as_str()]);
    app.get(&format!("/api/v1/guides/{cert}"), Some(&s1.access)).await.expect(200);
    let recent = app.get("/api/v1/me/recent", Some(&s1.access)).await.expect(200).body;
    assert_eq!(recent["items"][0]["id"], cert.as_str());
    assert_eq!(recent["items"][0]["visits"], 2);
    assert_eq!(codes(&hall_of(app, Some(&s1)).await["recent"]), vec!["enrolment_certificate", "student_leave"]);
    assert_eq!(app.get("/api/v1/me/recent", Some(&s2.access)).await.expect(200).body["total"], 0);
    app.get("/api/v1/me/recent", None).await.expect(401);
}
db_test!(favourites_and_recent, favourites_and_recent_guides_are_personal);

async fn quick_links_and_themes_are_managed_by_the_it_office(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let student = app.login("student1").await;
    let link = json!({ "title": "学工在线", "url": "https://xg.demo.tongban.edu.cn/", "audiences": ["student"], "sort_order": -1 });
    app.post("/api/v1/hall-links", Some(&student.access), &link).await.expect(403);
    app.get("/api/v1/hall-links", Some(&student.access)).await.expect(403);
    let l = app.post("/api/v1/hall-links", Some(&admin.access), &link).await.expect(201).body;
    assert_eq!(
        titles(&hall_of(app, Some(&student)).await["quick_links"]).first().map(String::as_str),
        Some("学工在线")
    );
    assert!(!titles(&hall_of(app, None).await["quick_links"]).contains(&"学工在线".into()));
    let bad = json!({ "title": "坏链接", "url": "javascript:alert(1)" });
    app.post("/api/v1/hall-links", Some(&admin.access), &bad).await.expect(400);
    let both = json!({ "title": "二选一", "url": "https://a.example/", "guide_id": l["id"] });
    app.post("/api/v1/hall-links", Some(&admin.access), &both).await.expect(400);
    let lurl = format!("/api/v1/hall-links/{}", l["id"].as_str().expect("id"));
    let mut upd = link.clone();
    upd["title"] = json!("学工在线（新）");
    upd["version"] = l["version"].clone();
    app.put(&lurl, Some(&admin.access), &upd).await.expect(200);
    assert_eq!(app.put(&lurl, Some(&admin.access), &upd).await.expect(409).code(), "version_conflict");
    assert!(titles(&hall_of(app, Some(&student)).await["quick_links"]).contains(&"学工在线（新）".into()));
    app.delete(&lurl, Some(&admin.access)).await.expect(204);
    app.delete(&lurl, Some(&admin.access)).await.expect(404);
    assert!(!titles(&hall_of(app, Some(&student)).await["quick_links"]).iter().any(|t| t.starts_with("学工在线")));

    // Themes: public list, managed with versions, not deletable while guides use them.
    let cat = json!({ "code": "test_theme", "name": "测试主题", "sort_order": 99 });
    app.post("/api/v1/categories", Some(&student.access), &cat).await.expect(403);
    let c = app.post("/api/v1/categories", Some(&admin.access), &cat).await.expect(201).body;
    assert_eq!(app.post("/api/v1/categories", Some(&admin.access), &cat).await.expect(409).code(), "already_exists");
    assert!(
        app.get("/api/v1/categories", None)
            .await
            .expect(200)
            .body
            .as_array()
            .expect("c")
            .iter()
            .any(|x| x["id"] == c["id"])
    );
    let curl = format!("/api/v1/categories/{}", c["id"].as_str().expect("id"));
    let upd = json!({ "name": "测试主题二", "version": c["version"] });
    app.put(&curl, Some(&admin.access), &upd).await.expect(200);
    assert_eq!(app.put(&curl, Some(&admin.access), &upd).await.expect(409).code(), "version_conflict");
    let used = app.get("/api/v1/categories", None).await.expect(200).body;
    let xjxy = used.as_array().expect("c").iter().find(|x| x["code"] == "xjxy").expect("xjxy")["id"].clone();
    let r = app.delete(&format!("/api/v1/categories/{}", xjxy.as_str().expect("id")), Some(&admin.access)).await;
    assert_eq!(r.expect(409).code(), "in_use");
    app.delete(&curl, Some(&student.access)).await.expect(403);
    app.delete(&curl, Some(&admin.access)).await.expect(204);
    assert!(
        app.get("/api/v1/categories", None)
            .await
            .expect(200)
            .body
            .as_array()
            .expect("c")
            .iter()
            .all(|x| x["id"] != c["id"])
    );
}
db_test!(quick_links_and_themes, quick_links_and_themes_are_managed_by_the_it_office);

async fn raw_get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = req.send().await.expect("send");
    let body = res.body().limit(1 << 20).await.expect("body").to_vec();
    (res.status().as_u16(), res.headers().clone(), body)
}

fn gunzip(b: &[u8]) -> Value {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).expect("gzip");
    serde_json::from_slice(&out).expect("json")
}

fn header(h: &awc::http::header::HeaderMap, name: &str) -> Option<String> {
    let all: Vec<&str> = h.get_all(name).filter_map(|v| v.to_str().ok()).collect();
    (!all.is_empty()).then(|| all.join(", "))
}

async fn cached_pages_are_sent_gzip_encoded_when_the_client_takes_it(app: &TestApp) {
    let gz = [("accept-encoding", "gzip, deflate, br")];
    // The anonymous hall: the same JSON either way, gzip when asked for.
    let plain = hall_of(app, None).await;
    let (status, h, body) = raw_get(app, "/api/v1/hall", &gz).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding").as_deref(), Some("gzip"));
    let vary = header(&h, "vary").unwrap_or_default();
    assert!(vary.contains("Accept-Encoding") && vary.contains("Authorization"), "{vary}");
    assert_eq!(gunzip(&body), plain);
    let (_, h, body) = raw_get(app, "/api/v1/hall", &[("accept-encoding", "gzip;q=0, identity")]).await;
    assert_eq!(header(&h, "content-encoding"), None);
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json"), plain);

    // A public guide page: each form has its own entity tag, and a tag answers 304 for its form.
    let id = demo_guide(app, "student_leave").await["id"].as_str().expect("id").to_owned();
    let url = format!("/api/v1/guides/{id}");
    let (_, h, body) = raw_get(app, &url, &[]).await;
    let tag = header(&h, "etag").expect("etag");
    let page: Value = serde_json::from_slice(&body).expect("json");
    let (status, h, body) = raw_get(app, &url, &gz).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&body), page);
    let gz_tag = header(&h, "etag").expect("etag");
    assert_ne!(gz_tag, tag);
    assert_eq!(raw_get(app, &url, &[gz[0], ("if-none-match", gz_tag.as_str())]).await.0, 304);
    assert_eq!(raw_get(app, &url, &[("if-none-match", tag.as_str())]).await.0, 304);
    assert_eq!(raw_get(app, &url, &[gz[0], ("if-none-match", tag.as_str())]).await.0, 200, "another form");
}
db_test!(cached_pages_gzip, cached_pages_are_sent_gzip_encoded_when_the_client_takes_it);
