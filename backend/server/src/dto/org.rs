//! Organisation shapes: departments, users, roles, positions, audit records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::entity::{audit_log, department, position, user};
use crate::policy::{Permission, Scope};

string_enum! {
    /// What kind of unit a department is.
    DepartmentKind { School => "school", Office => "office", College => "college", Class => "class", Group => "group" }
}
string_enum! {
    /// Who a user is.
    UserKind { Student => "student", Staff => "staff", Alumni => "alumni", Visitor => "visitor", System => "system" }
}
string_enum! {
    /// Whether the account may sign in.
    UserStatus { Active => "active", Disabled => "disabled" }
}
string_enum! {
    /// An office a person holds.
    PositionKind {
        President => "president",
        Secretary => "secretary",
        SupervisingLeader => "supervising_leader",
        DepartmentHead => "department_head",
        Counsellor => "counsellor",
    }
}

fn parse_or<T>(s: &str, parse: fn(&str) -> Option<T>, fallback: T) -> T {
    parse(s).unwrap_or(fallback)
}

/// Usernames: 2–64 of lower-case letters, digits, `_`, `.`, `-`.
pub fn validate_username(s: &str) -> Result<(), ValidationError> {
    let ok = (2..=64).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if ok { Ok(()) } else { Err(ValidationError::new("username_format")) }
}

/// Codes: 1–64 of letters, digits, `_`, `-`.
pub fn validate_code(s: &str) -> Result<(), ValidationError> {
    let ok = (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok { Ok(()) } else { Err(ValidationError::new("code_format")) }
}

/// Human text: no control characters.
pub fn validate_text(s: &str) -> Result<(), ValidationError> {
    if s.chars().any(|c| c.is_control()) { Err(ValidationError::new("control_characters")) } else { Ok(()) }
}

/// Number-like identifiers (学号, 工号, phone): 1–32 of letters, digits and `-`.
pub fn validate_number(s: &str) -> Result<(), ValidationError> {
    let ok = (1..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+');
    if ok { Ok(()) } else { Err(ValidationError::new("number_format")) }
}

/// A department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentView {
    /// Id.
    pub id: Uuid,
    /// Parent department; `null` for the school itself.
    pub parent_id: Option<Uuid>,
    /// Short unique code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Kind of unit.
    pub kind: DepartmentKind,
    /// Order among siblings.
    pub sort_order: i32,
    /// Inactive departments stay for history but take no new members.
    pub active: bool,
    /// Optimistic-lock version; send it back on update.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<department::Model> for DepartmentView {
    fn from(m: department::Model) -> Self {
        DepartmentView {
            id: m.id,
            parent_id: m.parent_id,
            code: m.code,
            name: m.name,
            name_en: m.name_en,
            kind: parse_or(&m.kind, DepartmentKind::parse, DepartmentKind::Office),
            sort_order: m.sort_order,
            active: m.active,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `POST /departments`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateDepartment {
    /// Parent department (required for everything but the school).
    pub parent_id: Option<Uuid>,
    /// Unique code.
    #[validate(custom(function = "validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    pub code: String,
    /// Chinese name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    pub name_en: Option<String>,
    /// Kind of unit.
    pub kind: DepartmentKind,
    /// Order among siblings.
    #[validate(range(min = 0, max = 100000))]
    #[serde(default)]
    pub sort_order: i32,
}

/// `PUT /departments/{id}`: the whole editable state plus the version read.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateDepartment {
    /// Parent department.
    pub parent_id: Option<Uuid>,
    /// Chinese name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    pub name_en: Option<String>,
    /// Order among siblings.
    #[validate(range(min = 0, max = 100000))]
    pub sort_order: i32,
    /// Active.
    pub active: bool,
    /// The version this update is based on.
    pub version: i32,
}

/// Filters for `GET /departments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepartmentQuery {
    /// Only children of this department.
    pub parent_id: Option<Uuid>,
    /// Only this kind.
    pub kind: Option<DepartmentKind>,
    /// Name or code contains.
    pub q: Option<String>,
}

/// A user account as admins and the user see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Kind of user.
    pub kind: UserKind,
    /// 学号, for students.
    pub student_no: Option<String>,
    /// 工号, for staff.
    pub staff_no: Option<String>,
    /// Primary department (a class for students).
    pub department_id: Option<Uuid>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Account status.
    pub status: UserStatus,
    /// Whether a local password is set.
    pub has_password: bool,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for UserView {
    fn from(m: user::Model) -> Self {
        UserView {
            id: m.id,
            username: m.username,
            display_name: m.display_name,
            kind: parse_or(&m.kind, UserKind::parse, UserKind::Visitor),
            student_no: m.student_no,
            staff_no: m.staff_no,
            department_id: m.department_id,
            email: m.email,
            phone: m.phone,
            status: parse_or(&m.status, UserStatus::parse, UserStatus::Disabled),
            has_password: m.password_hash.is_some(),
            last_login_at: m.last_login_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `POST /users`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Username (lower case).
    #[validate(custom(function = "validate_username"))]
    #[schema(pattern = "^[a-z0-9_.-]{2,64}$", min_length = 2, max_length = 64)]
    pub username: String,
    /// Name shown.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub display_name: String,
    /// Kind of user.
    pub kind: UserKind,
    /// 学号 (students).
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub student_no: Option<String>,
    /// 工号 (staff).
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub staff_no: Option<String>,
    /// Primary department (a class for students).
    pub department_id: Option<Uuid>,
    /// E-mail.
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Phone.
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub phone: Option<String>,
    /// Initial password; omit for single-sign-on-only accounts.
    #[validate(length(max = 256))]
    pub password: Option<String>,
}

/// `PUT /users/{id}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Name shown.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub display_name: String,
    /// Kind of user.
    pub kind: UserKind,
    /// 学号.
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub student_no: Option<String>,
    /// 工号.
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub staff_no: Option<String>,
    /// Primary department.
    pub department_id: Option<Uuid>,
    /// E-mail.
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// Phone.
    #[validate(custom(function = "validate_number"))]
    #[schema(pattern = "^[A-Za-z0-9+-]{1,32}$", min_length = 1, max_length = 32)]
    pub phone: Option<String>,
    /// Account status; disabling ends every session.
    pub status: UserStatus,
    /// The version this update is based on.
    pub version: i32,
}

/// `POST /users/{id}/password`: an administrator sets a new password.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password.
    #[validate(length(min = 1, max = 256))]
    pub password: String,
    /// The user's version this is based on.
    pub version: i32,
}

/// Filters for `GET /users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Username, name, 学号 or 工号 contains.
    pub q: Option<String>,
    /// Only these users: ids separated by commas (at most 100), for showing names.
    pub ids: Option<String>,
    /// Only this department (not its sub-departments).
    pub department_id: Option<Uuid>,
    /// Only this kind.
    pub kind: Option<UserKind>,
    /// Only this status.
    pub status: Option<UserStatus>,
}

/// `GET /people`: find a member of staff by name, username or 工号.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Name contains, or username or 工号 is.
    #[validate(length(min = 1, max = 64), custom(function = "validate_text"))]
    #[param(min_length = 1, max_length = 64)]
    pub q: String,
    /// Only this department (and the departments below it).
    pub department_id: Option<Uuid>,
}

/// A member of staff as anyone signed in may find them (a campus directory entry: no contact
/// details, no numbers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonCard {
    /// User id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Their department.
    pub department_id: Option<Uuid>,
    /// Its name.
    pub department_name: Option<String>,
}

/// A role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleView {
    /// Id.
    pub id: Uuid,
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// What it is for.
    pub description: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    /// Permissions granted.
    pub permissions: Vec<Permission>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// `POST /roles`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// Unique code.
    #[validate(custom(function = "validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    pub code: String,
    /// Chinese name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    pub name_en: Option<String>,
    /// What it is for.
    #[validate(length(max = 2000))]
    #[serde(default)]
    pub description: String,
    /// Permissions granted.
    #[validate(length(max = 64))]
    pub permissions: Vec<Permission>,
}

/// `PUT /roles/{id}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    /// Chinese name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    pub name_en: Option<String>,
    /// What it is for.
    #[validate(length(max = 2000))]
    pub description: String,
    /// Permissions granted.
    #[validate(length(max = 64))]
    pub permissions: Vec<Permission>,
    /// The version this update is based on.
    pub version: i32,
}

/// A permission and its names.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    /// The permission code.
    pub code: Permission,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// One role granted to a user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    /// The role.
    pub role_id: Uuid,
    /// How far it reaches.
    pub scope: Scope,
    /// For `department` scope: the department (default: the user's own).
    pub department_id: Option<Uuid>,
}

/// `PUT /users/{id}/roles`: replace the user's roles.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetUserRoles {
    /// The complete new set of roles.
    #[validate(length(max = 32), nested)]
    pub roles: Vec<RoleAssignment>,
    /// The user's version this is based on.
    pub version: i32,
}

/// A user's roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRolesView {
    /// Roles held.
    pub roles: Vec<RoleAssignmentView>,
    /// The user's version after the change.
    pub version: i32,
}

/// A role held by a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleAssignmentView {
    /// The role.
    pub role_id: Uuid,
    /// Role code.
    pub role_code: String,
    /// Role name.
    pub role_name: String,
    /// How far it reaches.
    pub scope: Scope,
    /// Anchor department.
    pub department_id: Option<Uuid>,
}

/// A position (职务).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionView {
    /// Id.
    pub id: Uuid,
    /// Holder.
    pub user_id: Uuid,
    /// Kind.
    pub kind: PositionKind,
    /// The department: headed, supervised (分管), or the class of a 辅导员; `null` for 院长 and 党委书记.
    pub department_id: Option<Uuid>,
    /// Title shown, e.g. 分管学生工作副院长.
    pub title: String,
    /// Optimistic-lock version.
    pub version: i32,
}

impl From<position::Model> for PositionView {
    fn from(m: position::Model) -> Self {
        PositionView {
            id: m.id,
            user_id: m.user_id,
            kind: parse_or(&m.kind, PositionKind::parse, PositionKind::DepartmentHead),
            department_id: m.department_id,
            title: m.title,
            version: m.version,
        }
    }
}

/// `POST /positions`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePosition {
    /// Holder.
    pub user_id: Uuid,
    /// Kind.
    pub kind: PositionKind,
    /// Department (not for 院长 and 党委书记).
    pub department_id: Option<Uuid>,
    /// Title shown.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub title: String,
}

/// `PUT /positions/{id}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePosition {
    /// Holder.
    pub user_id: Uuid,
    /// Title shown.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub title: String,
    /// The version this update is based on.
    pub version: i32,
}

/// Filters for `GET /positions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PositionQuery {
    /// Only this holder.
    pub user_id: Option<Uuid>,
    /// Only this department.
    pub department_id: Option<Uuid>,
    /// Only this kind.
    pub kind: Option<PositionKind>,
}

/// Optimistic-lock version passed as a query parameter (for DELETE).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The version the deletion is based on.
    pub version: i32,
}

/// An audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogView {
    /// Position in the trail.
    pub seq: i64,
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Acting user.
    pub actor_id: Option<Uuid>,
    /// Acting username.
    pub actor_name: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Action, e.g. `user.update`.
    pub action: String,
    /// Object type.
    pub object_type: String,
    /// Object id.
    pub object_id: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
    /// State before.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
    /// SHA-256 of the record's canonical content.
    pub hash: String,
    /// Position in the tamper-evident chain, once sealed.
    pub chain_pos: Option<i64>,
    /// Chain hash of the record before it.
    pub prev_hash: Option<String>,
    /// This record's chain hash.
    pub chain_hash: Option<String>,
}

impl From<audit_log::Model> for AuditLogView {
    fn from(m: audit_log::Model) -> Self {
        AuditLogView {
            seq: m.seq,
            id: m.id,
            at: m.at,
            actor_id: m.actor_id,
            actor_name: m.actor_name,
            ip: m.ip,
            request_id: m.request_id,
            action: m.action,
            object_type: m.object_type,
            object_id: m.object_id,
            success: m.success,
            before: m.before,
            after: m.after,
            hash: m.hash,
            chain_pos: m.chain_pos,
            prev_hash: m.prev_hash,
            chain_hash: m.chain_hash,
        }
    }
}

/// Filters for `GET /audit-logs`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    pub action: Option<String>,
    /// Only this object type.
    pub object_type: Option<String>,
    /// Only this object.
    pub object_id: Option<String>,
    /// Only this actor.
    pub actor_id: Option<Uuid>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub to: Option<DateTime<Utc>>,
}
