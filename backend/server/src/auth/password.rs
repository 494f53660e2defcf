//! Password hashing (argon2id, off the async workers) and the password policy.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::config::PasswordPolicy;
use crate::error::{AppError, AppResult, FieldError, Msg};

/// At most one argon2 computation per core at a time: each holds about 19 MiB, and a burst of
/// sign-ins would otherwise run dozens at once on the blocking pool (memory that glibc keeps, and
/// no faster: the cores are the limit). Measured in issue 9's sign-in scenario.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Run an argon2 computation on the blocking pool once a slot is free.
async fn with_slot<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _slot = hashing_slots().acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.into()))
}

/// Hash a password with argon2id (OWASP parameters) on the blocking pool.
pub async fn hash(password: String) -> AppResult<String> {
    with_slot(move || hash_blocking(&password)).await?
}

/// Hash synchronously; for the blocking pool and for seeding.
pub fn hash_blocking(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
}

/// Verify a password against a stored hash; a missing hash still costs one verification so that
/// unknown usernames take as long as known ones.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    with_slot(move || {
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        match PasswordHash::new(stored) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("tongban-timing-equaliser").unwrap_or_default())
}

/// The shipped list of common passwords, lower case.
fn common() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../assets/passwords/common.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Whether the password is on the common list, whole or without its trailing digits and symbols.
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    common().contains(&lower) || (!stem.is_empty() && common().contains(stem))
}

/// Check a new password against the policy; errors name the `field`.
pub fn check_policy(policy: &PasswordPolicy, field: &str, username: &str, password: &str) -> AppResult<()> {
    let mut errors = Vec::new();
    let len = password.chars().count();
    if len < policy.min_length() {
        errors.push(FieldError::new(
            field,
            "too_short",
            Msg::new(
                format!("密码至少 {} 位", policy.min_length()),
                format!("At least {} characters", policy.min_length()),
            ),
        ));
    }
    if len > policy.max_length() {
        errors.push(FieldError::new(
            field,
            "too_long",
            Msg::new(
                format!("密码最多 {} 位", policy.max_length()),
                format!("At most {} characters", policy.max_length()),
            ),
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < policy.min_classes() {
        errors.push(FieldError::new(
            field,
            "too_simple",
            Msg::new(
                format!("密码须包含小写字母、大写字母、数字、符号中的至少 {} 类", policy.min_classes()),
                format!("Use at least {} of: lower case, upper case, digits, symbols", policy.min_classes()),
            ),
        ));
    }
    if policy.forbid_username() && !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        errors.push(FieldError::new(
            field,
            "contains_username",
            Msg::new("密码不能包含用户名", "Must not contain the username"),
        ));
    }
    if policy.forbid_common() && is_common(password) {
        errors.push(FieldError::new(
            field,
            "too_common",
            Msg::new(
                "密码过于常见，容易被猜中，请换一个",
                "This password is too common and easily guessed; choose another",
            ),
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(
            field,
            "invalid_characters",
            Msg::new("密码不能包含控制字符", "Must not contain control characters"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Client { code: crate::error::ErrorCode::WeakPassword, detail: None, errors, retry_after: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PasswordStyle;

    #[test]
    fn policy_rejects_short_simple_and_username_passwords() {
        let p = PasswordPolicy::default();
        assert!(check_policy(&p, "password", "alice", "Tongban@2026").is_ok());
        assert!(check_policy(&p, "password", "alice", "Ab1!").is_err());
        assert!(check_policy(&p, "password", "alice", "abcdefghij").is_err());
        assert!(check_policy(&p, "password", "alice", "Alice@2026x").is_err());
        assert!(check_policy(&p, "password", "alice", "Tong\u{7}ban@2026").is_err());
        for common in ["Password123!", "Admin@2026", "Qwerty123", "1q2w3e4r5t", "Woaini1314", "P@ssw0rd!"] {
            let e = format!("{:?}", check_policy(&p, "password", "alice", common).expect_err(common));
            assert!(e.contains("too_common"), "{common}: {e}");
        }
    }

    #[test]
    fn the_asvs_style_wants_length_not_classes() {
        let asvs = PasswordPolicy { style: PasswordStyle::Asvs, ..PasswordPolicy::default() };
        assert!(check_policy(&asvs, "password", "alice", "correct horse battery").is_ok(), "a passphrase");
        assert!(check_policy(&asvs, "password", "alice", "Tongban@2026").is_ok());
        assert!(check_policy(&asvs, "password", "alice", "Tb@2026x").is_err(), "short for ASVS");
        let mlps = PasswordPolicy::default();
        assert!(check_policy(&mlps, "password", "alice", "correct horse battery").is_err(), "one class only");
        let lax = PasswordPolicy { forbid_common: Some(false), ..PasswordPolicy::default() };
        assert!(check_policy(&lax, "password", "alice", "Password123!").is_ok());
    }

    #[test]
    fn hashes_verify_and_use_argon2id() {
        let h = hash_blocking("Tongban@2026").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).expect("parse");
        assert!(Argon2::default().verify_password(b"Tongban@2026", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"tongban@2026", &parsed).is_err());
    }
}
