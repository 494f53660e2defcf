//! The object store against a real S3-compatible server (moto's server mode): files are stored,
//! read back byte for byte and deleted; refused files leave nothing behind.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tongban_server::config::{Settings, StorageBackend};
use tongban_server::services::storage::Storage;

/// moto's S3 server on a free port, killed on drop.
pub(crate) struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    pub(crate) async fn start(bucket: &str) -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let python = std::env::var("TONGBAN_TEST_PYTHON").expect(
            "TONGBAN_TEST_PYTHON must name a Python with moto[server] (make test sets it after scripts/test-peers.sh)",
        );
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let s = S3Server { child, port };
        let r = awc::Client::default().put(format!("{}/{bucket}", s.url())).send().await.expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        s
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Keys in the bucket.
    pub(crate) async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut r =
            awc::Client::default().get(format!("{}/{bucket}?list-type=2", self.url())).send().await.expect("list");
        let body = String::from_utf8(r.body().await.expect("body").to_vec()).expect("utf-8");
        body.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_owned).collect()
    }

    /// Point settings at the server at `url`.
    pub(crate) fn configure(s: &mut Settings, url: &str, bucket: &str) {
        s.storage.backend = StorageBackend::S3;
        s.storage.endpoint = Some(url.to_owned());
        s.storage.bucket = Some(bucket.to_owned());
        s.storage.allow_http = true;
        s.storage.access_key_id = Some("testing".into());
        s.storage.secret_access_key = Some("testing".to_owned().into());
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[actix_web::test]
async fn files_round_trip_through_an_s3_compatible_store() {
    let s3 = S3Server::start("tongban").await;
    let mut settings = Settings { max_json_bytes: 1024, ..Settings::default() };
    S3Server::configure(&mut settings, &s3.url(), "tongban");
    settings.storage.max_file_bytes = 1024;
    let store = Storage::from_settings(&settings).expect("store");
    assert_eq!(store.backend(), "s3");

    let put = store.put("affair_material", "在读证明.pdf", Bytes::from_static(PDF)).await.expect("put");
    assert_eq!(put.content_type, "application/pdf");
    assert_eq!(put.size, PDF.len() as i64);
    assert_eq!(put.sha256, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PDF)));
    assert_eq!(s3.keys("tongban").await, vec![put.key.clone()]);
    assert_eq!(store.get(&put.key).await.expect("get").as_ref(), PDF);

    // Refused files never reach the bucket.
    assert!(store.put("affair_material", "photo.pdf", Bytes::from_static(PNG)).await.is_err());
    assert!(store.put("affair_material", "../../x.pdf", Bytes::from_static(PDF)).await.is_err());
    assert!(store.put("affair_material", "big.pdf", Bytes::from(vec![b'%'; 2048])).await.is_err());
    assert_eq!(s3.keys("tongban").await.len(), 1);

    store.delete(&put.key).await.expect("delete");
    assert!(s3.keys("tongban").await.is_empty());
    assert!(store.get(&put.key).await.is_err(), "gone");
}

/// The same path through the API: with the server configured for S3, an application material is
/// uploaded into the bucket, downloaded byte for byte and deleted from it; refused uploads never
/// reach it.
async fn materials_live_in_the_s3_bucket(app: &crate::helpers::TestApp, s3: &S3Server, bucket: &str) {
    use crate::applying::{PDF, PNG, try_upload, upload};
    assert_eq!(app.state.storage.backend(), "s3");
    let student = app.login("student1").await;
    let id = upload(app, &student, "在读证明材料.pdf", PDF).await;
    let keys = s3.keys(bucket).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("materials/"), "{keys:?}");

    let mut r = app
        .client
        .get(format!("{}/api/v1/attachments/{id}", app.base))
        .bearer_auth(&student.access)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.body().await.expect("body").as_ref(), PDF);

    try_upload(app, &student, "photo.pdf", PNG).await.expect(415);
    try_upload(app, &student, "../../x.pdf", PDF).await.expect(400);
    assert_eq!(s3.keys(bucket).await.len(), 1, "refused uploads stored nothing");

    app.delete(&format!("/api/v1/attachments/{id}"), Some(&student.access)).await.expect(204);
    assert!(s3.keys(bucket).await.is_empty(), "deleted from the bucket");
}

mod s3_api {
    use super::*;

    async fn run(backend: crate::helpers::Backend, bucket: &'static str) {
        let s3 = S3Server::start(bucket).await;
        let url = s3.url();
        let tweak = move |s: &mut Settings| S3Server::configure(s, &url, bucket);
        let s3_ref = &s3;
        crate::helpers::run(backend, tweak, async move |app: &crate::helpers::TestApp| {
            materials_live_in_the_s3_bucket(app, s3_ref, bucket).await
        })
        .await;
    }

    #[actix_web::test]
    async fn on_sqlite() {
        run(crate::helpers::Backend::Sqlite, "tongban-sqlite").await;
    }

    #[actix_web::test]
    async fn on_postgres() {
        run(crate::helpers::Backend::Postgres, "tongban-postgres").await;
    }
}
