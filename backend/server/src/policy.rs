//! Authorisation, decided in one place.
//!
//! A [`Principal`] is the signed-in user with the permissions of their roles, each granted with a
//! data scope. Handlers ask two questions only: "may this principal do P at all?"
//! ([`Principal::require`]) and "may they do P to this object?" ([`Principal::require_on`]).
//! Lists are narrowed with [`Principal::scope`]. No other module compares role names.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

macro_rules! permissions {
    ($( $variant:ident => $code:literal, $zh:literal, $en:literal; )*) => {
        /// A permission a role can grant. Codes are stable strings stored in `role_permissions`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Permission {
            $( #[doc = $en] #[serde(rename = $code)] $variant, )*
        }

        // Written by hand: utoipa's derive does not see `rename` attributes that a macro emits.
        impl utoipa::PartialSchema for Permission {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::dto::string_enum_schema(&[$($code),*])
            }
        }

        impl ToSchema for Permission {}

        impl Permission {
            /// All permissions.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// Stable code.
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $code,)* }
            }

            /// Parse a stable code.
            pub fn parse(s: &str) -> Option<Permission> {
                match s { $($code => Some(Permission::$variant),)* _ => None }
            }

            /// Chinese and English names.
            pub fn names(self) -> (&'static str, &'static str) {
                match self { $(Permission::$variant => ($zh, $en),)* }
            }
        }
    };
}

permissions! {
    AffairApply => "affair.apply", "申请办事", "Apply for services";
    TaskHandle => "task.handle", "办理待办事项", "Handle tasks";
    AffairRead => "affair.read", "查看办件", "Read affairs of the departments in scope";
    ConsultAnswer => "consult.answer", "答复在线咨询", "Answer questions on guides (在线咨询)";
    OrgRead => "org.read", "查看组织机构与人员", "Read departments, positions and users";
    OrgManage => "org.manage", "管理部门与岗位", "Manage departments and positions";
    UserManage => "user.manage", "管理用户账号与角色分配", "Manage user accounts and role assignments";
    RoleManage => "role.manage", "管理角色与权限", "Manage roles and permissions";
    GuideManage => "guide.manage", "管理办事指南", "Manage service guides";
    ProcessManage => "process.manage", "管理流程定义", "Manage process definitions";
    CertificateIssue => "certificate.issue", "签发电子证照", "Issue e-certificates";
    StatsRead => "stats.read", "查看统计与督办", "Read statistics and supervision figures";
    SupervisionManage => "supervision.manage", "督查与违规处理", "Keep the violations register (discipline office)";
    AuditRead => "audit.read", "查阅审计日志", "Read the audit trail";
    SettingsManage => "settings.manage", "管理系统设置", "Manage platform settings";
    ApiIntegrate => "api.integrate", "第三方系统接入", "Integrate as a third-party system";
}

/// How far a granted permission reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only objects the user owns.
    Own,
    /// Objects of one department and its sub-departments.
    Department,
    /// Objects of the departments the user supervises as 分管院领导 (and their sub-departments).
    Supervised,
    /// Everything.
    All,
}

impl Scope {
    /// Stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Department => "department",
            Scope::Supervised => "supervised",
            Scope::All => "all",
        }
    }

    /// Parse a stable code.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "own" => Some(Scope::Own),
            "department" => Some(Scope::Department),
            "supervised" => Some(Scope::Supervised),
            "all" => Some(Scope::All),
            _ => None,
        }
    }
}

/// One permission as granted through a role, already resolved to departments.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The permission.
    pub permission: Permission,
    /// The scope it was granted with.
    pub scope: Scope,
    /// For `Department` and `Supervised`: the departments reached, sub-departments included.
    pub departments: HashSet<Uuid>,
}

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User id.
    pub user_id: Uuid,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// The user's own (primary) department.
    pub department_id: Option<Uuid>,
    /// Everything the user's roles grant.
    pub grants: Vec<Grant>,
}

/// What an object is, as far as access control cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target {
    /// The user who owns the object (applicant, holder, the user record itself).
    pub owner_id: Option<Uuid>,
    /// The department the object belongs to.
    pub department_id: Option<Uuid>,
}

/// The part of the data a principal may see for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataScope {
    /// No restriction.
    All,
    /// Objects in these departments, or owned by `owner` when set.
    Limited {
        /// Departments reached.
        departments: HashSet<Uuid>,
        /// The caller's own id when own objects are included.
        owner: Option<Uuid>,
    },
}

/// The administrators' permissions (系统管理员、安全管理员、审计管理员 in MLPS 2.0 terms): who holds one
/// counts as an administrator for the local password login and the TOTP second factor.
pub const ADMIN_PERMISSIONS: &[Permission] =
    &[Permission::SettingsManage, Permission::RoleManage, Permission::UserManage, Permission::AuditRead];

impl Principal {
    /// Whether the principal holds one of the [`ADMIN_PERMISSIONS`].
    pub fn is_administrator(&self) -> bool {
        ADMIN_PERMISSIONS.iter().any(|p| self.has(*p))
    }

    /// Drop the administrators' permissions (a session without the second factor they require).
    pub fn without_admin_permissions(&mut self) {
        self.grants.retain(|g| !ADMIN_PERMISSIONS.contains(&g.permission));
    }

    /// Whether the principal holds `p` with any scope.
    pub fn has(&self, p: Permission) -> bool {
        self.grants.iter().any(|g| g.permission == p)
    }

    /// Function-level check: 403 unless `p` is granted with any scope.
    pub fn require(&self, p: Permission) -> AppResult<()> {
        if self.has(p) { Ok(()) } else { Err(AppError::forbidden()) }
    }

    /// Whether `p` reaches the object `t`.
    pub fn can_on(&self, p: Permission, t: Target) -> bool {
        self.grants.iter().filter(|g| g.permission == p).any(|g| match g.scope {
            Scope::All => true,
            Scope::Own => t.owner_id == Some(self.user_id),
            Scope::Department | Scope::Supervised => t.department_id.is_some_and(|d| g.departments.contains(&d)),
        })
    }

    /// Whether `p` is held for `department` itself — through a grant scoped to that department (or
    /// one above it) — as its own administrators hold it, rather than college-wide.
    pub fn holds_for_department(&self, p: Permission, department: Uuid) -> bool {
        self.grants
            .iter()
            .any(|g| g.permission == p && g.scope == Scope::Department && g.departments.contains(&department))
    }

    /// Object-level check: 403 when `p` is held but does not reach `t`, and 403 when not held.
    pub fn require_on(&self, p: Permission, t: Target) -> AppResult<()> {
        if self.can_on(p, t) { Ok(()) } else { Err(AppError::forbidden()) }
    }

    /// The data reachable with `p`, for narrowing list queries; `None` when `p` is not held.
    pub fn scope(&self, p: Permission) -> Option<DataScope> {
        let mut found = false;
        let mut departments = HashSet::new();
        let mut owner = None;
        for g in self.grants.iter().filter(|g| g.permission == p) {
            found = true;
            match g.scope {
                Scope::All => return Some(DataScope::All),
                Scope::Own => owner = Some(self.user_id),
                Scope::Department | Scope::Supervised => departments.extend(g.departments.iter().copied()),
            }
        }
        found.then_some(DataScope::Limited { departments, owner })
    }

    /// Permissions held, sorted, without duplicates.
    pub fn permissions(&self) -> Vec<Permission> {
        let mut v: Vec<Permission> = self.grants.iter().map(|g| g.permission).collect();
        v.sort_by_key(|p| p.as_str());
        v.dedup();
        v
    }
}

/// A role that exists in every installation; its permissions are kept equal to this list at start.
pub struct BuiltinRole {
    /// Stable code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// What the role is for.
    pub description: &'static str,
    /// Permissions granted.
    pub permissions: &'static [Permission],
}

use Permission as P;

/// The built-in roles of brief.md.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        code: "applicant",
        name: "申请人",
        name_en: "Applicant",
        description: "学生、教职工、校友和访客：浏览大厅、申请办事、查看进度",
        permissions: &[P::AffairApply],
    },
    BuiltinRole {
        code: "handler",
        name: "经办人",
        name_en: "Handler",
        description: "办理待办事项，查看本部门人员",
        permissions: &[P::TaskHandle, P::OrgRead, P::ConsultAnswer],
    },
    BuiltinRole {
        code: "dept_admin",
        name: "部门管理员",
        name_en: "Department administrator",
        description: "事项主体部门管理员：管理本部门的办事指南、证照与日常督办",
        permissions: &[
            P::OrgRead,
            P::GuideManage,
            P::CertificateIssue,
            P::StatsRead,
            P::TaskHandle,
            P::AffairRead,
            P::ConsultAnswer,
        ],
    },
    BuiltinRole {
        code: "it_admin",
        name: "信息化管理员",
        name_en: "IT office administrator",
        description: "信息化管理办公室：平台、流程、用户、角色与安全管理",
        permissions: &[
            P::OrgRead,
            P::OrgManage,
            P::UserManage,
            P::RoleManage,
            P::GuideManage,
            P::ProcessManage,
            P::CertificateIssue,
            P::StatsRead,
            P::SettingsManage,
            P::TaskHandle,
            P::AffairRead,
            P::ConsultAnswer,
            // Not a capability of the IT office's own (no endpoint asks for it): held so that the
            // office may give the 第三方系统 role to the accounts of the API clients it manages.
            P::ApiIntegrate,
        ],
    },
    BuiltinRole {
        code: "leader",
        name: "校领导",
        name_en: "School leader",
        description: "院长、书记、分管院领导：审批与督办统计",
        permissions: &[P::TaskHandle, P::StatsRead, P::OrgRead, P::AffairRead],
    },
    BuiltinRole {
        code: "supervisor",
        name: "督查",
        name_en: "Supervisor",
        description: "网络安全和信息化工作领导小组、纪委：督办统计、红黄牌与违规登记（第三条、第十四条）",
        permissions: &[P::StatsRead, P::SupervisionManage, P::AffairRead, P::OrgRead],
    },
    BuiltinRole {
        code: "auditor",
        name: "审计员",
        name_en: "Auditor",
        description: "只读查阅审计日志与档案",
        permissions: &[P::AuditRead, P::OrgRead],
    },
    BuiltinRole {
        code: "integrator",
        name: "第三方系统",
        name_en: "Integrator",
        description: "通过 API 凭据接入的第三方系统",
        permissions: &[P::ApiIntegrate],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: Vec<Grant>) -> Principal {
        Principal {
            user_id: Uuid::from_u128(1),
            username: "u".into(),
            display_name: "U".into(),
            department_id: Some(Uuid::from_u128(10)),
            grants,
        }
    }

    fn grant(p: Permission, scope: Scope, depts: &[u128]) -> Grant {
        Grant { permission: p, scope, departments: depts.iter().map(|d| Uuid::from_u128(*d)).collect() }
    }

    #[test]
    fn permission_codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::parse("org.nope"), None);
    }

    #[test]
    fn department_scope_reaches_only_its_departments() {
        let p = principal(vec![grant(P::OrgRead, Scope::Department, &[10, 11])]);
        let inside = Target { owner_id: None, department_id: Some(Uuid::from_u128(11)) };
        let outside = Target { owner_id: None, department_id: Some(Uuid::from_u128(12)) };
        assert!(p.can_on(P::OrgRead, inside));
        assert!(!p.can_on(P::OrgRead, outside));
        assert!(!p.can_on(P::OrgManage, inside), "a permission not held reaches nothing");
        assert!(p.require_on(P::OrgRead, outside).is_err());
    }

    #[test]
    fn own_scope_reaches_only_own_objects() {
        let p = principal(vec![grant(P::AffairApply, Scope::Own, &[])]);
        assert!(p.can_on(P::AffairApply, Target { owner_id: Some(Uuid::from_u128(1)), department_id: None }));
        assert!(!p.can_on(P::AffairApply, Target { owner_id: Some(Uuid::from_u128(2)), department_id: None }));
    }

    #[test]
    fn scope_is_the_union_of_grants_and_all_wins() {
        let p =
            principal(vec![grant(P::OrgRead, Scope::Department, &[10]), grant(P::OrgRead, Scope::Supervised, &[20])]);
        match p.scope(P::OrgRead) {
            Some(DataScope::Limited { departments, owner }) => {
                assert_eq!(departments.len(), 2);
                assert_eq!(owner, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        let p = principal(vec![grant(P::OrgRead, Scope::Department, &[10]), grant(P::OrgRead, Scope::All, &[])]);
        assert_eq!(p.scope(P::OrgRead), Some(DataScope::All));
        assert_eq!(p.scope(P::AuditRead), None);
    }

    #[test]
    fn builtin_role_codes_are_unique() {
        let mut seen = HashSet::new();
        for r in BUILTIN_ROLES {
            assert!(seen.insert(r.code));
        }
    }
}
