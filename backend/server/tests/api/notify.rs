//! Notifications beyond the list: the live SSE stream, e-mail through a real SMTP server
//! (aiosmtpd) and the signed push webhook, each delivered once.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::affairs::{leave_request, publish_leave};
use crate::db_test;
use crate::helpers::TestApp;

/// One server-sent event.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

type ByteStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>>>>;

struct SseReader {
    resp: ByteStream,
    buf: String,
}

impl SseReader {
    async fn open(app: &TestApp, token: &str, last_id: Option<&str>) -> SseReader {
        let mut req = app.client.get(format!("{}/api/v1/notifications/stream", app.base)).bearer_auth(token);
        if let Some(id) = last_id {
            req = req.insert_header(("Last-Event-ID", id));
        }
        let resp = req.send().await.expect("open stream");
        assert_eq!(resp.status().as_u16(), 200);
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        SseReader { resp: Box::pin(resp), buf: String::new() }
    }

    /// The next event (comments and `retry` lines skipped), or `None` when `wait` passes first.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if let Some(event) = event {
                    return Some(Sse { event, id, data: serde_json::from_str(&data).expect("event data is JSON") });
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.resp.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).expect("utf-8")),
                Ok(_) => panic!("the stream ended"),
                Err(_) => return None,
            }
        }
    }

    /// Events until one of `kind` arrives (panics after `wait`).
    async fn until(&mut self, kind: &str, wait: Duration) -> (Sse, Vec<Sse>) {
        let mut before = Vec::new();
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now()).expect("waited too long");
            let e = self.next(left).await.unwrap_or_else(|| panic!("no {kind} event; got {before:?}"));
            if e.event == "notification" && e.data["kind"] == kind {
                return (e, before);
            }
            before.push(e);
        }
    }
}

async fn a_new_task_reaches_the_handlers_live_stream_and_no_one_elses(app: &TestApp) {
    publish_leave(app, None).await;
    let c1 = app.login("counsellor1").await;
    let other = app.login("student2").await;
    let mut handler = SseReader::open(app, &c1.access, None).await;
    let mut bystander = SseReader::open(app, &other.access, None).await;
    let first = handler.next(Duration::from_secs(5)).await.expect("an unread count first");
    assert_eq!(first.event, "unread");
    let before = first.data["unread"].as_u64().expect("unread");
    assert_eq!(bystander.next(Duration::from_secs(5)).await.expect("unread").event, "unread");

    let student = app.login("student1").await;
    let affair = app.post("/api/v1/affairs", Some(&student.access), &leave_request()).await.expect(201).body;
    let (n, _) = handler.until("task_created", Duration::from_secs(20)).await;
    assert_eq!(n.data["affair_id"], affair["id"]);
    assert!(n.data["title"].as_str().expect("title").starts_with("新待办"));
    assert_eq!(n.id.as_deref(), n.data["id"].as_str(), "the event id is the notification id");
    let count = handler.next(Duration::from_secs(5)).await.expect("a fresh count");
    assert_eq!(count.event, "unread");
    assert_eq!(count.data["unread"].as_u64(), Some(before + 1));

    // The other student's stream carried nothing of it.
    while let Some(e) = bystander.next(Duration::from_millis(1500)).await {
        assert_ne!(e.event, "notification", "{e:?}");
    }

    // A reconnect with Last-Event-ID replays what came after it, and nothing before.
    let student_tokens = student;
    let affair2 = app.post("/api/v1/affairs", Some(&student_tokens.access), &leave_request()).await.expect(201).body;
    let (n2, _) = handler.until("task_created", Duration::from_secs(20)).await;
    assert_eq!(n2.data["affair_id"], affair2["id"]);
    let mut again = SseReader::open(app, &c1.access, n.id.as_deref()).await;
    let replay = again.next(Duration::from_secs(5)).await.expect("replay");
    assert_eq!(replay.event, "notification");
    assert_eq!(replay.data["id"], n2.data["id"]);

    // The badge endpoints agree, and read-all clears it.
    let s = app.get("/api/v1/notifications/summary", Some(&c1.access)).await.expect(200).body;
    assert_eq!(s["unread"].as_u64(), Some(before + 2));
    let s = app.post("/api/v1/notifications/read-all", Some(&c1.access), &json!({})).await.expect(200).body;
    assert_eq!(s["unread"], 0);
    app.get("/api/v1/notifications/stream", None).await.expect(401);
}

db_test!(live_stream, a_new_task_reaches_the_handlers_live_stream_and_no_one_elses);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn python() -> String {
    std::env::var("TONGBAN_TEST_PYTHON").expect(
        "TONGBAN_TEST_PYTHON must name a Python with aiosmtpd and moto (make test sets it after scripts/test-peers.sh)",
    )
}

/// A real SMTP server writing what it receives to a Maildir.
pub(crate) struct SmtpSink {
    child: Child,
    pub(crate) port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    pub(crate) fn start() -> SmtpSink {
        let port = free_port();
        let maildir = std::env::temp_dir().join(format!("tongban-mail-{}", uuid::Uuid::now_v7().simple()));
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        wait_for_port(port);
        SmtpSink { child, port, maildir }
    }

    /// The messages received so far, raw.
    pub(crate) fn messages(&self) -> Vec<String> {
        let dir = self.maildir.join("new");
        let Ok(rd) = std::fs::read_dir(&dir) else { return Vec::new() };
        rd.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Decode RFC 2047 encoded words (`=?utf-8?b?…?=`) as lettre writes them.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    for part in s.split_whitespace() {
        let lower = part.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && part.ends_with("?=") {
            let b = base64::engine::general_purpose::STANDARD.decode(&part[10..part.len() - 2]).expect("base64");
            out.push_str(&String::from_utf8(b).expect("utf-8"));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Subject (decoded) and body (decoded) of a raw message.
pub(crate) fn parse_mail(raw: &str) -> (String, String, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").expect("headers and body");
    // Unfold continuation lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header =
        |name: &str| head.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned())).unwrap_or_default();
    let subject = decode_words(&header("Subject:"));
    let to = header("To:");
    let body = if header("Content-Transfer-Encoding:").eq_ignore_ascii_case("base64") {
        let b =
            base64::engine::general_purpose::STANDARD.decode(body.split_whitespace().collect::<String>()).expect("b64");
        String::from_utf8(b).expect("utf-8")
    } else if header("Content-Transfer-Encoding:").eq_ignore_ascii_case("quoted-printable") {
        panic!("quoted-printable body not expected for Chinese text: {body}")
    } else {
        body.to_owned()
    };
    (subject, to, body)
}

pub(crate) async fn wait_until<F: Fn() -> bool>(what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the push receiver got: headers of interest and the body.
pub(crate) type Received = Arc<Mutex<Vec<(actix_web::http::header::HeaderMap, String)>>>;

/// A push receiver; with `fail_first` it answers the first attempt of every delivery with 503 and
/// later ones with 200, otherwise always 200.
pub(crate) fn start_receiver(fail_first: bool) -> (u16, Received, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || {
        let g = g.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: String| {
            let g = g.clone();
            async move {
                let mut v = g.lock().expect("lock");
                let id = req.headers().get("x-tongban-delivery").cloned();
                let first = !v.iter().any(|(h, _)| h.get("x-tongban-delivery") == id.as_ref());
                v.push((req.headers().clone(), body));
                if first && fail_first {
                    HttpResponse::ServiceUnavailable().finish()
                } else {
                    HttpResponse::Ok().finish()
                }
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (port, got, handle)
}

const PUSH_SECRET: &str = "push-secret-for-tests-0123456789";

async fn mail_and_push_are_delivered_once_each_and_retried_on_failure(app: &TestApp, sink: &SmtpSink, got: &Received) {
    publish_leave(app, None).await;
    let student = app.login("student1").await;
    let affair = app.post("/api/v1/affairs", Some(&student.access), &leave_request()).await.expect(201).body;
    let affair_id = affair["id"].as_str().expect("id").to_owned();

    // The counsellor's new-task mail arrives through the real SMTP server.
    wait_until("the new-task mail", || sink.messages().iter().any(|m| m.contains("counsellor1@"))).await;
    let mails: Vec<_> = sink.messages().into_iter().filter(|m| m.contains("counsellor1@")).collect();
    let (subject, to, body) = parse_mail(&mails[0]);
    assert!(subject.starts_with("新待办："), "{subject}");
    assert!(to.contains("counsellor1@demo.tongban.edu.cn"), "{to}");
    assert!(body.contains(&format!("/affairs/{affair_id}")), "{body}");

    // The applicant gets the acknowledgement (受理回执) with the affair number.
    wait_until("the acknowledgement", || sink.messages().iter().any(|m| m.contains("student1@"))).await;
    let ack = sink.messages().into_iter().find(|m| m.contains("student1@")).expect("ack");
    let (subject, _, body) = parse_mail(&ack);
    assert!(subject.starts_with("已提交："), "{subject}");
    assert!(body.contains(affair["number"].as_str().expect("number")), "{body}");

    // The push receiver failed the first attempt; the retry carries the same delivery id and a
    // valid signature, and the mail is not sent a second time.
    let c1_id = app.user_id(&app.login("it_admin").await, "counsellor1").await;
    let for_c1 = |v: &Vec<(actix_web::http::header::HeaderMap, String)>| {
        v.iter()
            .filter(|(_, b)| {
                serde_json::from_str::<Value>(b).map(|j| j["user"]["id"] == c1_id.as_str()).unwrap_or(false)
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    wait_until("the first push attempt", || !for_c1(&got.lock().expect("lock")).is_empty()).await;
    // Make the backed-off notification due again instead of waiting out the back-off.
    use sea_orm::{ConnectionTrait, Statement};
    let conn = app.state.db.conn();
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        "UPDATE notifications SET delivery_locked_until = NULL WHERE delivered_at IS NULL AND delivery_attempts > 0",
    ))
    .await
    .expect("update");
    wait_until("the retried push", || for_c1(&got.lock().expect("lock")).len() >= 2).await;
    let pushes = for_c1(&got.lock().expect("lock"));
    let (h1, _) = &pushes[0];
    let (h2, b2) = &pushes[1];
    let hv = |h: &actix_web::http::header::HeaderMap, k: &str| {
        h.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
    };
    assert_eq!(hv(h1, "x-tongban-delivery"), hv(h2, "x-tongban-delivery"), "the same notification retried");
    assert_eq!(hv(h2, "x-tongban-event"), "notification.task_created");
    let ts: i64 = hv(h2, "x-tongban-timestamp").parse().expect("timestamp");
    assert_eq!(
        hv(h2, "x-tongban-signature"),
        tongban_server::services::delivery::signature(PUSH_SECRET.as_bytes(), ts, b2.as_bytes())
    );
    let j: Value = serde_json::from_str(b2).expect("json");
    assert_eq!(j["affair_id"], affair_id.as_str());
    assert_eq!(j["kind"], "task_created");
    // A forged body would not match the signature.
    assert_ne!(
        hv(h2, "x-tongban-signature"),
        tongban_server::services::delivery::signature(
            PUSH_SECRET.as_bytes(),
            ts,
            b2.replace("task_created", "finished").as_bytes()
        )
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = sink.messages().into_iter().filter(|m| m.contains("counsellor1@")).count();
    assert_eq!(mails, 1, "the mail went once although the push was retried");
}

mod delivery {
    use super::*;

    async fn run(backend: crate::helpers::Backend) {
        let sink = SmtpSink::start();
        let (push_port, got, receiver) = start_receiver(true);
        let smtp_port = sink.port;
        let tweak = move |s: &mut tongban_server::config::Settings| {
            s.smtp.host = Some("127.0.0.1".into());
            s.smtp.port = smtp_port;
            s.smtp.security = tongban_server::config::SmtpSecurity::None;
            s.push.url = Some(format!("http://127.0.0.1:{push_port}/push"));
            s.push.secret = Some(PUSH_SECRET.to_owned().into());
        };
        let sink_ref = &sink;
        let got_ref = &got;
        crate::helpers::run(backend, tweak, async move |app: &TestApp| {
            mail_and_push_are_delivered_once_each_and_retried_on_failure(app, sink_ref, got_ref).await
        })
        .await;
        receiver.stop(false).await;
    }

    #[actix_web::test]
    async fn on_sqlite() {
        run(crate::helpers::Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn on_postgres() {
        run(crate::helpers::Backend::Postgres).await;
    }
}

/// Several deliverers at once (the instance's own worker plus four more, as other instances would
/// be) send each notification exactly once.
async fn concurrent_deliverers_send_each_notification_once(app: &TestApp, got: &Received) {
    use tongban_server::services::{delivery, notifications};
    let users: Vec<uuid::Uuid> = {
        let admin = app.login("it_admin").await;
        let mut v = Vec::new();
        for name in ["student1", "student2", "counsellor1", "counsellor2"] {
            v.push(app.user_id(&admin, name).await.parse().expect("uuid"));
        }
        v
    };
    let txn = app.state.db.write().await.expect("write");
    for i in 0..10 {
        notifications::send(&*txn, users.clone(), "urge", &format!("催办 {i}"), "正文", None, None)
            .await
            .expect("send");
    }
    txn.commit().await.expect("commit");
    let channels = Arc::new(delivery::Channels::from_settings(&app.state.settings).expect("channels").expect("some"));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let st = app.state.clone();
        let ch = channels.clone();
        workers
            .push(actix_web::rt::spawn(async move { while delivery::run_once(&st, &ch).await.expect("run") > 0 {} }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let urges = |v: &Vec<(actix_web::http::header::HeaderMap, String)>| {
        v.iter()
            .filter(|(h, _)| h.get("x-tongban-event").and_then(|x| x.to_str().ok()) == Some("notification.urge"))
            .filter_map(|(h, _)| h.get("x-tongban-delivery").and_then(|x| x.to_str().ok()).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    wait_until("forty pushes", || urges(&got.lock().expect("lock")).len() >= 40).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ids = urges(&got.lock().expect("lock"));
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), 40, "each of the 40 notifications pushed once");
    assert_eq!(distinct.len(), 40);
}

mod concurrent_delivery {
    use super::*;

    async fn run(backend: crate::helpers::Backend) {
        let (push_port, got, receiver) = start_receiver(false);
        let tweak = move |s: &mut tongban_server::config::Settings| {
            s.push.url = Some(format!("http://127.0.0.1:{push_port}/push"));
            s.push.secret = Some(PUSH_SECRET.to_owned().into());
        };
        let got_ref = &got;
        crate::helpers::run(backend, tweak, async move |app: &TestApp| {
            concurrent_deliverers_send_each_notification_once(app, got_ref).await
        })
        .await;
        receiver.stop(false).await;
    }

    #[actix_web::test]
    async fn on_sqlite() {
        run(crate::helpers::Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn on_postgres() {
        run(crate::helpers::Backend::Postgres).await;
    }
}

/// Two server instances on one PostgreSQL: a notification written through one reaches the user's
/// live stream on the other.
async fn a_notification_written_by_one_instance_reaches_a_stream_on_another(app: &TestApp) {
    let mut settings = (*app.state.settings).clone();
    settings.listen = "127.0.0.1:0".into();
    let second = tongban_server::startup::Application::build(settings).await.expect("second instance");
    let port = second.port();
    let state = second.state.clone();
    let server = second.into_server();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let other = TestApp { base: format!("http://127.0.0.1:{port}"), state: state.clone(), client: app.client.clone() };

    publish_leave(app, None).await;
    let c1 = app.login("counsellor1").await;
    let mut stream = SseReader::open(&other, &c1.access, None).await;
    assert_eq!(stream.next(Duration::from_secs(5)).await.expect("unread").event, "unread");
    let student = app.login("student1").await;
    let affair = app.post("/api/v1/affairs", Some(&student.access), &leave_request()).await.expect(201).body;
    let (n, _) = stream.until("task_created", Duration::from_secs(20)).await;
    assert_eq!(n.data["affair_id"], affair["id"]);

    state.live.close();
    handle.stop(true).await;
}

mod across_instances {
    #[actix_web::test]
    async fn on_postgres() {
        crate::helpers::run(
            crate::helpers::Backend::Postgres,
            |_: &mut tongban_server::config::Settings| {},
            super::a_notification_written_by_one_instance_reaches_a_stream_on_another,
        )
        .await
    }
}
