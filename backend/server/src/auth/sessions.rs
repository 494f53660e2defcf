//! Sessions: listed and revoked by their user and by the user administrators whose scope reaches
//! the account. Revoking a session ends its refresh tokens and, through the `sid` claim checked on
//! every request, its access tokens at once.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::access::{Facts, Op};
use crate::audit::{self, AuditCtx, Entry};
use crate::auth::service::revoke_family;
use crate::dto::auth::SessionView;
use crate::entity::{session, user};
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::state::AppState;

async fn open_sessions(st: &AppState, user_id: Uuid, current: Option<Uuid>) -> AppResult<Vec<SessionView>> {
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .order_by_desc(session::Column::LastUsedAt)
        .all(st.db.conn())
        .await?;
    let horizon = crate::time::now() - chrono::Duration::days(st.settings.refresh_token_ttl_days);
    Ok(rows
        .into_iter()
        // A session whose refresh tokens have all expired is over even if nobody signed out.
        .filter(|s| s.last_used_at > horizon)
        .map(|s| SessionView {
            current: Some(s.id) == current,
            amr: s.amr.split_whitespace().map(str::to_owned).collect(),
            id: s.id,
            method: s.method,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect())
}

/// The caller's open sessions, the current one marked.
pub async fn mine(st: &AppState, p: &Principal, current: Option<Uuid>) -> AppResult<Vec<SessionView>> {
    open_sessions(st, p.user_id, current).await
}

/// The account `user_id` if the row of `op` lets the caller at it; 403 for those who may see the
/// account but not do this, 404 for the rest.
pub(crate) async fn target_user(st: &AppState, p: &Principal, user_id: Uuid, op: Op) -> AppResult<user::Model> {
    let u = user::Entity::find_by_id(user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let facts = Facts { owner_id: Some(u.id), departments: &[u.department_id] };
    if p.may(op, &facts) {
        return Ok(u);
    }
    if p.may(Op::UserRead, &facts) && crate::access::rule(op).denial == crate::access::Denial::Forbidden {
        Err(AppError::forbidden())
    } else {
        Err(AppError::not_found())
    }
}

/// A user's open sessions, for the user and for user administrators whose scope reaches them.
/// Someone else's sessions (addresses, devices) are personal data: the read is audited.
pub async fn of_user(
    st: &AppState,
    p: &Principal,
    ctx: &AuditCtx,
    user_id: Uuid,
    current: Option<Uuid>,
) -> AppResult<Vec<SessionView>> {
    let u = target_user(st, p, user_id, Op::UserSessionsRead).await?;
    if u.id != p.user_id {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("user.sessions_read", "user", u.id)).await?;
        txn.commit().await?;
    }
    open_sessions(st, u.id, current).await
}

/// End one session of a user: the user themself, or a user administrator whose scope reaches them.
pub async fn revoke(st: &AppState, p: &Principal, ctx: &AuditCtx, user_id: Uuid, sid: Uuid) -> AppResult<()> {
    if user_id != p.user_id {
        target_user(st, p, user_id, Op::UserUpdate).await?;
    }
    let s = session::Entity::find_by_id(sid)
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    let reason = if user_id == p.user_id { "revoked_by_user" } else { "revoked_by_admin" };
    let txn = st.db.write().await?;
    revoke_family(&*txn, s.id, reason).await?;
    audit::record(
        &*txn,
        ctx,
        Entry::new("auth.session_revoke", "session", s.id).after(&serde_json::json!({
            "user_id": user_id,
            "reason": reason,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
