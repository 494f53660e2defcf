//! The service-layer error and the stable error codes clients see.
//!
//! Services return [`AppError`]; the HTTP layer (`http::problem`) turns it into
//! `application/problem+json`. This module knows nothing about HTTP frameworks.

use std::fmt;

/// Stable, machine-readable error codes (snake_case on the wire). The SPA and integrators
/// translate on these, so a code is never renamed once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    BadRequest,
    ValidationFailed,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unauthenticated,
    TokenInvalid,
    TokenExpired,
    InvalidCredentials,
    AccountDisabled,
    RefreshTokenInvalid,
    RefreshTokenReused,
    TooManyLoginAttempts,
    MfaRequired,
    MfaInvalid,
    PasswordLoginDisabled,
    SsoCodeInvalid,
    TooManyRequests,
    Forbidden,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    VersionConflict,
    TaskAlreadyHandled,
    AffairStateConflict,
    AlreadyExists,
    InUse,
    RuleViolation,
    WeakPassword,
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, for tests that check the catalogue is complete.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::ValidationFailed,
        ErrorCode::MalformedJson,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Unauthenticated,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::InvalidCredentials,
        ErrorCode::AccountDisabled,
        ErrorCode::RefreshTokenInvalid,
        ErrorCode::RefreshTokenReused,
        ErrorCode::TooManyLoginAttempts,
        ErrorCode::MfaRequired,
        ErrorCode::MfaInvalid,
        ErrorCode::PasswordLoginDisabled,
        ErrorCode::SsoCodeInvalid,
        ErrorCode::TooManyRequests,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::VersionConflict,
        ErrorCode::TaskAlreadyHandled,
        ErrorCode::AffairStateConflict,
        ErrorCode::AlreadyExists,
        ErrorCode::InUse,
        ErrorCode::RuleViolation,
        ErrorCode::WeakPassword,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
    ];

    /// The wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::RefreshTokenInvalid => "refresh_token_invalid",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::TooManyLoginAttempts => "too_many_login_attempts",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::MfaInvalid => "mfa_invalid",
            ErrorCode::PasswordLoginDisabled => "password_login_disabled",
            ErrorCode::SsoCodeInvalid => "sso_code_invalid",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::VersionConflict => "version_conflict",
            ErrorCode::TaskAlreadyHandled => "task_already_handled",
            ErrorCode::AffairStateConflict => "affair_state_conflict",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InUse => "in_use",
            ErrorCode::RuleViolation => "rule_violation",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::Internal => "internal_error",
        }
    }

    /// HTTP status for the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::ValidationFailed | ErrorCode::MalformedJson => 400,
            ErrorCode::WeakPassword => 400,
            ErrorCode::Unauthenticated
            | ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials
            | ErrorCode::RefreshTokenInvalid
            | ErrorCode::RefreshTokenReused
            | ErrorCode::MfaRequired
            | ErrorCode::MfaInvalid
            | ErrorCode::SsoCodeInvalid => 401,
            ErrorCode::AccountDisabled | ErrorCode::Forbidden | ErrorCode::PasswordLoginDisabled => 403,
            ErrorCode::NotFound | ErrorCode::RouteNotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::VersionConflict
            | ErrorCode::TaskAlreadyHandled
            | ErrorCode::AffairStateConflict
            | ErrorCode::AlreadyExists
            | ErrorCode::InUse => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RuleViolation => 422,
            ErrorCode::TooManyLoginAttempts | ErrorCode::TooManyRequests => 429,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// Title in Chinese (default) or English.
    pub fn title(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            ErrorCode::BadRequest => ("请求无效", "Bad request"),
            ErrorCode::ValidationFailed => ("提交的数据未通过校验", "The submitted data is invalid"),
            ErrorCode::MalformedJson => ("请求体不是有效的 JSON", "The request body is not valid JSON"),
            ErrorCode::PayloadTooLarge => ("请求体过大", "The request body is too large"),
            ErrorCode::UnsupportedMediaType => ("不支持的内容类型", "Unsupported media type"),
            ErrorCode::Unauthenticated => ("请先登录", "Authentication required"),
            ErrorCode::TokenInvalid => ("登录凭证无效", "The access token is invalid"),
            ErrorCode::TokenExpired => ("登录已过期，请重新登录", "The access token has expired"),
            ErrorCode::InvalidCredentials => ("用户名或密码错误", "Wrong username or password"),
            ErrorCode::AccountDisabled => ("账号已停用", "The account is disabled"),
            ErrorCode::RefreshTokenInvalid => ("刷新令牌无效或已过期", "The refresh token is invalid or expired"),
            ErrorCode::RefreshTokenReused => (
                "刷新令牌已被使用，该登录会话已全部注销",
                "The refresh token was already used; the whole session has been revoked",
            ),
            ErrorCode::TooManyLoginAttempts => {
                ("登录失败次数过多，请稍后再试", "Too many failed sign-ins; try again later")
            }
            ErrorCode::MfaRequired => ("请输入两步验证码", "A two-factor (TOTP) code is required"),
            ErrorCode::MfaInvalid => ("两步验证码错误或已使用", "The two-factor code is wrong or was already used"),
            ErrorCode::PasswordLoginDisabled => {
                ("本账号请通过校园统一身份认证登录", "This account signs in through campus single sign-on")
            }
            ErrorCode::SsoCodeInvalid => {
                ("登录凭证无效或已使用，请重新登录", "The sign-in code is invalid or was already used")
            }
            ErrorCode::TooManyRequests => ("请求过于频繁，请稍后再试", "Too many requests; try again later"),
            ErrorCode::Forbidden => ("没有权限执行此操作", "You are not allowed to do this"),
            ErrorCode::NotFound => ("对象不存在", "Not found"),
            ErrorCode::RouteNotFound => ("接口不存在", "No such endpoint"),
            ErrorCode::MethodNotAllowed => ("该接口不支持此请求方法", "The endpoint does not support this method"),
            ErrorCode::VersionConflict => {
                ("数据已被他人修改，请刷新后重试", "The object was changed meanwhile; reload and try again")
            }
            ErrorCode::TaskAlreadyHandled => ("该待办已被处理", "The task was already handled"),
            ErrorCode::AffairStateConflict => {
                ("事务当前状态不允许此操作", "The affair's current state does not allow this")
            }
            ErrorCode::AlreadyExists => ("对象已存在", "The object already exists"),
            ErrorCode::InUse => ("对象正在被使用，不能执行此操作", "The object is in use"),
            ErrorCode::RuleViolation => ("违反业务规则", "A business rule forbids this"),
            ErrorCode::WeakPassword => ("密码不符合安全策略", "The password does not meet the password policy"),
            ErrorCode::ServiceUnavailable => ("服务暂时不可用，请稍后再试", "Service temporarily unavailable"),
            ErrorCode::Internal => ("服务器内部错误", "Internal server error"),
        };
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two languages of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Pick the language from an `Accept-Language` header value: English only when preferred over Chinese.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(h) = header else { return Lang::Zh };
        let mut best: Option<(f32, Lang)> = None;
        for part in h.split(',') {
            let mut it = part.trim().split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Zh)
    }
}

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

impl Msg {
    /// Build a message from both texts.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg { zh: zh.into(), en: en.into() }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, e.g. `username` or `password_policy.min_length`.
    pub field: String,
    /// Stable code such as `required`, `length`, `invalid`.
    pub code: String,
    /// Human message.
    pub message: Msg,
}

impl FieldError {
    /// Build a field error.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: Msg) -> FieldError {
        FieldError { field: field.into(), code: code.into(), message }
    }
}

/// The error every service returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A client-caused failure with a stable code and an optional detail.
    #[error("{code}")]
    Client {
        /// The stable code.
        code: ErrorCode,
        /// Extra explanation for people.
        detail: Option<Msg>,
        /// Field errors, for validation failures.
        errors: Vec<FieldError>,
        /// Seconds to wait, for 429 and 503.
        retry_after: Option<u64>,
    },
    /// The database failed; details are logged, never shown.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A client error with just a code.
    pub fn code(code: ErrorCode) -> AppError {
        AppError::Client { code, detail: None, errors: Vec::new(), retry_after: None }
    }

    /// A client error with a detail message.
    pub fn detail(code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> AppError {
        AppError::Client { code, detail: Some(Msg::new(zh, en)), errors: Vec::new(), retry_after: None }
    }

    /// A validation failure with field errors.
    pub fn fields(errors: Vec<FieldError>) -> AppError {
        AppError::Client { code: ErrorCode::ValidationFailed, detail: None, errors, retry_after: None }
    }

    /// A validation failure on one field.
    pub fn field(field: &str, code: &str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
        AppError::fields(vec![FieldError::new(field, code, Msg::new(zh, en))])
    }

    /// 409: a unique field is already used by another object.
    pub fn taken(field: &str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
        AppError::Client {
            code: ErrorCode::AlreadyExists,
            detail: None,
            errors: vec![FieldError::new(field, "taken", Msg::new(zh, en))],
            retry_after: None,
        }
    }

    /// 404 for an object that does not exist or that the caller may not know about.
    pub fn not_found() -> AppError {
        AppError::code(ErrorCode::NotFound)
    }

    /// 403.
    pub fn forbidden() -> AppError {
        AppError::code(ErrorCode::Forbidden)
    }

    /// 409 for a stale `version`.
    pub fn stale() -> AppError {
        AppError::code(ErrorCode::VersionConflict)
    }

    /// The stable code of this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            AppError::Client { code, .. } => *code,
            AppError::Db(e) if is_unavailable(e) => ErrorCode::ServiceUnavailable,
            AppError::Db(_) | AppError::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Whether a database error means the database cannot be reached right now (→ 503).
fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    matches!(e, sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_))
}

/// Result alias for services.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_english_only_when_asked() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en;q=0.5,zh;q=0.9")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.2")), Lang::En);
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
            assert!(!c.title(Lang::Zh).is_empty() && !c.title(Lang::En).is_empty());
        }
    }
}
