//! The tamper-evident audit trail: sealing into a hash chain, verification that finds edited,
//! deleted, re-linked and truncated records, exports for auditors, and archiving after the
//! retention period with the rest still verifiable.

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use tongban_server::audit::content_hash;
use tongban_server::audit_chain;
use tongban_server::entity::{audit_log, audit_seal};

use crate::db_test;
use crate::helpers::TestApp;

async fn seal(app: &TestApp) {
    audit_chain::seal(&app.state.db, &app.state.signing).await.expect("seal");
}

async fn report(app: &TestApp) -> Value {
    let auditor = app.login("auditor").await;
    seal(app).await;
    app.get("/api/v1/audit-logs/verify", Some(&auditor.access)).await.expect(200).body
}

fn kinds(r: &Value) -> Vec<String> {
    r["problems"].as_array().expect("problems").iter().filter_map(|p| p["kind"].as_str().map(str::to_owned)).collect()
}

async fn sealed(app: &TestApp) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::ChainPos.is_not_null())
        .order_by_asc(audit_log::Column::ChainPos)
        .all(app.state.db.conn())
        .await
        .expect("rows")
}

async fn tampering_with_the_audit_trail_is_found(app: &TestApp) {
    for who in ["xgc_admin", "student1", "student2", "counsellor1", "jwc_admin", "teacher1"] {
        app.login(who).await;
    }
    let r = report(app).await;
    assert_eq!(r["valid"], true, "{r}");
    assert!(r["checked"].as_u64().expect("n") >= 8, "{r}");
    assert_eq!(r["unsealed"], 0);
    assert!(r["latest_seal_pos"].as_i64().is_some(), "the head is signed");
    let xgc = app.login("xgc_admin").await;
    app.get("/api/v1/audit-logs/verify", Some(&xgc.access)).await.expect(403);

    // An edited record no longer matches its hash; putting it back makes the chain whole again.
    let rows = sealed(app).await;
    let victim = rows[rows.len() / 2].clone();
    let db = app.state.db.conn();
    let mut edit: audit_log::ActiveModel = victim.clone().into();
    edit.after = Set(Some(json!({ "forged": true })));
    edit.update(db).await.expect("edit");
    let r = report(app).await;
    assert_eq!(r["valid"], false);
    assert_eq!(kinds(&r), ["content_changed"]);
    assert_eq!(r["problems"][0]["seq"], victim.seq);
    let mut restore: audit_log::ActiveModel = victim.clone().into();
    restore.after = Set(victim.after.clone());
    restore.update(db).await.expect("restore");
    assert_eq!(report(app).await["valid"], true);

    // Re-linking a record (as inserting one between others would) breaks the chain.
    let other = rows[rows.len() / 3].clone();
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::PrevHash, Expr::value(audit_chain::GENESIS))
        .filter(audit_log::Column::Seq.eq(other.seq))
        .exec(db)
        .await
        .expect("relink");
    assert!(kinds(&report(app).await).contains(&"chain_broken".to_owned()));
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::PrevHash, Expr::value(other.prev_hash.clone()))
        .filter(audit_log::Column::Seq.eq(other.seq))
        .exec(db)
        .await
        .expect("put back");

    // A deleted record leaves a gap.
    audit_log::Entity::delete_many().filter(audit_log::Column::Seq.eq(victim.seq)).exec(db).await.expect("delete");
    let r = report(app).await;
    assert!(kinds(&r).contains(&"missing".to_owned()), "{r}");

    // Cutting off the tail is found from the signed head.
    let seal_pos = audit_seal::Entity::find()
        .order_by_desc(audit_seal::Column::Pos)
        .one(db)
        .await
        .expect("seal")
        .expect("a seal")
        .pos;
    audit_log::Entity::delete_many().filter(audit_log::Column::ChainPos.gte(seal_pos)).exec(db).await.expect("cut");
    let cut = audit_chain::verify(db, &app.state.signing).await.expect("verify");
    assert!(cut.problems.iter().any(|p| p.kind == "truncated"), "{cut:?}");
    // Records written afterwards chain on after the signed head, so the cut stays a visible gap.
    let later = report(app).await;
    let gap = later["problems"]
        .as_array()
        .expect("p")
        .iter()
        .find(|p| p["kind"] == "missing" && p["pos"].as_i64() >= Some(seal_pos - 1));
    assert!(gap.is_some(), "{later}");
}
db_test!(audit_tampering, tampering_with_the_audit_trail_is_found);

async fn auditors_export_the_trail_and_their_reads_are_audited(app: &TestApp) {
    let auditor = app.login("auditor").await;
    let (status, headers, bytes) =
        app.get_bytes("/api/v1/audit-logs/export?action=auth.login", Some(&auditor.access)).await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-ndjson"));
    let lines: Vec<Value> =
        String::from_utf8(bytes).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let logins = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("auth.login"))
        .count(app.state.db.conn())
        .await
        .expect("count");
    assert_eq!(lines.len() as u64, logins);
    assert!(lines.iter().all(|l| l["action"] == "auth.login" && l["hash"].as_str().is_some_and(|h| h.len() == 64)));
    for action in ["audit.export", "audit.read"] {
        if action == "audit.read" {
            app.get("/api/v1/audit-logs", Some(&auditor.access)).await.expect(200);
        }
        let n = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .count(app.state.db.conn())
            .await
            .expect("count");
        assert_eq!(n, 1, "{action} is audited");
    }
    let student = app.login("student1").await;
    assert_eq!(app.get_bytes("/api/v1/audit-logs/export", Some(&student.access)).await.0, 403);
}
db_test!(audit_export, auditors_export_the_trail_and_their_reads_are_audited);

async fn records_past_retention_move_to_an_archive_and_the_rest_still_verifies(app: &TestApp) {
    // Make every record so far 200 days old (rewriting their hashes, unsealed), as if the
    // college had run for that long.
    {
        let txn = app.state.db.write().await.expect("txn");
        audit_seal::Entity::delete_many().exec(&*txn).await.expect("seals");
        let old = audit_log::Entity::find().all(&*txn).await.expect("rows");
        for r in old {
            let mut m = r.clone();
            m.at = r.at - TimeDelta::days(200);
            let hash = content_hash(&m);
            audit_log::Entity::update_many()
                .col_expr(audit_log::Column::At, Expr::value(m.at))
                .col_expr(audit_log::Column::Hash, Expr::value(hash))
                .col_expr(audit_log::Column::ChainPos, Expr::value(Option::<i64>::None))
                .col_expr(audit_log::Column::PrevHash, Expr::value(Option::<String>::None))
                .col_expr(audit_log::Column::ChainHash, Expr::value(Option::<String>::None))
                .filter(audit_log::Column::Seq.eq(r.seq))
                .exec(&*txn)
                .await
                .expect("age");
        }
        txn.commit().await.expect("commit");
    }
    let before = audit_log::Entity::find().count(app.state.db.conn()).await.expect("count");
    // Younger records may not be archived.
    let storage = &app.state.storage;
    let too_soon = Utc::now() - TimeDelta::days(100);
    assert!(audit_chain::archive(&app.state.db, &app.state.signing, storage, too_soon).await.is_err());
    let cutoff = Utc::now() - TimeDelta::days(190);
    let done = audit_chain::archive(&app.state.db, &app.state.signing, storage, cutoff)
        .await
        .expect("archive")
        .expect("something archived");
    assert_eq!(done.count as u64, before);
    let file = storage.get(&done.storage_key).await.expect("archive file");
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file)), done.sha256);
    let lines: Vec<Value> =
        std::str::from_utf8(&file).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len() as u64, before);
    assert_eq!(lines[0]["chain_pos"], 1);
    // The archived records are gone from the database; new ones chain on from the archive.
    app.login("student1").await;
    let r = report(app).await;
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!((r["archives"].as_u64(), r["from_pos"].as_i64()), (Some(1), Some(done.to_pos + 1)));
    assert!(r["checked"].as_u64().expect("n") >= 2, "the sign-in and the archive itself");
}
db_test!(audit_archive, records_past_retention_move_to_an_archive_and_the_rest_still_verifies);
