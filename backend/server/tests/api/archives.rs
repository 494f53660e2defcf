//! Archives (#5, 第十二条): a finished affair becomes a package (summary PDF, files, certificates,
//! audit excerpt, manifest with SHA-256) readable by those who read the department's affairs, and
//! bulk exports by department and date gather packages with an index.

use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db_test;
use crate::helpers::{TestApp, Tokens, complete_enrolment, pdf_text, squeeze};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// 在读证明 applied for with a supporting document, approved by the counsellor and 学生工作处,
/// completed (certificate issued); returns the affair.
async fn completed_enrolment(app: &TestApp, student: &Tokens) -> Value {
    let letter = b"%PDF-1.4\n% invitation letter\n1 0 obj << >> endobj\n%%EOF\n".to_vec();
    let file = crate::applying::upload(app, student, "invitation.pdf", &letter).await;
    let form = json!({ "purpose": "visa", "copies": 1, "language": "zh", "supporting_documents": [file] });
    complete_enrolment(app, student, form).await
}

fn entries(zip_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a ZIP");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read entry");
            (f.name().expect("UTF-8 name").into_owned(), data)
        })
        .collect()
}

fn find<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &entries.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} in the package")).1
}

/// Every file but the manifest is in the manifest with its size and SHA-256, and nothing else is.
fn check_manifest(entries: &[(String, Vec<u8>)]) -> Value {
    let manifest: Value = serde_json::from_slice(find(entries, "manifest.json")).expect("manifest");
    let listed = manifest["files"].as_array().expect("files");
    assert_eq!(listed.len(), entries.len() - 1);
    for (name, data) in entries.iter().filter(|(n, _)| n != "manifest.json") {
        let m = listed.iter().find(|f| f["path"] == name.as_str()).unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(m["size"], data.len(), "{name}");
        assert_eq!(m["sha256"], hex::encode(Sha256::digest(data)), "{name}");
    }
    manifest
}

async fn wait_for_archive(app: &TestApp, who: &Tokens, dept: &str, number: &str) -> Value {
    for _ in 0..150 {
        let list = app.get(&format!("/api/v1/archives?department_id={dept}"), Some(&who.access)).await.expect(200).body;
        if let Some(a) = list["items"].as_array().expect("items").iter().find(|a| a["affair_number"] == number) {
            return a.clone();
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no archive for {number}");
}

async fn finished_affairs_are_archived(app: &TestApp) {
    let student = app.login("student1").await;
    let xgc = app.login("xgc_admin").await;
    let counsellor = app.login("counsellor1").await;
    let dept = app.department("xgc").await;
    let dept_id = s(&dept["id"]).to_owned();

    // Not ended: no package.
    let running = app
        .post(
            "/api/v1/affairs",
            Some(&student.access),
            &json!({ "process_key": "enrolment_certificate",
                     "form": { "purpose": "internship", "copies": 1, "language": "zh" } }),
        )
        .await
        .expect(201)
        .body;
    let r = app.get(&format!("/api/v1/affairs/{}/archive", s(&running["id"])), Some(&xgc.access)).await;
    assert_eq!(r.expect(422).code(), "rule_violation");

    let a = completed_enrolment(app, &student).await;
    let (id, number) = (s(&a["id"]).to_owned(), s(&a["number"]).to_owned());
    // The job packs it; 学生工作处 sees it in its list.
    let listed = wait_for_archive(app, &xgc, &dept_id, &number).await;
    assert_eq!(listed["outcome"], "completed");

    let url = format!("/api/v1/affairs/{id}/archive");
    let (status, headers, zip_bytes) = app.get_bytes(&url, Some(&xgc.access)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").and_then(|h| h.to_str().ok()), Some("application/zip"));
    assert_eq!(listed["sha256"], hex::encode(Sha256::digest(&zip_bytes)), "the package is the one recorded");
    assert_eq!(listed["size"], zip_bytes.len());
    let files = entries(&zip_bytes);
    let manifest = check_manifest(&files);
    assert_eq!(manifest["affair"]["number"], number.as_str());
    assert_eq!(listed["file_count"], files.len());
    // The uploaded material, byte for byte.
    let letter = files.iter().find(|(n, _)| n.starts_with("files/supporting_documents/")).expect("the material");
    assert!(letter.0.ends_with("invitation.pdf"));
    assert!(letter.1.starts_with(b"%PDF-1.4\n% invitation letter"));
    // The certificate issued on completion, signed.
    let cert = files.iter().find(|(n, _)| n.starts_with("certificates/ZM")).expect("the certificate");
    let doc: Value = serde_json::from_slice(&cert.1).expect("json");
    app.state.signing.verify(&doc).expect("the archived certificate verifies");
    // The audit excerpt names the affair's reads and the hash of each record.
    let audit: Value = serde_json::from_slice(find(&files, "audit.json")).expect("audit");
    let audit = audit.as_array().expect("records");
    assert!(audit.iter().any(|r| r["action"] == "affair.read" && r["object_id"] == id.as_str()), "{audit:?}");
    assert!(audit.iter().all(|r| r["hash"].as_str().is_some_and(|h| h.len() == 64)));
    let affair: Value = serde_json::from_slice(find(&files, "affair.json")).expect("affair");
    assert_eq!(affair["form"]["purpose"], "visa");
    // The summary PDF: number, the form in words, every opinion.
    let dir = app.state.settings.data_dir.join("archive-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let pdf = dir.join("summary.pdf");
    std::fs::write(&pdf, find(&files, "summary.pdf")).expect("write");
    let text = squeeze(&pdf_text(&pdf));
    for want in [
        "办件归档表",
        number.as_str(),
        "出国/签证",
        "counsellor1同意",
        "xgc_admin同意",
        "invitation.pdf",
        "办结（通过）",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }

    // Who may read it: the department's affair readers, not the applicant or a handler.
    assert_eq!(app.get_bytes(&url, Some(&student.access)).await.0, 403);
    assert_eq!(app.get_bytes(&url, Some(&counsellor.access)).await.0, 403);
    let other_dept = app.login("jwc_admin").await;
    assert_eq!(app.get_bytes(&url, Some(&other_dept.access)).await.0, 404);
    app.get(&format!("/api/v1/archives?department_id={dept_id}"), Some(&other_dept.access)).await.expect(403);
    app.get("/api/v1/archives?from=2026-12-02&to=2026-12-01", Some(&xgc.access)).await.expect(400);
    // A second download is the same package (made once).
    let (_, _, again) = app.get_bytes(&url, Some(&xgc.access)).await;
    assert_eq!(again, zip_bytes);
}
db_test!(archive_package, finished_affairs_are_archived);

async fn exports_gather_packages_by_department_and_date(app: &TestApp) {
    let student = app.login("student1").await;
    let xgc = app.login("xgc_admin").await;
    let it = app.login("it_admin").await;
    let dept = app.department("xgc").await;
    let a = completed_enrolment(app, &student).await;
    let number = s(&a["number"]).to_owned();
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let yesterday = today - chrono::TimeDelta::days(1);

    // Bad input changes nothing.
    let bad = json!({ "department_id": dept["id"], "from": today, "to": yesterday });
    app.post("/api/v1/archives/exports", Some(&xgc.access), &bad).await.expect(400);
    let too_long = json!({ "department_id": dept["id"], "from": "2024-01-01", "to": "2025-12-31" });
    app.post("/api/v1/archives/exports", Some(&xgc.access), &too_long).await.expect(400);
    let req = json!({ "department_id": dept["id"], "from": yesterday, "to": today });
    app.post("/api/v1/archives/exports", Some(&student.access), &req).await.expect(403);
    // All departments: only for those who read all affairs.
    let all = json!({ "from": yesterday, "to": today });
    app.post("/api/v1/archives/exports", Some(&xgc.access), &all).await.expect(403);
    app.post("/api/v1/archives/exports", Some(&it.access), &all).await.expect(202);

    let e = app.post("/api/v1/archives/exports", Some(&xgc.access), &req).await.expect(202).body;
    let eid = s(&e["id"]).to_owned();
    let mut done = Value::Null;
    for _ in 0..200 {
        let v = app.get(&format!("/api/v1/archives/exports/{eid}"), Some(&xgc.access)).await.expect(200).body;
        if v["status"] == "done" || v["status"] == "failed" {
            done = v;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["archive_count"], 1);
    // Only the one who asked sees and downloads it.
    app.get(&format!("/api/v1/archives/exports/{eid}"), Some(&it.access)).await.expect(404);
    let url = format!("/api/v1/archives/exports/{eid}/download");
    assert_eq!(app.get_bytes(&url, Some(&it.access)).await.0, 404);
    let (status, _, zip_bytes) = app.get_bytes(&url, Some(&xgc.access)).await;
    assert_eq!(status, 200);
    assert_eq!(done["sha256"], hex::encode(Sha256::digest(&zip_bytes)));
    let files = entries(&zip_bytes);
    let manifest = check_manifest(&files);
    let index = manifest["archives"].as_array().expect("index");
    assert_eq!(index.len(), 1);
    assert_eq!(index[0]["affair_number"], number.as_str());
    // Each package inside is itself whole.
    let inner = find(&files, &format!("archives/{number}.zip"));
    assert_eq!(index[0]["sha256"], hex::encode(Sha256::digest(inner)));
    check_manifest(&entries(inner));
    let mine = app.get("/api/v1/archives/exports", Some(&xgc.access)).await.expect(200).body;
    assert_eq!(mine.as_array().expect("list").len(), 1);
}
db_test!(archive_export, exports_gather_packages_by_department_and_date);
