//! Housekeeping: rows that are over and would otherwise pile up for ever.
//!
//! - `sso_states` (a round trip to the campus identity provider) and `sso_codes` (the single-use
//!   code the web app exchanges after it) once they have expired: neither can be used afterwards.
//! - `refresh_tokens` once expired: an expired token is refused whether or not its row exists.
//! - `sessions` [`SESSION_RETENTION`] after they ended (signed out, revoked, or idle past the
//!   refresh-token lifetime), with whatever refresh tokens of theirs remain. The sign-ins and
//!   sign-outs themselves stay in the audit trail, which has its own retention.
//!
//! Every instance prunes once an hour (and once at start); deleting what is over is idempotent, so
//! two instances doing it at once only share the work. Deletes go in batches of [`BATCH`] rows so
//! that no prune holds SQLite's single writer for long.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{refresh_token, session, sso_code, sso_state};
use crate::error::AppResult;
use crate::state::AppState;

/// How long an ended session is kept (it still shows who signed in from where when an incident is
/// looked into after the fact).
pub const SESSION_RETENTION: TimeDelta = TimeDelta::days(30);
/// Rows deleted per statement.
pub const BATCH: u64 = 1000;
/// How often each instance prunes.
const EVERY: Duration = Duration::from_secs(3600);

/// What one prune removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Expired campus sign-in round trips.
    pub sso_states: u64,
    /// Expired single-use sign-in codes.
    pub sso_codes: u64,
    /// Expired refresh tokens (and those of pruned sessions).
    pub refresh_tokens: u64,
    /// Sessions ended more than [`SESSION_RETENTION`] ago.
    pub sessions: u64,
}

/// Remove everything that is over as of `now`.
pub async fn prune(st: &AppState, now: DateTime<Utc>) -> AppResult<Pruned> {
    let sso_states = batched(st, || {
        sso_state::Entity::delete_many()
            .filter(
                sso_state::Column::Id.in_subquery(
                    sso_state::Entity::find()
                        .select_only()
                        .column(sso_state::Column::Id)
                        .filter(sso_state::Column::ExpiresAt.lt(now))
                        .limit(BATCH)
                        .into_query(),
                ),
            )
            .build(st.db.backend())
    })
    .await?;
    let sso_codes = batched(st, || {
        sso_code::Entity::delete_many()
            .filter(
                sso_code::Column::Id.in_subquery(
                    sso_code::Entity::find()
                        .select_only()
                        .column(sso_code::Column::Id)
                        .filter(sso_code::Column::ExpiresAt.lt(now))
                        .limit(BATCH)
                        .into_query(),
                ),
            )
            .build(st.db.backend())
    })
    .await?;
    let mut refresh_tokens = batched(st, || {
        refresh_token::Entity::delete_many()
            .filter(
                refresh_token::Column::Id.in_subquery(
                    refresh_token::Entity::find()
                        .select_only()
                        .column(refresh_token::Column::Id)
                        .filter(refresh_token::Column::ExpiresAt.lt(now))
                        .limit(BATCH)
                        .into_query(),
                ),
            )
            .build(st.db.backend())
    })
    .await?;

    // A session ended when it was revoked, or when its last refresh token ran out.
    let cutoff = now - SESSION_RETENTION;
    let idle_cutoff = cutoff - TimeDelta::days(st.settings.refresh_token_ttl_days);
    let ended = Condition::any().add(session::Column::RevokedAt.lt(cutoff)).add(
        Condition::all().add(session::Column::RevokedAt.is_null()).add(session::Column::LastUsedAt.lt(idle_cutoff)),
    );
    let mut sessions = 0;
    loop {
        let ids: Vec<Uuid> = session::Entity::find()
            .select_only()
            .column(session::Column::Id)
            .filter(ended.clone())
            .limit(BATCH)
            .into_tuple()
            .all(st.db.conn())
            .await?;
        if ids.is_empty() {
            break;
        }
        let txn = st.db.write().await?;
        refresh_tokens += refresh_token::Entity::delete_many()
            .filter(refresh_token::Column::FamilyId.is_in(ids.clone()))
            .exec(&*txn)
            .await?
            .rows_affected;
        // The condition again: a session used since it was read is not over after all.
        sessions += session::Entity::delete_many()
            .filter(session::Column::Id.is_in(ids))
            .filter(ended.clone())
            .exec(&*txn)
            .await?
            .rows_affected;
        txn.commit().await?;
    }
    Ok(Pruned { sso_states, sso_codes, refresh_tokens, sessions })
}

/// Run the delete `stmt` builds, one batch per transaction, until a batch removes nothing.
async fn batched(st: &AppState, stmt: impl Fn() -> sea_orm::Statement) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let txn = st.db.write().await?;
        let n = txn.execute_raw(stmt()).await?.rows_affected();
        txn.commit().await?;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
    }
}

/// Prune at start and then once an hour.
pub fn spawn(st: AppState) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match prune(&st, crate::time::now()).await {
                Ok(p) if p != Pruned::default() => tracing::info!(?p, "pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "prune"),
            }
        }
    });
}
