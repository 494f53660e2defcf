//! Sign-in use cases: login with throttling, refresh rotation with reuse detection, logout,
//! password change and session revocation.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::auth::password;
use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::dto::auth::TokenResponse;
use crate::entity::{login_attempt, refresh_token, user};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::time::now;

/// Sign in with username (or 学号/工号) and password.
pub async fn login(
    st: &AppState,
    ctx: &AuditCtx,
    username: &str,
    pw: &str,
    user_agent: Option<&str>,
) -> AppResult<TokenResponse> {
    let ip = ctx.ip.clone().unwrap_or_default();
    let given = username.trim();
    let found = find_account(st, given).await?;
    // Throttle on the account, whichever of username, 学号 or 工号 was typed.
    let login_name = found.as_ref().map_or_else(|| given.to_lowercase(), |u| u.username.clone());
    let t = now();

    if let Some(wait) = throttled(st, &login_name, &ip, t).await? {
        let txn = st.db.write().await?;
        audit::record(&*txn, ctx, Entry::new("auth.login_throttled", "user", &login_name).failed()).await?;
        txn.commit().await?;
        return Err(AppError::Client {
            code: ErrorCode::TooManyLoginAttempts,
            detail: None,
            errors: Vec::new(),
            retry_after: Some(wait),
        });
    }

    let stored = found.as_ref().and_then(|u| u.password_hash.clone());
    let ok =
        password::verify(pw.to_owned(), stored).await? && found.as_ref().is_some_and(|u| u.password_hash.is_some());

    let txn = st.db.write().await?;
    login_attempt::ActiveModel {
        username: Set(login_name.clone()),
        ip: Set(ip.clone()),
        success: Set(ok),
        at: Set(t),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let u = match (ok, found) {
        (true, Some(u)) => u,
        (_, found) => {
            let object = found.map(|u| u.id.to_string()).unwrap_or(login_name);
            audit::record(&*txn, ctx, Entry::new("auth.login", "user", object).failed()).await?;
            txn.commit().await?;
            return Err(AppError::code(ErrorCode::InvalidCredentials));
        }
    };
    let actor = ctx.as_user(u.id, &u.username);
    if u.status != "active" {
        audit::record(&*txn, &actor, Entry::new("auth.login", "user", u.id).failed()).await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::AccountDisabled));
    }
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(t))
        .filter(user::Column::Id.eq(u.id))
        .exec(&*txn)
        .await?;
    let refresh = insert_refresh(&*txn, st, u.id, Uuid::now_v7(), &ip, user_agent).await?;
    audit::record(&*txn, &actor, Entry::new("auth.login", "user", u.id)).await?;
    txn.commit().await?;
    token_response(st, u.id, u.auth_epoch, refresh)
}

/// The account a sign-in name means: the username first, then the 学号, then the 工号.
async fn find_account(st: &AppState, given: &str) -> AppResult<Option<user::Model>> {
    let db = st.db.conn();
    let by = |col: user::Column, v: String| user::Entity::find().filter(col.eq(v)).one(db);
    if let Some(u) = by(user::Column::Username, given.to_lowercase()).await? {
        return Ok(Some(u));
    }
    if let Some(u) = by(user::Column::StudentNo, given.to_owned()).await? {
        return Ok(Some(u));
    }
    Ok(by(user::Column::StaffNo, given.to_owned()).await?)
}

/// Seconds to wait when the account or the address has too many recent failures.
async fn throttled(st: &AppState, username: &str, ip: &str, t: DateTime<Utc>) -> AppResult<Option<u64>> {
    let cfg = &st.settings.login_throttle;
    let window_start = t - Duration::seconds(cfg.window_secs);
    let db = st.db.conn();
    // Failures of the account count since its last success; those of an address do not reset.
    let last_success: Option<DateTime<Utc>> = login_attempt::Entity::find()
        .filter(login_attempt::Column::Username.eq(username))
        .filter(login_attempt::Column::Success.eq(true))
        .filter(login_attempt::Column::At.gt(window_start))
        .order_by_desc(login_attempt::Column::At)
        .one(db)
        .await?
        .map(|a| a.at);
    let since = last_success.map_or(window_start, |s| Ord::max(s, window_start));
    let checks = [
        (login_attempt::Column::Username, username, since, cfg.max_failures_per_account),
        (login_attempt::Column::Ip, ip, window_start, cfg.max_failures_per_ip),
    ];
    let mut wait = 0i64;
    for (col, value, since, max) in checks {
        if max == 0 {
            continue;
        }
        let recent: Vec<DateTime<Utc>> = login_attempt::Entity::find()
            .select_only()
            .column(login_attempt::Column::At)
            .filter(col.eq(value))
            .filter(login_attempt::Column::Success.eq(false))
            .filter(login_attempt::Column::At.gt(since))
            .order_by_desc(login_attempt::Column::At)
            .limit(u64::from(max))
            .into_tuple()
            .all(db)
            .await?;
        if recent.len() >= max as usize
            && let Some(oldest) = recent.last()
        {
            let until = *oldest + Duration::seconds(cfg.window_secs);
            wait = Ord::max(wait, Ord::max((until - t).num_seconds(), 1));
        }
    }
    Ok((wait > 0).then_some(wait as u64))
}

async fn insert_refresh<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    user_id: Uuid,
    family: Uuid,
    ip: &str,
    user_agent: Option<&str>,
) -> AppResult<String> {
    let token = new_refresh_token()?;
    let t = now();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        family_id: Set(family),
        user_id: Set(user_id),
        token_hash: Set(hash_refresh_token(&token)),
        created_at: Set(t),
        expires_at: Set(t + Duration::days(st.settings.refresh_token_ttl_days)),
        used_at: Set(None),
        revoked_at: Set(None),
        revoke_reason: Set(None),
        ip: Set((!ip.is_empty()).then(|| ip.to_owned())),
        user_agent: Set(user_agent.map(|s| s.chars().take(256).collect())),
    }
    .insert(db)
    .await?;
    Ok(token)
}

fn token_response(st: &AppState, user_id: Uuid, epoch: i32, refresh: String) -> AppResult<TokenResponse> {
    Ok(TokenResponse {
        access_token: st.keys.issue(user_id, epoch, st.settings.access_token_ttl_secs)?,
        refresh_token: refresh,
        token_type: "Bearer".into(),
        expires_in: st.settings.access_token_ttl_secs,
    })
}

/// Exchange a refresh token for a new pair. A token used twice revokes its whole family.
pub async fn refresh(st: &AppState, ctx: &AuditCtx, token: &str, user_agent: Option<&str>) -> AppResult<TokenResponse> {
    let hash = hash_refresh_token(token);
    let txn = st.db.write().await?;
    let Some(rt) = refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(&hash)).one(&*txn).await?
    else {
        return Err(AppError::code(ErrorCode::RefreshTokenInvalid));
    };
    let t = now();
    if rt.used_at.is_some() {
        // A rotated token came back: someone holds a copy. End the whole session.
        revoke_family(&*txn, rt.family_id, "reuse").await?;
        audit::record(&*txn, ctx, Entry::new("auth.refresh_reuse", "session", rt.family_id).failed()).await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::RefreshTokenReused));
    }
    if rt.revoked_at.is_some() {
        return Err(AppError::code(ErrorCode::RefreshTokenInvalid));
    }
    if rt.expires_at <= t {
        return Err(AppError::code(ErrorCode::RefreshTokenInvalid));
    }
    let u = user::Entity::find_by_id(rt.user_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::RefreshTokenInvalid))?;
    if u.status != "active" {
        revoke_family(&*txn, rt.family_id, "disabled").await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::RefreshTokenInvalid));
    }
    // Mark used only if nobody else did meanwhile; the loser of a race is treated as reuse.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(t))
        .filter(refresh_token::Column::Id.eq(rt.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&*txn)
        .await?;
    if claimed.rows_affected != 1 {
        revoke_family(&*txn, rt.family_id, "reuse").await?;
        audit::record(&*txn, ctx, Entry::new("auth.refresh_reuse", "session", rt.family_id).failed()).await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::RefreshTokenReused));
    }
    let ip = ctx.ip.clone().unwrap_or_default();
    let new = insert_refresh(&*txn, st, u.id, rt.family_id, &ip, user_agent).await?;
    txn.commit().await?;
    token_response(st, u.id, u.auth_epoch, new)
}

/// End the session the refresh token belongs to. Unknown tokens are ignored (idempotent).
pub async fn logout(st: &AppState, ctx: &AuditCtx, token: &str) -> AppResult<()> {
    let hash = hash_refresh_token(token);
    let txn = st.db.write().await?;
    if let Some(rt) =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(&hash)).one(&*txn).await?
    {
        let n = revoke_family(&*txn, rt.family_id, "logout").await?;
        if n > 0 {
            let u = user::Entity::find_by_id(rt.user_id).one(&*txn).await?;
            let actor = match &u {
                Some(u) => ctx.as_user(u.id, &u.username),
                None => ctx.clone(),
            };
            audit::record(&*txn, &actor, Entry::new("auth.logout", "session", rt.family_id)).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Revoke every live token of a family; returns how many were revoked.
async fn revoke_family<C: ConnectionTrait>(db: &C, family: Uuid, reason: &str) -> AppResult<u64> {
    let r = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .col_expr(refresh_token::Column::RevokeReason, Expr::value(reason))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Revoke every session of a user and invalidate their access tokens (bumps the auth epoch).
/// Call inside the transaction that changes the password or disables the account.
pub async fn revoke_all_sessions<C: ConnectionTrait>(db: &C, user_id: Uuid, reason: &str) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .col_expr(refresh_token::Column::RevokeReason, Expr::value(reason))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    user::Entity::update_many()
        .col_expr(user::Column::AuthEpoch, Expr::col(user::Column::AuthEpoch).add(1))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The signed-in user changes their own password; every session ends.
pub async fn change_password(st: &AppState, ctx: &AuditCtx, user_id: Uuid, current: &str, new: &str) -> AppResult<()> {
    let u = user::Entity::find_by_id(user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if !password::verify(current.to_owned(), u.password_hash.clone()).await? || u.password_hash.is_none() {
        return Err(AppError::field("current_password", "mismatch", "当前密码不正确", "The current password is wrong"));
    }
    password::check_policy(&st.settings.password_policy, "new_password", &u.username, new)?;
    if new == current {
        return Err(AppError::field(
            "new_password",
            "unchanged",
            "新密码不能与当前密码相同",
            "The new password must differ",
        ));
    }
    let hash = password::hash(new.to_owned()).await?;
    let txn = st.db.write().await?;
    let r = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::PasswordChangedAt, Expr::value(now()))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now()))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::Version.eq(u.version))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    revoke_all_sessions(&*txn, u.id, "password_changed").await?;
    audit::record(&*txn, ctx, Entry::new("user.change_password", "user", u.id)).await?;
    txn.commit().await?;
    Ok(())
}
