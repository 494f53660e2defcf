//! Sign-in shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::policy::{Permission, Scope};

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"username": "student1", "password": "Tongban@2026"}))]
pub struct LoginRequest {
    /// Username, 学号 or 工号.
    #[validate(length(min = 1, max = 64))]
    pub username: String,
    /// Password.
    #[validate(length(min = 1, max = 256))]
    pub password: String,
    /// The six-digit code of the authenticator app, for accounts with a second factor (the first
    /// attempt without it answers `mfa_required`).
    #[serde(default)]
    #[validate(length(min = 1, max = 16))]
    pub totp_code: Option<String>,
}

/// Tokens handed out at sign-in and refresh.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Rotating refresh token; each one can be used once.
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct LogoutRequest {
    /// The refresh token of the session to end.
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// `PUT /me/password`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[validate(length(min = 1, max = 256))]
    pub current_password: String,
    /// The new password; must satisfy the password policy.
    #[validate(length(min = 1, max = 256))]
    pub new_password: String,
}

/// A role held, with its scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeRole {
    /// Role code.
    pub code: String,
    /// Role name.
    pub name: String,
    /// Data scope.
    pub scope: Scope,
    /// The department the scope is anchored at, when any.
    pub department_id: Option<Uuid>,
}

/// A permission with its widest scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct MePermission {
    /// The permission.
    pub permission: Permission,
    /// The widest scope it is held with.
    pub scope: Scope,
}

/// `GET /me`: who is signed in and what they may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The user.
    pub user: super::org::UserView,
    /// Roles held.
    pub roles: Vec<MeRole>,
    /// Permissions held, each with its widest scope.
    pub permissions: Vec<MePermission>,
    /// Positions held.
    pub positions: Vec<super::org::PositionView>,
}

/// A sign-in session (a device or browser that signed in).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id (the `sid` of its access tokens).
    pub id: Uuid,
    /// How it signed in: `password`, `oidc` or `cas`.
    #[schema(example = "password")]
    pub method: String,
    /// Authentication methods (`pwd`, `otp`, `oidc`, `cas`).
    pub amr: Vec<String>,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// When its tokens were last refreshed.
    pub last_used_at: DateTime<Utc>,
    /// Client address at the last refresh.
    pub ip: Option<String>,
    /// Browser or app.
    pub user_agent: Option<String>,
    /// Whether this is the session of the calling token.
    pub current: bool,
}

/// A campus identity provider on the sign-in page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoProvider {
    /// `oidc` or `cas`.
    pub id: String,
    /// Name on the button.
    pub name: String,
    /// Where the browser goes to sign in (append `?return_to=/path`).
    pub login_url: String,
}

/// `GET /auth/sso/providers`: how one may sign in here.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInOptions {
    /// Campus identity providers configured.
    pub providers: Vec<SsoProvider>,
    /// Who may use the local password form: `everyone` or `admins`.
    #[schema(example = "everyone")]
    pub password_login: String,
}

/// `GET /auth/sso/{provider}/login`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoLoginQuery {
    /// The web app's path to return to after signing in (a path of this site).
    pub return_to: Option<String>,
}

/// `POST /auth/sso/exchange`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct SsoExchangeRequest {
    /// The single-use code the callback handed to the web app.
    #[validate(length(min = 1, max = 256))]
    pub code: String,
}

/// `GET /me/totp`: the caller's second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatus {
    /// Whether a second factor is enrolled and asked for at sign-in.
    pub enabled: bool,
    /// When it was enabled.
    pub enabled_at: Option<DateTime<Utc>>,
    /// Whether this account's administrator permissions need it (`sso.admin_totp = required`).
    pub required: bool,
    /// Whether the calling session signed in with it.
    pub session_verified: bool,
}

/// `POST /me/totp/setup`: proves it is the account holder before a new secret is shown.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct TotpSetupRequest {
    /// The current password.
    #[validate(length(min = 1, max = 256))]
    pub password: String,
}

/// A new TOTP secret, shown once, to be confirmed with a code (`POST /me/totp/enable`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetup {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

/// `POST /me/totp/enable` and `POST /me/totp/disable`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct TotpCodeRequest {
    /// The six-digit code the authenticator app shows now.
    #[validate(length(min = 6, max = 6))]
    pub code: String,
}
