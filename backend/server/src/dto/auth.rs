//! Sign-in shapes.

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
