//! The tamper-evident audit chain: sealing, verification and archiving.
//!
//! Records are written by [`crate::audit::record`] in the transactions of the changes they
//! describe, each with the hash of its content. Every few seconds one instance seals the records
//! written since — whatever order their transactions committed in — by giving each the next
//! position in the chain, the chain hash of the record before it, and its own chain hash
//! `SHA-256("tongban-audit-chain\n" + previous chain hash + "\n" + content hash)`. Now and then
//! the head of the chain is signed with the server's Ed25519 key (`audit_seals`).
//!
//! Verification recomputes every content and chain hash: an edited record breaks its content
//! hash, a deleted one leaves a gap, an inserted or reordered one breaks the chain, a truncated
//! tail falls short of the last signed seal, and records left unsealed for long show that sealing
//! stopped or that rows were written around it. Records older than the retention period (at least
//! 184 days, MLPS 2.0) can be moved to the object store as a JSON Lines archive; the archive keeps
//! the chain hash it ends on, where verification of the rest starts.

use std::io::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry, content_hash};
use crate::db::Db;
use crate::entity::{audit_archive, audit_log, audit_seal};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::signing::KeyRing;
use crate::time::now;

/// The chain hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records sealed per transaction.
const BATCH: u64 = 2000;
/// How often, at most, the head is signed.
const SEAL_EVERY: TimeDelta = TimeDelta::minutes(10);
/// Records unsealed for longer than this are reported.
const UNSEALED_GRACE: TimeDelta = TimeDelta::minutes(10);
/// The least retention before records may be archived (MLPS 2.0 asks for 180 days).
pub const RETENTION_DAYS: i64 = 184;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

/// The chain hash of a record whose content hash is `content`, after `prev`.
pub fn chain_hash(prev: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tongban-audit-chain\n");
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(content.as_bytes());
    hex::encode(h.finalize())
}

/// Where the chain stands: the last sealed position and its chain hash (or the end of the last
/// archive, or the genesis) — or the last signed head when records after it were deleted, so new
/// records chain on after the signed head and the deletion stays visible as a gap.
async fn head<C: ConnectionTrait>(db: &C) -> AppResult<(i64, String)> {
    let stored = match audit_log::Entity::find()
        .filter(audit_log::Column::ChainPos.is_not_null())
        .order_by_desc(audit_log::Column::ChainPos)
        .one(db)
        .await?
    {
        Some(r) => (r.chain_pos.unwrap_or(0), r.chain_hash.unwrap_or_default()),
        None => anchor(db).await?,
    };
    match audit_seal::Entity::find().order_by_desc(audit_seal::Column::Pos).one(db).await? {
        Some(s) if s.pos > stored.0 => {
            tracing::error!(head = stored.0, signed = s.pos, "audit records after the last signed head are missing");
            Ok((s.pos, s.head_hash))
        }
        _ => Ok(stored),
    }
}

/// Where the records still in the database start: after the last archive.
async fn anchor<C: ConnectionTrait>(db: &C) -> AppResult<(i64, String)> {
    Ok(match audit_archive::Entity::find().order_by_desc(audit_archive::Column::ToPos).one(db).await? {
        Some(a) => (a.to_pos, a.last_chain_hash),
        None => (0, GENESIS.to_owned()),
    })
}

/// Seal the records written since the last seal; sign the head when the last signature is older
/// than ten minutes. Safe to run on several instances at once (one seals, the other waits).
/// Returns how many records were sealed.
pub async fn seal(db: &Db, keys: &KeyRing) -> AppResult<usize> {
    // Look before taking the writer: between changes there is nothing to seal.
    if audit_log::Entity::find().filter(audit_log::Column::ChainPos.is_null()).one(db.conn()).await?.is_none() {
        return Ok(0);
    }
    let mut sealed = 0;
    loop {
        let txn = db.write().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // One sealer at a time across instances; released at commit.
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7353001)").await?;
        }
        let (mut pos, mut prev) = head(&*txn).await?;
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::ChainPos.is_null())
            .order_by_asc(audit_log::Column::Seq)
            .limit(BATCH)
            .all(&*txn)
            .await?;
        let n = rows.len();
        for r in rows {
            pos += 1;
            let chain = chain_hash(&prev, &r.hash);
            audit_log::Entity::update_many()
                .col_expr(audit_log::Column::ChainPos, Expr::value(pos))
                .col_expr(audit_log::Column::PrevHash, Expr::value(prev.clone()))
                .col_expr(audit_log::Column::ChainHash, Expr::value(chain.clone()))
                .filter(audit_log::Column::Seq.eq(r.seq))
                .filter(audit_log::Column::ChainPos.is_null())
                .exec(&*txn)
                .await?;
            prev = chain;
        }
        let last = audit_seal::Entity::find().order_by_desc(audit_seal::Column::SealedAt).one(&*txn).await?;
        let due = last.as_ref().is_none_or(|s| s.pos != pos && now() - s.sealed_at >= SEAL_EVERY);
        if pos > 0 && due {
            sign_head(&*txn, keys, pos, &prev).await?;
        }
        txn.commit().await?;
        sealed += n;
        if (n as u64) < BATCH {
            return Ok(sealed);
        }
    }
}

async fn sign_head<C: ConnectionTrait>(db: &C, keys: &KeyRing, pos: i64, head: &str) -> AppResult<()> {
    let t = now();
    let mut doc = Map::new();
    doc.insert("type".into(), json!("tongban.audit_seal"));
    doc.insert("pos".into(), json!(pos));
    doc.insert("head_hash".into(), json!(head));
    doc.insert("sealed_at".into(), json!(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
    let signed = keys.sign(doc).map_err(|e| AppError::Internal(e.context("signing the audit seal")))?;
    audit_seal::ActiveModel {
        id: Set(Uuid::now_v7()),
        pos: Set(pos),
        head_hash: Set(head.to_owned()),
        sealed_at: Set(t),
        signed: Set(signed),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One thing verification found wrong.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ChainProblem {
    /// `content_changed` (a record was edited), `missing` (records were deleted), `chain_broken`
    /// (a record was inserted, reordered or its chain fields edited), `unsealed` (written but not
    /// sealed for more than ten minutes), `seal_mismatch` (a signed head does not match the chain),
    /// `seal_signature` (a seal's signature does not verify), `truncated` (records after the last
    /// signed head are gone).
    pub kind: String,
    /// The chain position concerned.
    pub pos: Option<i64>,
    /// The record's sequence number.
    pub seq: Option<i64>,
    /// The record's id.
    pub id: Option<Uuid>,
    /// What exactly.
    pub detail: String,
}

/// What verification found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainReport {
    /// No problem found.
    pub valid: bool,
    /// Records checked.
    pub checked: u64,
    /// The first position checked (after the last archive).
    pub from_pos: i64,
    /// The last sealed position.
    pub to_pos: i64,
    /// The chain hash at `to_pos`.
    pub head_hash: String,
    /// Records not sealed yet.
    pub unsealed: u64,
    /// Signed seals checked.
    pub seals_checked: u64,
    /// The latest signed seal's position and time.
    pub latest_seal_pos: Option<i64>,
    pub latest_seal_at: Option<DateTime<Utc>>,
    /// Archives before the records in the database.
    pub archives: u64,
    /// Every problem, in chain order (at most 1,000 listed).
    pub problems: Vec<ChainProblem>,
}

/// Verify the whole chain in the database against its archives' anchor and the signed seals.
pub async fn verify<C: ConnectionTrait>(db: &C, keys: &KeyRing) -> AppResult<ChainReport> {
    let (start, start_hash) = anchor(db).await?;
    let mut problems: Vec<ChainProblem> = Vec::new();
    let mut push = |p: ChainProblem| {
        if problems.len() < 1000 {
            problems.push(p);
        }
    };
    let (mut pos, mut prev) = (start, start_hash);
    let mut checked = 0u64;
    let mut heads: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    loop {
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::ChainPos.gt(pos))
            .order_by_asc(audit_log::Column::ChainPos)
            .limit(5000)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let at = r.chain_pos.unwrap_or(0);
            if at != pos + 1 {
                push(ChainProblem {
                    kind: "missing".into(),
                    pos: Some(pos + 1),
                    seq: None,
                    id: None,
                    detail: format!("records at positions {}–{} are missing", pos + 1, at - 1),
                });
            }
            if content_hash(&r) != r.hash {
                push(ChainProblem {
                    kind: "content_changed".into(),
                    pos: Some(at),
                    seq: Some(r.seq),
                    id: Some(r.id),
                    detail: format!("the content of record {} ({}) no longer matches its hash", r.seq, r.action),
                });
            }
            let expected = chain_hash(r.prev_hash.as_deref().unwrap_or_default(), &r.hash);
            if r.prev_hash.as_deref() != Some(prev.as_str()) || r.chain_hash.as_deref() != Some(expected.as_str()) {
                push(ChainProblem {
                    kind: "chain_broken".into(),
                    pos: Some(at),
                    seq: Some(r.seq),
                    id: Some(r.id),
                    detail: format!("record {} does not follow the record before it in the chain", r.seq),
                });
            }
            prev = r.chain_hash.clone().unwrap_or_default();
            pos = at;
            heads.insert(at, prev.clone());
            checked += 1;
        }
    }
    let unsealed_rows = audit_log::Entity::find()
        .filter(audit_log::Column::ChainPos.is_null())
        .order_by_asc(audit_log::Column::Seq)
        .all(db)
        .await?;
    let late = now() - UNSEALED_GRACE;
    for r in unsealed_rows.iter().filter(|r| r.at < late) {
        push(ChainProblem {
            kind: "unsealed".into(),
            pos: None,
            seq: Some(r.seq),
            id: Some(r.id),
            detail: format!("record {} has been waiting to be sealed since {}", r.seq, r.at),
        });
    }
    let seals = audit_seal::Entity::find()
        .filter(audit_seal::Column::Pos.gt(start))
        .order_by_asc(audit_seal::Column::Pos)
        .all(db)
        .await?;
    for s in &seals {
        let signed_pos = match keys.verify(&s.signed) {
            Ok(c) => c
                .get("pos")
                .and_then(Value::as_i64)
                .filter(|p| *p == s.pos && c.get("head_hash").and_then(Value::as_str) == Some(s.head_hash.as_str())),
            Err(_) => None,
        };
        if signed_pos.is_none() {
            push(ChainProblem {
                kind: "seal_signature".into(),
                pos: Some(s.pos),
                seq: None,
                id: Some(s.id),
                detail: format!("the signed head at position {} does not verify", s.pos),
            });
            continue;
        }
        match heads.get(&s.pos) {
            Some(h) if *h == s.head_hash => {}
            Some(_) => push(ChainProblem {
                kind: "seal_mismatch".into(),
                pos: Some(s.pos),
                seq: None,
                id: Some(s.id),
                detail: format!("the chain at position {} differs from its signed head", s.pos),
            }),
            None if s.pos > pos => push(ChainProblem {
                kind: "truncated".into(),
                pos: Some(s.pos),
                seq: None,
                id: Some(s.id),
                detail: format!("the chain ends at {pos}, but a signed head says it reached {}", s.pos),
            }),
            None => {}
        }
    }
    let archives = audit_archive::Entity::find().count(db).await?;
    let latest = seals.last();
    Ok(ChainReport {
        valid: problems.is_empty(),
        checked,
        from_pos: start + 1,
        to_pos: pos,
        head_hash: prev,
        unsealed: unsealed_rows.len() as u64,
        seals_checked: seals.len() as u64,
        latest_seal_pos: latest.map(|s| s.pos),
        latest_seal_at: latest.map(|s| s.sealed_at),
        archives,
        problems,
    })
}

/// One record as archives and exports carry it.
pub fn record_json(r: &audit_log::Model) -> Value {
    json!({
        "seq": r.seq, "id": r.id,
        "at": r.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor_id": r.actor_id, "actor_name": r.actor_name, "ip": r.ip, "request_id": r.request_id,
        "action": r.action, "object_type": r.object_type, "object_id": r.object_id, "success": r.success,
        "before": r.before, "after": r.after, "hash": r.hash,
        "chain_pos": r.chain_pos, "prev_hash": r.prev_hash, "chain_hash": r.chain_hash,
    })
}

/// What an archive run moved.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveOutcome {
    pub from_pos: i64,
    pub to_pos: i64,
    pub count: i64,
    pub storage_key: String,
    pub sha256: String,
}

/// Move the sealed records written before `before` (at least [`RETENTION_DAYS`] ago) to the object
/// store as JSON Lines, keeping the chain hash they end on. Only a prefix of the chain moves, so the
/// rest still verifies from the archive's anchor. `None` when there is nothing to move.
pub async fn archive(
    db: &Db,
    keys: &KeyRing,
    storage: &crate::services::storage::Storage,
    before: DateTime<Utc>,
) -> AppResult<Option<ArchiveOutcome>> {
    if before > now() - TimeDelta::days(RETENTION_DAYS) {
        return Err(AppError::detail(
            ErrorCode::RuleViolation,
            format!("审计记录至少保留 {RETENTION_DAYS} 天，只能归档 {RETENTION_DAYS} 天以前的记录"),
            format!("Audit records are kept at least {RETENTION_DAYS} days; only older ones can be archived"),
        ));
    }
    seal(db, keys).await?;
    let (start, _) = anchor(db.conn()).await?;
    let mut moved: Vec<audit_log::Model> = Vec::new();
    'outer: loop {
        let after = moved.last().and_then(|r| r.chain_pos).unwrap_or(start);
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::ChainPos.gt(after))
            .order_by_asc(audit_log::Column::ChainPos)
            .limit(5000)
            .all(db.conn())
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            if r.at >= before || moved.len() >= 1_000_000 {
                break 'outer;
            }
            moved.push(r);
        }
    }
    let (Some(first), Some(last)) = (moved.first(), moved.last()) else { return Ok(None) };
    let (from_pos, to_pos) = (first.chain_pos.unwrap_or(0), last.chain_pos.unwrap_or(0));
    let mut body = Vec::new();
    for r in &moved {
        serde_json::to_writer(&mut body, &record_json(r)).map_err(internal)?;
        body.write_all(b"\n").map_err(internal)?;
    }
    let sha = hex::encode(Sha256::digest(&body));
    let key = format!("audit-archives/{from_pos:012}-{to_pos:012}.jsonl");
    storage.put_object(&key, bytes::Bytes::from(body)).await?;
    let txn = db.write().await?;
    audit_archive::ActiveModel {
        id: Set(Uuid::now_v7()),
        from_pos: Set(from_pos),
        to_pos: Set(to_pos),
        count: Set(moved.len() as i64),
        first_at: Set(first.at),
        last_at: Set(last.at),
        last_chain_hash: Set(last.chain_hash.clone().unwrap_or_default()),
        storage_key: Set(key.clone()),
        sha256: Set(sha.clone()),
        created_at: Set(now()),
    }
    .insert(&*txn)
    .await?;
    audit_log::Entity::delete_many()
        .filter(audit_log::Column::ChainPos.gte(from_pos))
        .filter(audit_log::Column::ChainPos.lte(to_pos))
        .exec(&*txn)
        .await?;
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    audit::record(
        &*txn,
        &ctx,
        Entry::new("audit.archive", "audit_log", format!("{from_pos}-{to_pos}"))
            .after(&json!({ "count": moved.len(), "storage_key": key, "sha256": sha, "before": before })),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(ArchiveOutcome { from_pos, to_pos, count: moved.len() as i64, storage_key: key, sha256: sha }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hashes_depend_on_both_links() {
        let a = chain_hash(GENESIS, "aa");
        assert_eq!(a.len(), 64);
        assert_ne!(a, chain_hash(GENESIS, "ab"));
        assert_ne!(a, chain_hash(&"1".repeat(64), "aa"));
        assert_eq!(a, chain_hash(GENESIS, "aa"));
    }
}
