//! Electronic certificates (#5): issuance, wallet, public verification, signatures, revocation,
//! re-issue, access between departments and holders, numbering under concurrency, automatic
//! issuance when 在读证明 completes.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, Tokens, complete_enrolment, pdf_qr_codes, pdf_text, squeeze};

/// Each type its own number prefix: `XJ` for `status`, the code in capitals for others.
fn prefix_of(code: &str) -> String {
    if code == "status" { "XJ".to_owned() } else { code.to_ascii_uppercase() }
}

fn type_body(code: &str, department_id: &Value, template: &str) -> Value {
    json!({
        "code": code, "department_id": department_id, "name": "学籍证明", "name_en": "Student status",
        "template": template, "validity_days": 30, "number_prefix": prefix_of(code), "layout": { "paper": "A4" }
    })
}

/// A certificate type of 学生工作处, defined by its admin.
async fn xgc_type(app: &TestApp, xgc: &Tokens, code: &str) -> Value {
    let dept = app.department("xgc").await;
    let template = "兹证明 {{ holder.name }}（学号 {{ holder.student_no }}）系我校学生，{{ data.note }}。";
    app.post("/api/v1/certificate-types", Some(&xgc.access), &type_body(code, &dept["id"], template))
        .await
        .expect(201)
        .body
}

async fn issue(app: &TestApp, who: &Tokens, type_id: &Value, holder_id: &str, note: &str) -> Value {
    app.post(
        "/api/v1/certificates",
        Some(&who.access),
        &json!({ "type_id": type_id, "holder_id": holder_id, "data": { "note": note } }),
    )
    .await
    .expect(201)
    .body
}

/// Numbers run by the calendar year in Beijing time.
fn beijing_year() -> String {
    chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset")).format("%Y").to_string()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

async fn issue_verify_revoke_and_reissue(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let student = app.login("student1").await;
    let holder = app.user_id(&it, "student1").await;
    let ty = xgc_type(app, &xgc, "status").await;
    assert_eq!(ty["version"], 1);

    let c = issue(app, &xgc, &ty["id"], &holder, "用于办理签证").await;
    let year = beijing_year();
    assert_eq!(s(&c["number"]), format!("XJ{year}000001"));
    assert_eq!(s(&c["body"]), "兹证明 林同学（学号 2024010101）系我校学生，用于办理签证。");
    assert_eq!(c["status"], "valid");
    let code = s(&c["verify_code"]).to_owned();
    assert!(code.len() >= 16 && code.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
    assert!(s(&c["verify_url"]).ends_with(&format!("/verify/{code}")));

    // The holder's wallet shows it.
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 1);
    assert_eq!(wallet["items"][0]["id"], c["id"]);
    let cid = s(&c["id"]).to_owned();
    app.get(&format!("/api/v1/certificates/{cid}"), Some(&student.access)).await.expect(200);

    // Public verification: valid, the name masked, nothing more personal.
    let v = app.get(&format!("/api/v1/verify/{code}"), None).await.expect(200).body;
    assert_eq!(v["status"], "valid");
    assert_eq!(v["holder_name"], "林**");
    assert_eq!(v["number"], c["number"]);
    assert_eq!(v["type_name"], "学籍证明");
    assert_eq!(v["department_name"], "学生工作处");
    let text = v.to_string();
    assert!(!text.contains("2024010101") && !text.contains("林同学") && !text.contains("签证"), "{text}");
    app.get("/api/v1/verify/no-such-code-000000", None).await.expect(404);

    // The downloaded document verifies, and not after one byte of the body is flipped.
    let res = app.get(&format!("/api/v1/certificates/{cid}/document"), Some(&student.access)).await.expect(200);
    let disposition = res.headers.get("content-disposition").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let doc = res.body;
    let signed = app.state.signing.verify(&doc).expect("the document verifies");
    assert_eq!(signed["number"], c["number"]);
    assert_eq!(signed["holder"]["student_no"], "2024010101");
    assert_eq!(signed["verify_url"], c["verify_url"]);
    assert_eq!(signed["type"]["code"], "status");
    let mut tampered = doc.clone();
    let body = s(&doc["certificate"]["body"]).to_owned();
    let mut bytes = body.into_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    tampered["certificate"]["body"] = json!(String::from_utf8_lossy(&bytes).into_owned());
    assert!(app.state.signing.verify(&tampered).is_err(), "a flipped byte fails");

    // Only issuers revoke; stale versions conflict.
    let revoke = json!({ "reason": "信息有误", "version": 1 });
    app.post(&format!("/api/v1/certificates/{cid}/revoke"), Some(&student.access), &revoke).await.expect(403);
    let c2 = issue(app, &xgc, &ty["id"], &holder, "用于实习").await;
    assert_eq!(s(&c2["number"]), format!("XJ{year}000002"));
    let cid2 = s(&c2["id"]).to_owned();
    let stale = json!({ "reason": "信息有误", "version": 7 });
    app.post(&format!("/api/v1/certificates/{cid2}/revoke"), Some(&xgc.access), &stale).await.expect(409);
    let r = app.post(&format!("/api/v1/certificates/{cid2}/revoke"), Some(&xgc.access), &revoke).await.expect(200);
    assert_eq!(r.body["status"], "revoked");
    let v = app.get(&format!("/api/v1/verify/{}", s(&c2["verify_code"])), None).await.expect(200).body;
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoke_reason"], "信息有误");
    assert!(v["revoked_at"].is_string());
    // A revoked certificate is not re-issued or revoked again.
    let again = json!({ "reason": "再次", "version": 2 });
    app.post(&format!("/api/v1/certificates/{cid2}/revoke"), Some(&xgc.access), &again).await.expect(422);

    // Re-issue: a new number supersedes the old one, linked both ways.
    let re = app
        .post(
            &format!("/api/v1/certificates/{cid}/reissue"),
            Some(&xgc.access),
            &json!({ "reason": "用途变更", "version": 1, "data": { "note": "用于出国交流" } }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(s(&re["number"]), format!("XJ{year}000003"));
    assert_eq!(re["supersedes_id"], c["id"]);
    assert!(s(&re["body"]).ends_with("用于出国交流。"));
    let old = app.get(&format!("/api/v1/certificates/{cid}"), Some(&xgc.access)).await.expect(200).body;
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["superseded_by_id"], re["id"]);
    let v = app.get(&format!("/api/v1/verify/{code}"), None).await.expect(200).body;
    assert_eq!(v["status"], "superseded");
    assert_eq!(v["superseded_by_code"], re["verify_code"]);
    let v = app.get(&format!("/api/v1/verify/{}", s(&re["verify_code"])), None).await.expect(200).body;
    assert_eq!(v["status"], "valid");
    let newdoc =
        app.get(&format!("/api/v1/certificates/{}/document", s(&re["id"])), Some(&student.access)).await.expect(200);
    let signed = app.state.signing.verify(&newdoc.body).expect("verifies");
    assert_eq!(signed["supersedes"], c["number"]);
    app.post(
        &format!("/api/v1/certificates/{cid}/reissue"),
        Some(&xgc.access),
        &json!({ "reason": "x", "version": 2 }),
    )
    .await
    .expect(422);

    // Issuers list by status; the wallet has all three.
    let listed = app
        .get(&format!("/api/v1/certificates?holder_id={holder}&status=valid"), Some(&xgc.access))
        .await
        .expect(200)
        .body;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], re["id"]);
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 3);

    // Every change left its audit record.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tongban_server::entity::audit_log;
    let records = audit_log::Entity::find()
        .filter(audit_log::Column::Action.starts_with("certificate"))
        .all(app.state.db.conn())
        .await
        .expect("audit");
    let count = |a: &str| records.iter().filter(|r| r.action == a).count();
    assert_eq!(count("certificate_type.create"), 1);
    assert_eq!(count("certificate.issue"), 3);
    assert_eq!(count("certificate.revoke"), 1);
    assert_eq!(count("certificate.supersede"), 1);
    assert!(records.iter().all(|r| r.actor_name.as_deref() == Some("xgc_admin")));
}
db_test!(issue_verify_revoke_reissue, issue_verify_revoke_and_reissue);

async fn departments_and_holders_only_see_their_own(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let jwc = app.login("jwc_admin").await;
    let other = app.login("student2").await;
    let holder = app.user_id(&it, "student1").await;
    let ty = xgc_type(app, &xgc, "status").await;
    let tid = s(&ty["id"]).to_owned();

    // A bad template is refused at definition, and on update.
    let dept = app.department("xgc").await;
    let bad = app
        .post("/api/v1/certificate-types", Some(&xgc.access), &type_body("bad", &dept["id"], "兹证明 {% if %}"))
        .await
        .expect(400);
    assert_eq!(bad.body["errors"][0]["field"], "template", "{}", bad.body);
    let mut bad_prefix = type_body("bad", &dept["id"], "x");
    bad_prefix["number_prefix"] = json!("ZM-");
    app.post("/api/v1/certificate-types", Some(&xgc.access), &bad_prefix).await.expect(400);
    let mut upd = type_body("status", &dept["id"], "{{ holder.name ");
    upd["version"] = json!(1);
    upd.as_object_mut().map(|o| o.remove("code").and(o.remove("department_id")));
    app.put(&format!("/api/v1/certificate-types/{tid}"), Some(&xgc.access), &upd).await.expect(400);
    upd["template"] = json!("证明 {{ holder.name }}，{{ data.note }}。");
    let changed = app.put(&format!("/api/v1/certificate-types/{tid}"), Some(&xgc.access), &upd).await.expect(200);
    assert_eq!(changed.body["version"], 2);
    app.put(&format!("/api/v1/certificate-types/{tid}"), Some(&xgc.access), &upd).await.expect(409);

    // Another department's admin cannot define types for xgc, see, change or issue with its type.
    let r = app.post("/api/v1/certificate-types", Some(&jwc.access), &type_body("x", &dept["id"], "x")).await;
    assert_eq!(r.status.as_u16(), 403);
    let types = app.get("/api/v1/certificate-types", Some(&jwc.access)).await.expect(200).body;
    assert!(types.as_array().expect("array").iter().all(|t| t["id"] != ty["id"]));
    upd["version"] = json!(2);
    app.put(&format!("/api/v1/certificate-types/{tid}"), Some(&jwc.access), &upd).await.expect(404);
    let r = app
        .post("/api/v1/certificates", Some(&jwc.access), &json!({ "type_id": tid, "holder_id": holder, "data": {} }))
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["field"], "type_id");
    // Students are not issuers.
    app.post("/api/v1/certificates", Some(&other.access), &json!({ "type_id": tid, "holder_id": holder }))
        .await
        .expect(403);
    app.get("/api/v1/certificates", Some(&other.access)).await.expect(403);

    let c = issue(app, &xgc, &ty["id"], &holder, "用于实习").await;
    let cid = s(&c["id"]).to_owned();
    // Neither jwc nor another student can read it, or know it exists.
    for who in [&jwc, &other] {
        app.get(&format!("/api/v1/certificates/{cid}"), Some(&who.access)).await.expect(404);
        app.get(&format!("/api/v1/certificates/{cid}/document"), Some(&who.access)).await.expect(404);
        let revoke = json!({ "reason": "x", "version": 1 });
        app.post(&format!("/api/v1/certificates/{cid}/revoke"), Some(&who.access), &revoke).await.expect(404);
    }
    let listed = app.get("/api/v1/certificates", Some(&jwc.access)).await.expect(200).body;
    assert_eq!(listed["total"], 0);
    let wallet = app.get("/api/v1/me/certificates", Some(&other.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 0);
    // The IT admin issues everywhere and reads everything.
    app.get(&format!("/api/v1/certificates/{cid}"), Some(&it.access)).await.expect(200);
    let listed = app.get("/api/v1/certificates", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(listed["total"], 1);
}
db_test!(certificate_access, departments_and_holders_only_see_their_own);

async fn concurrent_issuance_gives_distinct_consecutive_numbers(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let holder = app.user_id(&it, "student1").await;
    let ty = xgc_type(app, &xgc, "status").await;
    let body = json!({ "type_id": ty["id"], "holder_id": holder, "data": { "note": "并发" } });
    let results =
        futures_util::future::join_all((0..20).map(|_| app.post("/api/v1/certificates", Some(&xgc.access), &body)))
            .await;
    let year = beijing_year();
    let mut numbers = HashSet::new();
    let mut codes = HashSet::new();
    for r in results {
        let c = r.expect(201).body;
        numbers.insert(s(&c["number"]).to_owned());
        codes.insert(s(&c["verify_code"]).to_owned());
    }
    let expected: HashSet<String> = (1..=20).map(|i| format!("XJ{year}{i:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(codes.len(), 20);
}
db_test!(concurrent_numbering, concurrent_issuance_gives_distinct_consecutive_numbers);

async fn completing_enrolment_issues_once(app: &TestApp) {
    let student = app.login("student1").await;
    let form = json!({ "purpose": "other", "purpose_detail": "办理银行开户", "copies": 1, "language": "zh" });
    let a = complete_enrolment(app, &student, form).await;
    let id = s(&a["id"]).to_owned();
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 1);
    let c = &wallet["items"][0];
    assert_eq!(c["affair_id"], id.as_str());
    assert!(s(&c["body"]).contains("本证明用于办理银行开户。"), "{c}");
    assert!(s(&c["number"]).starts_with("ZM"));
    let v = app.get(&format!("/api/v1/verify/{}", s(&c["verify_code"])), None).await.expect(200).body;
    assert_eq!(v["status"], "valid");
    assert_eq!(v["type_name"], "在读证明");
    assert!(v["valid_until"].is_string());

    // A retried job does not issue twice.
    use sea_orm::EntityTrait;
    let affair = tongban_server::entity::affair::Entity::find_by_id(id.parse::<uuid::Uuid>().expect("uuid"))
        .one(app.state.db.conn())
        .await
        .expect("db")
        .expect("affair");
    let again = tongban_server::services::certificates::issue_for_affair(&app.state, &affair, "enrolment")
        .await
        .expect("idempotent");
    assert_eq!(again.number, s(&c["number"]));
    let wallet = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    assert_eq!(wallet["total"], 1);
}
db_test!(automatic_enrolment_certificate, completing_enrolment_issues_once);

/// Puts a version of the demo 在读证明 online whose form takes an earlier certificate of a type
/// (第十一条: 证照共享, a certificate as a material).
async fn enrolment_taking_a_certificate(app: &TestApp, type_code: &str) {
    let admin = app.login("it_admin").await;
    let pid = crate::applying::process_id(app, "enrolment_certificate").await;
    let detail = app.get(&format!("/api/v1/processes/{pid}"), Some(&admin.access)).await.expect(200).body;
    let mut form = detail["draft_form"].clone();
    form["fields"].as_array_mut().expect("fields").push(json!({
        "key": "earlier", "label": "已有证照", "label_en": "Earlier certificate",
        "kind": { "type": "certificate", "certificate_type": type_code }, "required": false
    }));
    let body = json!({
        "name": detail["name"], "department_id": detail["department_id"], "description": detail["description"],
        "definition": detail["draft"], "form": form, "version": detail["version"]
    });
    let saved = app.put(&format!("/api/v1/processes/{pid}"), Some(&admin.access), &body).await.expect(200).body;
    let online = json!({ "status": "online", "version": saved["version"] });
    app.post(&format!("/api/v1/processes/{pid}/versions"), Some(&admin.access), &online).await.expect(201);
}

async fn certificates_as_materials_are_checked_and_shown_verified(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let ty = xgc_type(app, &xgc, "status").await;
    let mine = issue(app, &xgc, &ty["id"], &app.user_id(&it, "student1").await, "用于实习").await;
    let theirs = issue(app, &xgc, &ty["id"], &app.user_id(&it, "student2").await, "用于实习").await;
    let other_type = xgc_type(app, &xgc, "other").await;
    // A prefix belongs to one type, and stays with it.
    let mut clash = type_body("clash", &app.department("xgc").await["id"], "x");
    clash["number_prefix"] = json!("XJ");
    let r = app.post("/api/v1/certificate-types", Some(&xgc.access), &clash).await.expect(409);
    assert_eq!(r.body["errors"][0]["field"], "number_prefix");
    let mut renamed = type_body("other", &app.department("xgc").await["id"], "x");
    renamed["number_prefix"] = json!("ZZ");
    renamed["version"] = other_type["version"].clone();
    let r = app.put(&format!("/api/v1/certificate-types/{}", s(&other_type["id"])), Some(&xgc.access), &renamed).await;
    assert_eq!(r.expect(400).body["errors"][0]["code"], "immutable");
    let wrong = issue(app, &xgc, &other_type["id"], &app.user_id(&it, "student1").await, "用于实习").await;
    enrolment_taking_a_certificate(app, "status").await;

    // Nothing is issued to a disabled account.
    let id = app.user_id(&it, "teacher1").await;
    let u = app.get(&format!("/api/v1/users/{id}"), Some(&it.access)).await.expect(200).body;
    let update = json!({
        "display_name": u["display_name"], "kind": u["kind"], "student_no": u["student_no"], "staff_no": u["staff_no"],
        "department_id": u["department_id"], "email": u["email"], "phone": u["phone"], "status": "disabled",
        "version": u["version"],
    });
    app.put(&format!("/api/v1/users/{id}"), Some(&it.access), &update).await.expect(200);
    let r = app
        .post(
            "/api/v1/certificates",
            Some(&xgc.access),
            &json!({ "type_id": ty["id"], "holder_id": id, "data": { "note": "x" } }),
        )
        .await
        .expect(400);
    assert_eq!(r.body["errors"][0]["code"], "inactive");

    let student = app.login("student1").await;
    let apply = |cert: &Value| {
        json!({ "process_key": "enrolment_certificate",
        "form": { "purpose": "internship", "copies": 1, "language": "zh", "earlier": cert["id"] } })
    };
    // Another student's certificate is not found; one of another type is refused.
    let r = app.post("/api/v1/affairs", Some(&student.access), &apply(&theirs)).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "certificate_not_found");
    assert_eq!(r.body["errors"][0]["field"], "earlier");
    let r = app.post("/api/v1/affairs", Some(&student.access), &apply(&wrong)).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "certificate_wrong_type");

    // Their own valid certificate is accepted, and the handler sees it verified.
    let affair = app.post("/api/v1/affairs", Some(&student.access), &apply(&mine)).await.expect(201).body;
    let id = s(&affair["id"]).to_owned();
    let c1 = app.login("counsellor1").await;
    let seen = app.get(&format!("/api/v1/affairs/{id}"), Some(&c1.access)).await.expect(200).body;
    let m = &seen["certificates"][0];
    assert_eq!(
        (m["number"].clone(), m["status"].clone(), m["verified"].clone()),
        (mine["number"].clone(), json!("valid"), json!(true))
    );
    assert_eq!(m["field_key"], "earlier");

    // Revoked later: the affair page says so, and it can no longer be attached.
    let revoke = json!({ "reason": "学籍信息变更", "version": mine["version"] });
    app.post(&format!("/api/v1/certificates/{}/revoke", s(&mine["id"])), Some(&xgc.access), &revoke).await.expect(200);
    let seen = app.get(&format!("/api/v1/affairs/{id}"), Some(&c1.access)).await.expect(200).body;
    assert_eq!(
        (seen["certificates"][0]["status"].clone(), seen["certificates"][0]["verified"].clone()),
        (json!("revoked"), json!(false))
    );
    let r = app.post("/api/v1/affairs", Some(&student.access), &apply(&mine)).await.expect(400);
    assert_eq!(r.body["errors"][0]["code"], "certificate_not_valid");
}
db_test!(certificates_as_materials, certificates_as_materials_are_checked_and_shown_verified);

/// The PDF: Chinese body and number as text, a QR code to the verification page, the signed JSON
/// inside (checked by `tongban verify` offline), drawn as of now; the public page agrees.
async fn pdf_qr_and_the_verification_page(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let student = app.login("student1").await;
    let other = app.login("student2").await;
    let holder = app.user_id(&it, "student1").await;
    let ty = xgc_type(app, &xgc, "status").await;
    let c = issue(app, &xgc, &ty["id"], &holder, "用于办理签证").await;
    let (cid, code, number) = (s(&c["id"]).to_owned(), s(&c["verify_code"]).to_owned(), s(&c["number"]).to_owned());

    let url = format!("/api/v1/certificates/{cid}/pdf");
    let (status, headers, pdf) = app.get_bytes(&url, Some(&student.access)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").and_then(|h| h.to_str().ok()), Some("application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(app.get_bytes(&url, Some(&other.access)).await.0, 404, "not another student's");
    assert_eq!(app.get_bytes(&url, Some(&xgc.access)).await.0, 200, "the issuing department's");
    assert_eq!(app.get_bytes(&url, None).await.0, 401);

    let dir = app.state.settings.data_dir.join("pdf-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join(format!("{number}.pdf"));
    std::fs::write(&file, &pdf).expect("write");
    let text = squeeze(&pdf_text(&file));
    assert!(text.contains("兹证明林同学（学号2024010101）系我校学生，用于办理签证。"), "{text}");
    assert!(text.contains(&number), "{text}");
    assert!(text.contains("学籍证明") && text.contains("学生工作处"), "{text}");
    assert!(!text.contains("已撤销"), "a valid certificate carries no mark");
    assert_eq!(pdf_qr_codes(&file), vec![s(&c["verify_url"]).to_owned()]);

    // Offline: the PDF verifies with the published keys; a PDF whose attachment was altered does not.
    let keys = app.get("/.well-known/tongban-keys.json", None).await.expect(200).body;
    let jwks = dir.join("keys.json");
    std::fs::write(&jwks, serde_json::to_vec(&keys).expect("json")).expect("write");
    let verify = |f: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
            .args(["verify", f.to_str().expect("path"), "--keys", jwks.to_str().expect("path")])
            .output()
            .expect("run tongban")
    };
    let out = verify(&file);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&number));
    let json = tongban_server::pdf::read::certificate(&pdf).expect("attached");
    let mut doc: Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(doc["certificate"]["number"], number.as_str());
    doc["certificate"]["body"] = json!("兹证明林同学系我校毕业生。");
    let forged = dir.join("forged.json");
    std::fs::write(&forged, serde_json::to_vec(&doc).expect("json")).expect("write");
    assert_eq!(verify(&forged).status.code(), Some(1));
    let not_ours = dir.join("plain.pdf");
    std::fs::write(&not_ours, b"%PDF-1.7\n%%EOF\n").expect("write");
    let out = verify(&not_ours);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("INVALID"));

    // The page the QR code opens: status, number, the name masked, nothing more.
    let (status, headers, page) = app.get_bytes(&format!("/verify/{code}"), None).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-type").and_then(|h| h.to_str().ok()).is_some_and(|t| t.starts_with("text/html")));
    let page = String::from_utf8(page).expect("utf-8");
    assert!(page.contains("data-status=\"valid\"") && page.contains(&number) && page.contains("林**"), "{page}");
    assert!(!page.contains("林同学") && !page.contains("2024010101") && !page.contains("签证"), "{page}");
    let (status, _, page) = app.get_bytes("/verify/no-such-code-000000", None).await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&page).contains("data-status=\"missing\""));
    let plain = awc::Client::builder().disable_redirects().finish();
    let res = plain.get(app.url("/verify?code=abc%2F1")).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers().get("location").and_then(|h| h.to_str().ok()), Some("/verify/abc%2F1"));

    // Revoked: the page and a fresh PDF say so.
    app.post(
        &format!("/api/v1/certificates/{cid}/revoke"),
        Some(&xgc.access),
        &json!({ "reason": "信息有误", "version": 1 }),
    )
    .await
    .expect(200);
    let page = String::from_utf8(app.get_bytes(&format!("/verify/{code}"), None).await.2).expect("utf-8");
    assert!(page.contains("data-status=\"revoked\"") && page.contains("信息有误"), "{page}");
    let (_, _, pdf) = app.get_bytes(&url, Some(&student.access)).await;
    let file = dir.join("revoked.pdf");
    std::fs::write(&file, &pdf).expect("write");
    assert!(squeeze(&pdf_text(&file)).contains("已撤销"));
}
db_test!(certificate_pdf, pdf_qr_and_the_verification_page);

/// An 8×8 red PNG.
const SEAL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x06, 0x00, 0x00, 0x00, 0xc4, 0x0f, 0xbe, 0x8b, 0x00, 0x00, 0x00, 0x12, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x21, 0xa0, 0xf7, 0x1f, 0x1f, 0x66, 0x18, 0x19, 0x0a, 0x00, 0x91, 0x86,
    0x81, 0x41, 0xb0, 0xce, 0x87, 0x15, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// How many images a PDF places, by poppler's `pdfimages -list`.
fn images_in(path: &std::path::Path) -> usize {
    let out =
        std::process::Command::new("pdfimages").arg("-list").arg(path).output().expect("pdfimages (poppler-utils)");
    assert!(out.status.success());
    // Two header lines, then one line per image.
    String::from_utf8_lossy(&out.stdout).lines().count().saturating_sub(2)
}

fn seal_upload(filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tongbanSealBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A department's seal image replaces the drawn seal; only its issuers set it, only PNGs, and a
/// client cannot point the layout at another object.
async fn seal_images_are_uploaded_by_the_department(app: &TestApp) {
    let it = app.login("it_admin").await;
    let xgc = app.login("xgc_admin").await;
    let jwc = app.login("jwc_admin").await;
    let student = app.login("student1").await;
    let holder = app.user_id(&it, "student1").await;
    let ty = xgc_type(app, &xgc, "status").await;
    let tid = s(&ty["id"]).to_owned();
    let url = format!("/api/v1/certificate-types/{tid}/seal");

    let (ct, body) = seal_upload("seal.png", SEAL_PNG);
    app.post_raw_method(awc::http::Method::PUT, &url, Some(&jwc.access), &ct, body.clone()).await.expect(404);
    app.post_raw_method(awc::http::Method::PUT, &url, Some(&student.access), &ct, body.clone()).await.expect(404);
    let (ct2, text) = seal_upload("seal.png", b"not an image at all");
    let r = app.post_raw_method(awc::http::Method::PUT, &url, Some(&xgc.access), &ct2, text).await;
    assert_eq!(r.status.as_u16(), 415, "{}", r.body);
    let t = app.post_raw_method(awc::http::Method::PUT, &url, Some(&xgc.access), &ct, body).await.expect(200).body;
    let key = s(&t["layout"]["seal_key"]).to_owned();
    assert!(key.starts_with("seals/"), "{key}");

    // A type update cannot aim the seal elsewhere; the uploaded one stays.
    let mut update = type_body("status", &t["department_id"], s(&t["template"]));
    update["layout"] = json!({ "paper": "A4", "seal_key": "attachments/2026/12/someone-elses" });
    update["version"] = t["version"].clone();
    let u = app.put(&format!("/api/v1/certificate-types/{tid}"), Some(&xgc.access), &update).await.expect(200).body;
    assert_eq!(u["layout"]["seal_key"], key.as_str());

    let c = issue(app, &xgc, &ty["id"], &holder, "用于实习").await;
    let dir = app.state.settings.data_dir.join("seal-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let pdf_url = format!("/api/v1/certificates/{}/pdf", s(&c["id"]));
    let with_seal = dir.join("with.pdf");
    std::fs::write(&with_seal, app.get_bytes(&pdf_url, Some(&student.access)).await.2).expect("write");
    assert_eq!(images_in(&with_seal), 1, "the seal image is placed");

    let t = app.delete(&url, Some(&xgc.access)).await.expect(200).body;
    assert!(t["layout"].get("seal_key").is_none());
    let drawn = dir.join("drawn.pdf");
    std::fs::write(&drawn, app.get_bytes(&pdf_url, Some(&student.access)).await.2).expect("write");
    assert_eq!(images_in(&drawn), 0, "the drawn seal is vector art");
    assert!(squeeze(&pdf_text(&drawn)).contains("电子证照专用"));
}
db_test!(certificate_seal, seal_images_are_uploaded_by_the_department);
