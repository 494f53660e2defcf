//! The access-control matrix: for every operation on an object, which relations of the caller to
//! the object allow it, and which permissions' data scopes reach it.
//!
//! This table is the one source of the object-level rules. The services ask it
//! ([`Principal::may`], [`Rule::allows`]) instead of naming permissions themselves; `tongban
//! access-matrix` renders it, with the built-in roles, as `docs/access-control.md` (a reviewed,
//! checked-in document: a test fails when the table and the document differ, so loosening a row
//! shows up in review); and `tests/api/access_matrix.rs` is generated from it: for every row, every
//! demo account and a real object of the demo college, the test works out from the college's
//! facts (role assignments with their scopes, positions, the department tree) whether the row lets
//! the account in, calls the endpoint, and fails on any difference.
//!
//! Relations: [`Relation::Own`] — the caller owns the object (the applicant of an affair, the
//! holder of a certificate, the user record itself); [`Relation::Handler`] — the caller has, had or
//! may claim a task of the affair; [`Relation::Copied`] — the affair was copied (抄送) to the
//! caller; [`Relation::Scope`] — one of the row's permissions is granted to the caller with a data
//! scope that reaches the object's department ([`crate::policy::Scope`]); [`Relation::Granted`] —
//! one of the row's permissions is held at all (function-level: lists narrowed by scope).

use std::fmt::Write as _;

use uuid::Uuid;

use crate::policy::{BUILTIN_ROLES, DataScope, Permission, Principal, Target};

/// How the caller stands to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Owner: applicant, holder, the user record itself.
    Own,
    /// Has, had or may claim a task of the affair.
    Handler,
    /// The affair was copied (抄送) to the caller.
    Copied,
    /// One of the permissions reaches the object's department.
    Scope,
    /// One of the permissions is held (any scope).
    Granted,
    /// One of the permissions is held college-wide (全校).
    CollegeWide,
}

impl Relation {
    fn label(self) -> &'static str {
        match self {
            Relation::Own => "本人（申请人、持证人、账号本人）",
            Relation::Handler => "经办人（有、曾有或可认领其任务）",
            Relation::Copied => "被抄送人",
            Relation::Scope => "权限的数据范围覆盖对象所属部门",
            Relation::Granted => "持有该权限（列表按数据范围收窄）",
            Relation::CollegeWide => "以全校范围持有该权限",
        }
    }
}

/// What a caller who is not let in receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// 404: the object's existence is not disclosed.
    NotFound,
    /// 403 for those who may see the object but not do this; 404 for the rest.
    Forbidden,
}

/// An operation on an object that the matrix governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Read an affair (its page, timeline, form).
    AffairRead,
    /// Withdraw an affair.
    AffairWithdraw,
    /// Download an affair's material.
    AttachmentDownload,
    /// Read a certificate.
    CertificateRead,
    /// Revoke a certificate.
    CertificateRevoke,
    /// Read a user record.
    UserRead,
    /// Change a user record (and end their sessions).
    UserUpdate,
    /// List a user's sign-in sessions.
    UserSessionsRead,
    /// Edit a guide's draft.
    GuideUpdate,
    /// Edit a process draft.
    ProcessUpdate,
    /// Change a department.
    DepartmentUpdate,
    /// Read the audit trail.
    AuditRead,
    /// Read supervision figures.
    StatsRead,
}

/// One row of the matrix.
#[derive(Debug)]
pub struct Rule {
    /// The operation.
    pub op: Op,
    /// HTTP method and path of the endpoint that performs it.
    pub endpoint: (&'static str, &'static str),
    /// Relations that let the caller in.
    pub relations: &'static [Relation],
    /// Permissions whose scope ([`Relation::Scope`]) or presence ([`Relation::Granted`]) counts.
    pub permissions: &'static [Permission],
    /// What a caller not let in receives.
    pub denial: Denial,
}

use Permission as P;
use Relation as R;

/// The matrix.
pub const RULES: &[Rule] = &[
    Rule {
        op: Op::AffairRead,
        endpoint: ("GET", "/api/v1/affairs/{id}"),
        relations: &[R::Own, R::Handler, R::Copied, R::Scope],
        permissions: &[P::AffairRead, P::ProcessManage],
        denial: Denial::NotFound,
    },
    Rule {
        op: Op::AffairWithdraw,
        endpoint: ("POST", "/api/v1/affairs/{id}/withdraw"),
        relations: &[R::Own],
        permissions: &[],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::AttachmentDownload,
        endpoint: ("GET", "/api/v1/attachments/{id}"),
        relations: &[R::Own, R::Handler, R::Copied, R::Scope],
        permissions: &[P::AffairRead, P::ProcessManage],
        denial: Denial::NotFound,
    },
    Rule {
        op: Op::CertificateRead,
        endpoint: ("GET", "/api/v1/certificates/{id}"),
        relations: &[R::Own, R::Scope],
        permissions: &[P::CertificateIssue],
        denial: Denial::NotFound,
    },
    Rule {
        op: Op::CertificateRevoke,
        endpoint: ("POST", "/api/v1/certificates/{id}/revoke"),
        relations: &[R::Scope],
        permissions: &[P::CertificateIssue],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::UserRead,
        endpoint: ("GET", "/api/v1/users/{id}"),
        relations: &[R::Own, R::Scope],
        permissions: &[P::OrgRead],
        denial: Denial::NotFound,
    },
    Rule {
        op: Op::UserUpdate,
        endpoint: ("PUT", "/api/v1/users/{id}"),
        relations: &[R::Scope],
        permissions: &[P::UserManage],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::UserSessionsRead,
        endpoint: ("GET", "/api/v1/users/{id}/sessions"),
        relations: &[R::Own, R::Scope],
        permissions: &[P::UserManage],
        denial: Denial::NotFound,
    },
    Rule {
        op: Op::GuideUpdate,
        endpoint: ("PUT", "/api/v1/guides/{id}"),
        relations: &[R::Scope],
        permissions: &[P::GuideManage],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::ProcessUpdate,
        endpoint: ("PUT", "/api/v1/processes/{id}"),
        relations: &[R::Scope],
        permissions: &[P::ProcessManage],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::DepartmentUpdate,
        endpoint: ("PUT", "/api/v1/departments/{id}"),
        relations: &[R::Scope],
        permissions: &[P::OrgManage],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::AuditRead,
        endpoint: ("GET", "/api/v1/audit-logs"),
        relations: &[R::CollegeWide],
        permissions: &[P::AuditRead],
        denial: Denial::Forbidden,
    },
    Rule {
        op: Op::StatsRead,
        endpoint: ("GET", "/api/v1/stats/overview"),
        relations: &[R::Granted],
        permissions: &[P::StatsRead],
        denial: Denial::Forbidden,
    },
];

/// The row of `op`.
pub fn rule(op: Op) -> &'static Rule {
    RULES.iter().find(|r| r.op == op).expect("every operation has a row in access::RULES")
}

impl Rule {
    /// Whether the relation lets the caller in.
    pub fn allows(&self, r: Relation) -> bool {
        self.relations.contains(&r)
    }
}

/// What the caller is to the object, as far as the cheap checks go (no database).
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The object's owner.
    pub owner_id: Option<Uuid>,
    /// The departments the object belongs to (an affair: its process's and its own).
    pub departments: &'a [Option<Uuid>],
}

impl Principal {
    /// Whether the row of `op` lets the caller in by ownership, scope or grant. Relations that need
    /// the database (handler, copied) are asked by the service through [`Rule::allows`].
    pub fn may(&self, op: Op, f: &Facts<'_>) -> bool {
        let r = rule(op);
        (r.allows(R::Own) && f.owner_id == Some(self.user_id))
            || (r.allows(R::Granted) && r.permissions.iter().any(|p| self.has(*p)))
            || (r.allows(R::CollegeWide) && r.permissions.iter().any(|p| self.scope(*p) == Some(DataScope::All)))
            || (r.allows(R::Scope) && self.reaches(r, f))
    }

    fn reaches(&self, r: &Rule, f: &Facts<'_>) -> bool {
        r.permissions
            .iter()
            .any(|p| f.departments.iter().any(|d| self.can_on(*p, Target { owner_id: None, department_id: *d })))
    }
}

/// `docs/access-control.md`: the matrix with the built-in roles, as `tongban access-matrix` prints it.
pub fn document() -> String {
    let mut s = String::new();
    s.push_str(
        "# 访问控制矩阵 · Access-control matrix\n\n\
         Generated by `tongban access-matrix` from `backend/server/src/access.rs` (the table the services \
         ask) and the built-in roles of `backend/server/src/policy.rs`; `tests/api/access_matrix.rs` calls \
         every row's endpoint as every demo account against a real object and fails on any difference, and a \
         unit test fails when this file and the table differ. Change the table, regenerate this file, and \
         let the change be reviewed.\n\n\
         A role's permission reaches only as far as the scope of its assignment (本人 own, 本部门 department \
         and its sub-departments, 分管部门 supervised departments, 全校 all).\n\n",
    );
    s.push_str("## Relations\n\n");
    for r in [R::Own, R::Handler, R::Copied, R::Scope, R::Granted, R::CollegeWide] {
        let _ = writeln!(s, "- `{r:?}`: {}", r.label());
    }
    s.push_str("\n## Operations\n\n| operation | endpoint | let in by | permissions | otherwise |\n| --- | --- | --- | --- | --- |\n");
    for r in RULES {
        let rel: Vec<String> = r.relations.iter().map(|x| format!("`{x:?}`")).collect();
        let perms: Vec<String> = r.permissions.iter().map(|p| format!("`{}`", p.as_str())).collect();
        let denial = match r.denial {
            Denial::NotFound => "404",
            Denial::Forbidden => "403 (404 if unseen)",
        };
        let _ = writeln!(
            s,
            "| {:?} | `{} {}` | {} | {} | {} |",
            r.op,
            r.endpoint.0,
            r.endpoint.1,
            rel.join(", "),
            if perms.is_empty() { "—".to_owned() } else { perms.join(", ") },
            denial
        );
    }
    s.push_str("\n## Built-in roles\n\n✓: the role lets its holder in within its assignment's scope (by `Scope`, `Granted`, or `CollegeWide` when assigned college-wide); \
        ownership, handling and copies count for every role.\n\n| operation |");
    for role in BUILTIN_ROLES {
        let _ = write!(s, " {} |", role.code);
    }
    s.push_str("\n| --- |");
    for _ in BUILTIN_ROLES {
        s.push_str(" --- |");
    }
    s.push('\n');
    for r in RULES {
        let _ = write!(s, "| {:?} |", r.op);
        for role in BUILTIN_ROLES {
            let by_permission = (r.allows(R::Scope) || r.allows(R::Granted) || r.allows(R::CollegeWide))
                && r.permissions.iter().any(|p| role.permissions.contains(p));
            s.push_str(if by_permission { " ✓ |" } else { " · |" });
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../../docs/access-control.md");

    #[test]
    fn the_checked_in_matrix_is_the_table() {
        assert!(
            DOC == document(),
            "docs/access-control.md differs from access::RULES; regenerate it with \
             `cargo run -p tongban-server --bin tongban -- access-matrix > docs/access-control.md` and review the change"
        );
    }

    #[test]
    fn every_operation_has_one_row() {
        use std::collections::HashSet;
        let ops: HashSet<Op> = RULES.iter().map(|r| r.op).collect();
        assert_eq!(ops.len(), RULES.len(), "an operation has two rows");
        let endpoints: HashSet<_> = RULES.iter().map(|r| r.endpoint).collect();
        assert_eq!(endpoints.len(), RULES.len(), "an endpoint has two rows");
    }

    /// The table's shape keeps the least-privilege rules: nobody is let in for nothing, scope and
    /// grant rows name permissions, and changes are never made on the strength of a copy or a task.
    #[test]
    fn no_row_is_open_to_everyone() {
        for r in RULES {
            assert!(!r.relations.is_empty(), "{:?} lets nobody in", r.op);
            if r.allows(R::Scope) || r.allows(R::Granted) || r.allows(R::CollegeWide) {
                assert!(!r.permissions.is_empty(), "{:?} reaches by scope without a permission", r.op);
            } else {
                assert!(r.permissions.is_empty(), "{:?} names permissions it never asks", r.op);
            }
            let writes = r.endpoint.0 != "GET";
            if writes {
                assert!(
                    !r.allows(R::Copied) && !r.allows(R::Handler),
                    "{:?}: a copy or a task never lets one change it",
                    r.op
                );
                assert_eq!(r.denial, Denial::Forbidden, "{:?}: a refused change is 403", r.op);
            }
            assert!(!r.permissions.contains(&P::AffairApply), "{:?}: every account may apply", r.op);
        }
    }

    #[test]
    fn may_follows_the_row() {
        use std::collections::HashSet;

        use crate::policy::{Grant, Scope};
        let me = Uuid::now_v7();
        let dept = Uuid::now_v7();
        let other = Uuid::now_v7();
        let p = Principal {
            user_id: me,
            username: "x".into(),
            display_name: "x".into(),
            department_id: None,
            grants: vec![Grant {
                permission: P::CertificateIssue,
                scope: Scope::Department,
                departments: HashSet::from([dept]),
            }],
        };
        let own = Facts { owner_id: Some(me), departments: &[Some(other)] };
        let theirs_in_dept = Facts { owner_id: None, departments: &[Some(dept)] };
        let theirs_elsewhere = Facts { owner_id: None, departments: &[Some(other)] };
        assert!(p.may(Op::CertificateRead, &own));
        assert!(!p.may(Op::CertificateRevoke, &own), "holders do not revoke their certificates");
        assert!(p.may(Op::CertificateRevoke, &theirs_in_dept));
        assert!(!p.may(Op::CertificateRevoke, &theirs_elsewhere));
        assert!(!p.may(Op::AuditRead, &theirs_in_dept));
        assert!(!p.may(Op::AffairWithdraw, &theirs_in_dept));
    }
}
