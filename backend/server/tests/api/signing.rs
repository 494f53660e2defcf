//! Certificate signing keys: the published key set, offline verification with `tongban verify`,
//! and rotation that keeps old certificates verifiable.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

fn tongban(app: &TestApp, args: &[&str]) -> std::process::Output {
    let s = &app.state.settings;
    std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .env("TONGBAN_DATABASE_URL", s.database_url())
        .env("TONGBAN_DATA_DIR", &s.data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tongban")
}

async fn keys_are_published_and_certificates_verify_offline(app: &TestApp) {
    let r = app.get("/.well-known/tongban-keys.json", None).await.expect(200);
    let keys = r.body["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0]["kty"].as_str(), keys[0]["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
    assert_eq!(keys[0]["status"], "active");
    assert!(keys[0].get("d").is_none(), "no private part is published");
    let kid = keys[0]["kid"].as_str().expect("kid").to_owned();

    let dir = app.state.settings.data_dir.join("verify-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks = dir.join("keys.json");
    std::fs::write(&jwks, serde_json::to_vec(&r.body).expect("json")).expect("write");
    let cert = json!({ "type": "enrolment_certificate", "number": "ZM2026000001", "holder": { "name": "林晓" },
                       "body": "兹证明林晓同学系我院在读学生。" });
    let Value::Object(cert) = cert else { unreachable!() };
    let doc = app.state.signing.sign(cert).expect("sign");
    assert_eq!(doc["certificate"]["kid"], kid.as_str());
    let good = dir.join("good.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let mut bad_doc = doc.clone();
    bad_doc["certificate"]["body"] = json!("兹证明林晓同学系我院毕业生。");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&bad_doc).expect("json")).expect("write");

    let (g, b) = (good.to_str().expect("path"), bad.to_str().expect("path"));
    let j = jwks.to_str().expect("path");
    let out = tongban(app, &["verify", g, "--keys", j]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ZM2026000001"));
    let out = tongban(app, &["verify", b, "--keys", j]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("INVALID"));

    // Rotation: a new active key; the old certificate still verifies with the server's keys.
    let out = tongban(app, &["keys", "rotate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = String::from_utf8_lossy(&tongban(app, &["keys", "list"]).stdout).to_string();
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.lines().any(|l| l.starts_with(&kid) && l.ends_with("retired")), "{list}");
    let out = tongban(app, &["verify", g]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
db_test!(signing_keys, keys_are_published_and_certificates_verify_offline);
