//! Scale-out: two server instances on one database under concurrent load. Applications arrive
//! through both; every approval is sent to both instances at the same moment; the automatic
//! certificate step, the archive packages and the notifications run on both instances' job
//! runners. Nothing may be handled twice (one approval per task wins, one certificate and one
//! archive per affair, one "completed" notification) and nothing lost (every affair completes).

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::applying::{enrolment_form, enrolment_with_materials};
use crate::db_test;
use crate::helpers::{TestApp, Tokens};

const PER_STUDENT: usize = 8;

/// The same API on another instance: `app` with another base URL.
async fn pending_task(app: &TestApp, who: &Tokens, affair: &str) -> Option<String> {
    let a = app.get(&format!("/api/v1/affairs/{affair}"), Some(&who.access)).await.expect(200).body;
    a["tasks"].as_array()?.iter().find(|t| t["status"] == "pending").and_then(|t| t["id"].as_str()).map(str::to_owned)
}

async fn two_instances_handle_each_thing_once_under_load(app: &TestApp) {
    enrolment_with_materials(app).await;
    let (other, handle) = app.second_instance().await;
    let instances = [app, &other];

    // Submissions, all at once, alternating between the instances.
    let students = [
        ("student1", app.login("student1").await, "counsellor1"),
        ("student2", app.login("student2").await, "counsellor2"),
    ];
    let submissions = (0..PER_STUDENT * 2).map(|i| {
        let (_, who, _) = &students[i % 2];
        let via = instances[(i / 2) % 2];
        let body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[]) });
        async move { (i % 2, via.post("/api/v1/affairs", Some(&who.access), &body).await.expect(201).body) }
    });
    let affairs: Vec<(usize, Value)> = join_all(submissions).await;
    assert_eq!(affairs.len(), PER_STUDENT * 2, "nothing lost on submission");

    // Each step: the handler approves every pending task through both instances at once.
    let xgc = app.login("xgc_admin").await;
    let counsellors: HashMap<usize, Tokens> =
        HashMap::from([(0, app.login(students[0].2).await), (1, app.login(students[1].2).await)]);
    for step in ["counsellor", "xgc_review"] {
        let mut races = Vec::new();
        for (s, a) in &affairs {
            let who = if step == "counsellor" { &counsellors[s] } else { &xgc };
            let id = a["id"].as_str().expect("id");
            let task = pending_task(app, who, id).await.unwrap_or_else(|| panic!("{step}: no pending task on {id}"));
            for via in instances {
                let path = format!("/api/v1/tasks/{task}/actions");
                let body = json!({ "action": "approve", "comment": format!("{step} 同意") });
                let task = task.clone();
                races.push(async move { (task, via.post(&path, Some(&who.access), &body).await) });
            }
        }
        let mut wins: HashMap<String, usize> = HashMap::new();
        for (task, r) in join_all(races).await {
            let status = r.status.as_u16();
            assert!(status < 500, "{step}: {status} {}", r.body);
            if status == 200 {
                *wins.entry(task).or_default() += 1;
            } else {
                assert!(
                    matches!(status, 409 | 422),
                    "{step}: the losing approval is a conflict, not {status} {}",
                    r.body
                );
            }
        }
        assert_eq!(wins.len(), affairs.len(), "{step}: every task approved: {wins:?}");
        assert!(wins.values().all(|n| *n == 1), "{step}: each task approved exactly once: {wins:?}");
    }

    // The certificate step and archiving run on whichever job runner takes them; wait (bounded).
    let ids: Vec<String> = affairs.iter().map(|(_, a)| a["id"].as_str().expect("id").to_owned()).collect();
    let mut done = 0;
    for _ in 0..200 {
        let jobs = tongban_server::entity::job::Entity::find().all(app.state.db.conn()).await.expect("jobs");
        let finished = jobs.iter().filter(|j| j.done_at.is_some()).count();
        done = 0;
        for (s, a) in &affairs {
            let who = &students[*s].1;
            let v = app
                .get(&format!("/api/v1/affairs/{}", a["id"].as_str().expect("id")), Some(&who.access))
                .await
                .expect(200)
                .body;
            if v["status"] == "completed" {
                done += 1;
            }
        }
        if done == ids.len() && finished == jobs.len() && jobs.len() >= ids.len() * 2 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    handle.stop(true).await;
    assert_eq!(done, ids.len(), "every affair completed");

    let jobs = tongban_server::entity::job::Entity::find().all(app.state.db.conn()).await.expect("jobs");
    assert!(
        jobs.iter().all(|j| j.done_at.is_some() && j.attempts == 1),
        "each job ran exactly once: {:?}",
        jobs.iter().map(|j| (&j.kind, j.attempts, j.done_at.is_some(), &j.last_error)).collect::<Vec<_>>()
    );
    let certificates =
        tongban_server::entity::certificate::Entity::find().all(app.state.db.conn()).await.expect("certificates");
    let archives = tongban_server::entity::archive::Entity::find().all(app.state.db.conn()).await.expect("archives");
    let notifications =
        tongban_server::entity::notification::Entity::find().all(app.state.db.conn()).await.expect("notifications");
    for id in &ids {
        let certs = certificates.iter().filter(|c| c.affair_id.map(|a| a.to_string()).as_deref() == Some(id)).count();
        assert_eq!(certs, 1, "one certificate for {id}");
        let packs = archives.iter().filter(|a| a.affair_id.to_string() == *id).count();
        assert_eq!(packs, 1, "one archive package for {id}");
        let completed = notifications
            .iter()
            .filter(|n| n.affair_id.map(|a| a.to_string()).as_deref() == Some(id) && n.kind == "finished")
            .count();
        assert_eq!(completed, 1, "one notice of the end for {id}");
    }
    for (s, a) in &affairs {
        let who = &students[*s].1;
        let v = app
            .get(&format!("/api/v1/affairs/{}", a["id"].as_str().expect("id")), Some(&who.access))
            .await
            .expect(200)
            .body;
        let approvals = v["history"].as_array().expect("history").iter().filter(|h| h["action"] == "approved").count();
        assert_eq!(approvals, 2, "two approvals in the history, no more: {}", v["history"]);
    }
}
db_test!(scale_out, two_instances_handle_each_thing_once_under_load);
