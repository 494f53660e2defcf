//! Sign-in use cases: login with throttling and the TOTP second factor, sessions, refresh rotation
//! with reuse detection, logout, password change and session revocation.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::auth::tokens::{Grant, hash_refresh_token, new_refresh_token};
use crate::auth::{password, principal, totp};
use crate::config::{AdminTotp, PasswordLogin};
use crate::dto::auth::{TokenResponse, TotpSetup, TotpStatus};
use crate::entity::{login_attempt, refresh_token, session, user, user_totp};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use crate::time::now;

/// Sign in with username (or 学号/工号), password and, when the account has enrolled one, a TOTP code.
pub async fn login(
    st: &AppState,
    ctx: &AuditCtx,
    username: &str,
    pw: &str,
    totp_code: Option<&str>,
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
    let mut ok =
        password::verify(pw.to_owned(), stored).await? && found.as_ref().is_some_and(|u| u.password_hash.is_some());

    // The second factor, when enrolled. A missing code is neither a failure nor a success (the
    // client asks for it and signs in again); a wrong or replayed one counts as a failure.
    let mut otp_step = None;
    let mut mfa_failed = false;
    if ok
        && let Some(u) = found.as_ref().filter(|u| u.status == "active")
        && let Some(enrolled) = enrolled_totp(st, u.id).await?
    {
        match totp_code.map(str::trim).filter(|c| !c.is_empty()) {
            None => return Err(AppError::code(ErrorCode::MfaRequired)),
            Some(code) => match check_code(st, &enrolled, code) {
                Ok(step) => otp_step = Some(step),
                Err(e) if e.error_code() == ErrorCode::MfaInvalid => {
                    ok = false;
                    mfa_failed = true;
                }
                Err(e) => return Err(e),
            },
        }
    }

    let restricted = match (&found, ok, st.settings.sso.password_login) {
        (Some(u), true, PasswordLogin::Admins) => !principal::load_for_user(st.db.conn(), u).await?.is_administrator(),
        _ => false,
    };

    let txn = st.db.write().await?;
    if !restricted {
        login_attempt::ActiveModel {
            username: Set(login_name.clone()),
            ip: Set(ip.clone()),
            success: Set(ok),
            at: Set(t),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
    }
    let u = match (ok, found) {
        (true, Some(u)) => u,
        (_, found) => {
            let object = found.map(|u| u.id.to_string()).unwrap_or(login_name);
            let action = if mfa_failed { "auth.login_mfa" } else { "auth.login" };
            audit::record(&*txn, ctx, Entry::new(action, "user", object).failed()).await?;
            txn.commit().await?;
            return Err(AppError::code(if mfa_failed { ErrorCode::MfaInvalid } else { ErrorCode::InvalidCredentials }));
        }
    };
    let actor = ctx.as_user(u.id, &u.username);
    if u.status != "active" {
        audit::record(&*txn, &actor, Entry::new("auth.login", "user", u.id).failed()).await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::AccountDisabled));
    }
    if restricted {
        audit::record(&*txn, &actor, Entry::new("auth.login_password_disabled", "user", u.id).failed()).await?;
        txn.commit().await?;
        return Err(AppError::code(ErrorCode::PasswordLoginDisabled));
    }
    let mut amr = vec!["pwd".to_owned()];
    if let Some(step) = otp_step {
        // Claim the step: a code is good once, even when two sign-ins race with it.
        let claimed = user_totp::Entity::update_many()
            .col_expr(user_totp::Column::LastStep, Expr::value(step))
            .filter(user_totp::Column::UserId.eq(u.id))
            .filter(user_totp::Column::LastStep.lt(step))
            .exec(&*txn)
            .await?;
        if claimed.rows_affected != 1 {
            drop(txn);
            return Err(AppError::code(ErrorCode::MfaInvalid));
        }
        amr.push("otp".into());
    }
    let tokens = start_session(&*txn, st, &u, "password", amr, &ip, user_agent).await?;
    audit::record(&*txn, &actor, Entry::new("auth.login", "user", u.id)).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// The user's enrolled (enabled) TOTP factor.
async fn enrolled_totp(st: &AppState, user_id: Uuid) -> AppResult<Option<user_totp::Model>> {
    Ok(user_totp::Entity::find_by_id(user_id)
        .filter(user_totp::Column::EnabledAt.is_not_null())
        .one(st.db.conn())
        .await?)
}

/// Open a session for `u` (inside the caller's transaction): the session row, its first refresh
/// token, and an access token carrying the session id and methods. Updates the last sign-in.
pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    u: &user::Model,
    method: &str,
    amr: Vec<String>,
    ip: &str,
    user_agent: Option<&str>,
) -> AppResult<TokenResponse> {
    let t = now();
    let sid = Uuid::now_v7();
    session::ActiveModel {
        id: Set(sid),
        user_id: Set(u.id),
        method: Set(method.to_owned()),
        amr: Set(amr.join(" ")),
        created_at: Set(t),
        last_used_at: Set(t),
        ip: Set((!ip.is_empty()).then(|| ip.to_owned())),
        user_agent: Set(user_agent.map(|s| s.chars().take(256).collect())),
        revoked_at: Set(None),
        revoke_reason: Set(None),
    }
    .insert(db)
    .await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(t))
        .filter(user::Column::Id.eq(u.id))
        .exec(db)
        .await?;
    let refresh = insert_refresh(db, st, u.id, sid, ip, user_agent).await?;
    token_response(st, u.id, u.auth_epoch, Grant { sid: Some(sid), amr, scp: None }, refresh)
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

fn token_response(st: &AppState, user_id: Uuid, epoch: i32, grant: Grant, refresh: String) -> AppResult<TokenResponse> {
    Ok(TokenResponse {
        access_token: st.keys.issue(user_id, epoch, st.settings.access_token_ttl_secs, grant)?,
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
    // Every refresh of a session, and every revocation (`revoke_family`), locks the session's row
    // before its refresh tokens: concurrent refreshes of one token then queue instead of
    // deadlocking (the winner claiming the token, the losers revoking the family). SQLite's
    // single writer serialises them anyway.
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE",
            [rt.family_id.into()],
        ))
        .await?;
    }
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
    let Some(sess) =
        session::Entity::find_by_id(rt.family_id).filter(session::Column::RevokedAt.is_null()).one(&*txn).await?
    else {
        // Revoked sessions, and refresh tokens from before sessions were kept.
        return Err(AppError::code(ErrorCode::RefreshTokenInvalid));
    };
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
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(t))
        .col_expr(session::Column::Ip, Expr::value((!ip.is_empty()).then(|| ip.clone())))
        .filter(session::Column::Id.eq(sess.id))
        .exec(&*txn)
        .await?;
    let new = insert_refresh(&*txn, st, u.id, rt.family_id, &ip, user_agent).await?;
    txn.commit().await?;
    let amr = sess.amr.split_whitespace().map(str::to_owned).collect();
    token_response(st, u.id, u.auth_epoch, Grant { sid: Some(sess.id), amr, scp: None }, new)
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

/// End a session: the session row and every live refresh token of its family; returns how many
/// refresh tokens were revoked.
pub async fn revoke_family<C: ConnectionTrait>(db: &C, family: Uuid, reason: &str) -> AppResult<u64> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::Id.eq(family))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
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
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
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

/// The caller's second factor.
pub async fn totp_status(st: &AppState, p: &crate::policy::Principal, amr: &[String]) -> AppResult<TotpStatus> {
    let row = user_totp::Entity::find_by_id(p.user_id).one(st.db.conn()).await?;
    let enabled_at = row.and_then(|r| r.enabled_at);
    Ok(TotpStatus {
        enabled: enabled_at.is_some(),
        enabled_at,
        required: st.settings.sso.admin_totp == AdminTotp::Required && p.is_administrator(),
        session_verified: amr.iter().any(|m| m == "otp"),
    })
}

/// Start enrolling a second factor: a new secret, sealed, not asked for at sign-in until confirmed
/// with a code. Needs the current password; an enabled factor must be disabled first.
pub async fn totp_setup(st: &AppState, ctx: &AuditCtx, user_id: Uuid, pw: &str) -> AppResult<TotpSetup> {
    let u = user::Entity::find_by_id(user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    if u.password_hash.is_none() || !password::verify(pw.to_owned(), u.password_hash.clone()).await? {
        return Err(AppError::field("password", "mismatch", "当前密码不正确", "The current password is wrong"));
    }
    let secret = totp::new_secret()?;
    let sealed = totp::seal(st.keys.seal_key(), &secret)?;
    let txn = st.db.write().await?;
    match user_totp::Entity::find_by_id(u.id).one(&*txn).await? {
        Some(row) if row.enabled_at.is_some() => {
            return Err(AppError::detail(
                ErrorCode::AlreadyExists,
                "已启用两步验证；如需更换，请先停用",
                "A second factor is enabled; disable it first to replace it",
            ));
        }
        Some(_) => {
            user_totp::Entity::update_many()
                .col_expr(user_totp::Column::SecretEnc, Expr::value(sealed))
                .col_expr(user_totp::Column::CreatedAt, Expr::value(now()))
                .filter(user_totp::Column::UserId.eq(u.id))
                .exec(&*txn)
                .await?;
        }
        None => {
            user_totp::ActiveModel {
                user_id: Set(u.id),
                secret_enc: Set(sealed),
                created_at: Set(now()),
                enabled_at: Set(None),
                last_step: Set(0),
            }
            .insert(&*txn)
            .await?;
        }
    }
    audit::record(&*txn, ctx, Entry::new("auth.totp_setup", "user", u.id)).await?;
    txn.commit().await?;
    Ok(TotpSetup { secret: totp::base32(&secret)?, otpauth_uri: totp::otpauth_uri(&secret, &u.username)? })
}

/// Confirm enrolment with a code from the app: from now on sign-in asks for a code.
pub async fn totp_enable(st: &AppState, ctx: &AuditCtx, user_id: Uuid, code: &str) -> AppResult<()> {
    let row = user_totp::Entity::find_by_id(user_id).one(st.db.conn()).await?.ok_or_else(|| {
        AppError::detail(ErrorCode::RuleViolation, "请先生成两步验证密钥", "Set up a second factor first")
    })?;
    if row.enabled_at.is_some() {
        return Err(AppError::detail(
            ErrorCode::AlreadyExists,
            "两步验证已启用",
            "The second factor is already enabled",
        ));
    }
    let step = check_code(st, &row, code)?;
    let txn = st.db.write().await?;
    let r = user_totp::Entity::update_many()
        .col_expr(user_totp::Column::EnabledAt, Expr::value(now()))
        .col_expr(user_totp::Column::LastStep, Expr::value(step))
        .filter(user_totp::Column::UserId.eq(user_id))
        .filter(user_totp::Column::EnabledAt.is_null())
        .filter(user_totp::Column::SecretEnc.eq(row.secret_enc.clone()))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::stale());
    }
    audit::record(&*txn, ctx, Entry::new("auth.totp_enable", "user", user_id)).await?;
    txn.commit().await?;
    Ok(())
}

/// Disable one's second factor, proven with a current code.
pub async fn totp_disable(st: &AppState, ctx: &AuditCtx, user_id: Uuid, code: &str) -> AppResult<()> {
    let row = user_totp::Entity::find_by_id(user_id)
        .filter(user_totp::Column::EnabledAt.is_not_null())
        .one(st.db.conn())
        .await?
        .ok_or_else(AppError::not_found)?;
    let step = check_code(st, &row, code)?;
    let txn = st.db.write().await?;
    let r = user_totp::Entity::delete_many()
        .filter(user_totp::Column::UserId.eq(user_id))
        .filter(user_totp::Column::LastStep.lt(step))
        .exec(&*txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(AppError::code(ErrorCode::MfaInvalid));
    }
    audit::record(&*txn, ctx, Entry::new("auth.totp_disable", "user", user_id)).await?;
    txn.commit().await?;
    Ok(())
}

/// A user administrator removes someone's second factor (a lost phone); their sessions end.
pub async fn totp_reset(st: &AppState, p: &crate::policy::Principal, ctx: &AuditCtx, user_id: Uuid) -> AppResult<()> {
    let u = user::Entity::find_by_id(user_id).one(st.db.conn()).await?.ok_or_else(AppError::not_found)?;
    let facts = crate::access::Facts { owner_id: Some(u.id), departments: &[u.department_id] };
    if !p.may(crate::access::Op::UserUpdate, &facts) {
        return Err(if p.may(crate::access::Op::UserRead, &facts) {
            AppError::forbidden()
        } else {
            AppError::not_found()
        });
    }
    let txn = st.db.write().await?;
    let r = user_totp::Entity::delete_many().filter(user_totp::Column::UserId.eq(u.id)).exec(&*txn).await?;
    if r.rows_affected == 0 {
        return Err(AppError::not_found());
    }
    revoke_all_sessions(&*txn, u.id, "totp_reset").await?;
    audit::record(&*txn, ctx, Entry::new("auth.totp_reset", "user", u.id)).await?;
    txn.commit().await?;
    Ok(())
}

/// The step a code matches, newer than the last one used; `mfa_invalid` otherwise.
fn check_code(st: &AppState, row: &user_totp::Model, code: &str) -> AppResult<i64> {
    let secret = totp::open(st.keys.seal_key(), &row.secret_enc)?;
    let unix = u64::try_from(now().timestamp()).unwrap_or(0);
    match totp::matching_step(&secret, code, unix)? {
        Some(step) => match i64::try_from(step) {
            Ok(s) if s > row.last_step => Ok(s),
            _ => Err(AppError::code(ErrorCode::MfaInvalid)),
        },
        None => Err(AppError::code(ErrorCode::MfaInvalid)),
    }
}
