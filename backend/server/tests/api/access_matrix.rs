//! The access-control matrix, generated from `tongban_server::access::RULES`: for every row, every
//! demo account and a real object of the demo college, the expected answer is worked out from the
//! college's facts — each account's role assignments with their scopes and anchor departments, the
//! 分管 positions, the department tree, who applied, holds or handles the object — and the row's
//! relations and permissions; the endpoint is then called and must agree. A loosened row makes the
//! checked-in `docs/access-control.md` differ (a unit test in `access.rs`); code that stops asking
//! the table, or asks it wrongly, makes this test fail. Writes are sent with a stale version, so
//! whoever is let in gets 409 and nothing changes.
//!
//! Also: mass assignment — a client naming status, applicant or handler fields — is refused.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use tongban_server::access::{Denial, Op, RULES, Relation};
use tongban_server::policy::BUILTIN_ROLES;

use crate::access::apply_with_material;
use crate::applying::{enrolment_form, guide_of};
use crate::db_test;
use crate::helpers::{TestApp, Tokens, complete_enrolment};

const ACTORS: &[&str] = &[
    "student1",
    "student2",
    "counsellor1",
    "counsellor2",
    "xgc_admin",
    "jwc_admin",
    "xgc_head",
    "teacher1",
    "vp_student",
    "vp_academic",
    "president",
    "inspector",
    "auditor",
    "it_admin",
];

/// An object of the demo college and how people stand to it.
#[derive(Default)]
struct Object {
    id: String,
    owner: Option<String>,
    handlers: HashSet<String>,
    departments: Vec<String>,
}

/// A demo account as access control sees it, from the college's data.
struct Actor {
    id: String,
    tokens: Tokens,
    /// (role code, scope, departments reached by a department or supervised scope).
    assignments: Vec<(String, String, HashSet<String>)>,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("a string, not {v}")).to_owned()
}

/// The department and every department below it.
fn subtree(children: &HashMap<String, Vec<String>>, root: &str) -> HashSet<String> {
    let mut out = HashSet::from([root.to_owned()]);
    let mut todo = vec![root.to_owned()];
    while let Some(d) = todo.pop() {
        for c in children.get(&d).into_iter().flatten() {
            if out.insert(c.clone()) {
                todo.push(c.clone());
            }
        }
    }
    out
}

async fn actor(app: &TestApp, admin: &Tokens, children: &HashMap<String, Vec<String>>, username: &str) -> Actor {
    let id = app.user_id(admin, username).await;
    let user = app.get(&format!("/api/v1/users/{id}"), Some(&admin.access)).await.expect(200).body;
    let roles = app.get(&format!("/api/v1/users/{id}/roles"), Some(&admin.access)).await.expect(200).body;
    let positions = app
        .get(&format!("/api/v1/positions?user_id={id}&kind=supervising_leader"), Some(&admin.access))
        .await
        .expect(200)
        .body;
    let supervised: HashSet<String> = positions
        .as_array()
        .expect("positions")
        .iter()
        .filter_map(|p| p["department_id"].as_str())
        .flat_map(|d| subtree(children, d))
        .collect();
    let assignments = roles["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|a| {
            let scope = s(&a["scope"]);
            let reached = match scope.as_str() {
                "department" => {
                    let anchor = a["department_id"].as_str().or(user["department_id"].as_str());
                    anchor.map(|d| subtree(children, d)).unwrap_or_default()
                }
                "supervised" => supervised.clone(),
                _ => HashSet::new(),
            };
            (s(&a["role_code"]), scope, reached)
        })
        .collect();
    Actor { id, tokens: app.login(username).await, assignments }
}

/// What the row says for this actor and object.
fn expected(rule: &tongban_server::access::Rule, who: &Actor, username: &str, o: &Object) -> bool {
    let owner = o.owner.as_deref() == Some(who.id.as_str());
    if rule.allows(Relation::Own) && owner {
        return true;
    }
    if rule.allows(Relation::Handler) && o.handlers.contains(username) {
        return true;
    }
    who.assignments.iter().any(|(role, scope, reached)| {
        let perms = BUILTIN_ROLES.iter().find(|r| r.code == role).map_or(&[][..], |r| r.permissions);
        if !rule.permissions.iter().any(|p| perms.contains(p)) {
            return false;
        }
        let reaches = match scope.as_str() {
            "all" => true,
            "own" => owner,
            _ => o.departments.iter().any(|d| reached.contains(d)),
        };
        (rule.allows(Relation::Scope) && reaches)
            || rule.allows(Relation::Granted)
            || (rule.allows(Relation::CollegeWide) && scope == "all")
    })
}

/// A copy of `view`'s fields named in `keys`, with a version no row has.
fn stale(view: &Value, keys: &[&str]) -> Value {
    let mut body = serde_json::Map::new();
    for k in keys {
        body.insert((*k).to_owned(), view[*k].clone());
    }
    body.insert("version".into(), json!(-7));
    Value::Object(body)
}

async fn the_matrix_holds_for_every_row_account_and_object(app: &TestApp) {
    let admin = app.login("it_admin").await;
    let departments = app.get("/api/v1/departments", None).await.expect(200).body;
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for d in departments.as_array().expect("departments") {
        if let Some(p) = d["parent_id"].as_str() {
            children.entry(p.to_owned()).or_default().push(s(&d["id"]));
        }
    }
    let mut actors = Vec::new();
    for u in ACTORS {
        actors.push((*u, actor(app, &admin, &children, u).await));
    }
    let by_name: HashMap<&str, &Actor> = actors.iter().map(|(n, a)| (*n, a)).collect();
    let student = &by_name["student1"].tokens;

    // An open affair waiting for the counsellor, with a material; a completed one with its certificate.
    let (open, file_id) = apply_with_material(app, student).await;
    let done = complete_enrolment(app, student, enrolment_form(&[])).await;
    let certs = app.get("/api/v1/me/certificates", Some(&student.access)).await.expect(200).body;
    let cert = certs["items"]
        .as_array()
        .or_else(|| certs.as_array())
        .expect("certificates")
        .iter()
        .find(|c| c["affair_id"] == done["id"])
        .expect("the completed affair's certificate")
        .clone();

    let process =
        app.get(&format!("/api/v1/processes/{}", s(&open["process_id"])), Some(&admin.access)).await.expect(200).body;
    let student_user =
        app.get(&format!("/api/v1/users/{}", by_name["student1"].id), Some(&admin.access)).await.expect(200).body;
    let summary = if process["summary"].is_object() { &process["summary"] } else { &process };
    let process_dept = summary["department_id"].as_str().map(str::to_owned);
    // An affair belongs to its process's department and to the applicant's (at submission).
    let affair_depts: Vec<String> =
        process_dept.iter().cloned().chain(student_user["department_id"].as_str().map(str::to_owned)).collect();
    let username_of: HashMap<&str, &str> = actors.iter().map(|(n, a)| (a.id.as_str(), *n)).collect();
    let open_seen = app.get(&format!("/api/v1/affairs/{}", s(&open["id"])), Some(&admin.access)).await.expect(200).body;
    let open_handlers: HashSet<String> = open_seen["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .flat_map(|t| [t["assignee_id"].as_str(), t["original_assignee_id"].as_str()])
        .flatten()
        .map(|id| username_of.get(id).copied().unwrap_or(id).to_owned())
        .collect();
    assert!(open_handlers.contains("counsellor1"), "{open_handlers:?}");
    let affair = Object {
        id: s(&open["id"]),
        owner: Some(by_name["student1"].id.clone()),
        handlers: open_handlers.clone(),
        departments: affair_depts.clone(),
    };
    // A material stands to people as its affair does.
    let attachment =
        Object { id: file_id, owner: affair.owner.clone(), handlers: open_handlers, departments: affair_depts };
    let certificate = Object {
        id: s(&cert["id"]),
        owner: affair.owner.clone(),
        handlers: HashSet::new(),
        departments: vec![s(&cert["department_id"])],
    };
    let user = Object {
        id: by_name["student1"].id.clone(),
        owner: Some(by_name["student1"].id.clone()),
        handlers: HashSet::new(),
        departments: student_user["department_id"].as_str().map(str::to_owned).into_iter().collect(),
    };
    let guide_id = guide_of(app, &s(&open["process_id"])).await;
    let guide_view = app.get(&format!("/api/v1/guides/{guide_id}"), None).await.expect(200).body;
    let guide = Object { id: guide_id, departments: vec![s(&guide_view["department_id"])], ..Object::default() };
    let process_obj =
        Object { id: s(&open["process_id"]), departments: process_dept.into_iter().collect(), ..Object::default() };
    let xgc = app.department("xgc").await;
    let department = Object { id: s(&xgc["id"]), departments: vec![s(&xgc["id"])], ..Object::default() };
    let college = Object::default();

    // Reads first, so the stale writes run against objects in their first state; the withdrawal,
    // which has no version to make stale, last, with whoever is let in after everyone refused.
    let mut rules: Vec<_> = RULES.iter().collect();
    rules.sort_by_key(|r| (r.op == Op::AffairWithdraw, r.endpoint.0 != "GET"));
    let mut checked = 0;
    for rule in rules {
        let object = match rule.op {
            Op::AffairRead | Op::AffairWithdraw => &affair,
            Op::AttachmentDownload => &attachment,
            Op::CertificateRead | Op::CertificateRevoke => &certificate,
            Op::UserRead | Op::UserUpdate | Op::UserSessionsRead => &user,
            Op::GuideUpdate => &guide,
            Op::ProcessUpdate => &process_obj,
            Op::DepartmentUpdate => &department,
            Op::AuditRead | Op::StatsRead => &college,
        };
        let path = rule.endpoint.1.replace("{id}", &object.id);
        let body = match rule.op {
            Op::AffairWithdraw => json!({ "comment": "矩阵测试" }),
            Op::CertificateRevoke => json!({ "reason": "矩阵测试", "version": -7 }),
            Op::UserUpdate => {
                let mut b = stale(
                    &student_user,
                    &["display_name", "kind", "student_no", "staff_no", "department_id", "email", "phone", "status"],
                );
                b["email"] = json!(null);
                b
            }
            Op::GuideUpdate => json!({ "version": -7, "content": guide_view["content"] }),
            Op::ProcessUpdate => json!({
                "name": summary["name"], "department_id": summary["department_id"],
                "description": summary["description"], "definition": process["draft"],
                "form": process["draft_form"], "version": -7,
            }),
            Op::DepartmentUpdate => {
                let mut b = stale(&xgc, &["parent_id", "name", "name_en", "sort_order", "active"]);
                b["sort_order"] = json!(xgc["sort_order"].as_i64().unwrap_or(0));
                b
            }
            _ => Value::Null,
        };
        let mut order: Vec<_> = actors.iter().map(|(n, a)| (expected(rule, a, n, object), *n, a)).collect();
        order.sort_by_key(|(want, _, _)| *want);
        for (want, username, who) in order {
            let resp = match rule.endpoint.0 {
                "GET" => app.get(&path, Some(&who.tokens.access)).await,
                "POST" => app.post(&path, Some(&who.tokens.access), &body).await,
                "PUT" => app.put(&path, Some(&who.tokens.access), &body).await,
                m => panic!("method {m}"),
            };
            let status = resp.status.as_u16();
            assert!(status < 500, "{:?} as {username}: {status} {}", rule.op, resp.body);
            let let_in = !matches!(status, 401 | 403 | 404);
            assert_eq!(
                let_in,
                want,
                "{:?} {} as {username}: the matrix says {}, the server answered {status} {}",
                rule.op,
                path,
                if want { "allowed" } else { "refused" },
                resp.body
            );
            if !want && rule.denial == Denial::NotFound {
                assert_eq!(status, 404, "{:?} as {username}: the object's existence is not disclosed", rule.op);
            }
            if let_in && rule.endpoint.0 != "GET" && rule.op != Op::AffairWithdraw {
                assert_eq!(status, 409, "{:?} as {username}: a stale write changes nothing: {}", rule.op, resp.body);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, RULES.len() * ACTORS.len());

    // Nothing changed but the applicant's own withdrawal: the certificate is valid.
    let a = app.get(&format!("/api/v1/affairs/{}", affair.id), Some(&student.access)).await.expect(200).body;
    assert_eq!(a["status"], "withdrawn", "{}", a["status"]);
    let c = app.get(&format!("/api/v1/certificates/{}", certificate.id), Some(&student.access)).await.expect(200).body;
    assert_eq!(c["status"], cert["status"]);
}
db_test!(access_matrix, the_matrix_holds_for_every_row_account_and_object);

/// Clients cannot set what the server decides: status, applicant, handler or owner fields in a
/// request body are refused with 400 (validation_failed, naming the field) and change nothing.
async fn mass_assignment_is_refused(app: &TestApp) {
    let student = app.login("student1").await;
    let other = app.login("student2").await;
    let admin = app.login("it_admin").await;
    let s2 = app.user_id(&admin, "student2").await;
    for extra in [
        json!({ "status": "completed" }),
        json!({ "applicant_id": s2 }),
        json!({ "assignee_id": s2 }),
        json!({ "number": "ZM1" }),
    ] {
        let mut body = json!({ "process_key": "enrolment_certificate", "form": enrolment_form(&[]) });
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        let r = app.post("/api/v1/affairs", Some(&student.access), &body).await.expect(400);
        assert_eq!(r.body["code"], "validation_failed", "{extra}: {}", r.body);
        let field = extra.as_object().expect("object").keys().next().expect("key").clone();
        assert!(
            r.body["detail"].as_str().unwrap_or_default().contains(&format!("unknown field `{field}`")),
            "{}",
            r.body
        );
    }
    let mine = app.get("/api/v1/affairs", Some(&student.access)).await.expect(200).body;
    assert_eq!(mine["total"], 0, "nothing was submitted");
    let theirs = app.get("/api/v1/affairs", Some(&other.access)).await.expect(200).body;
    assert_eq!(theirs["total"], 0);

    // A task action naming a new assignee outside its schema, a draft setting its owner.
    let r = app
        .post(
            "/api/v1/drafts",
            Some(&student.access),
            &json!({ "process_key": "enrolment_certificate", "form": {}, "user_id": s2 }),
        )
        .await;
    assert_eq!((r.status.as_u16(), &r.body["code"]), (400, &json!("validation_failed")), "{}", r.body);
    let s1 = app.user_id(&admin, "student1").await;
    let r = app
        .put(
            &format!("/api/v1/users/{s1}"),
            Some(&admin.access),
            &json!({ "display_name": "x", "kind": "student", "status": "active", "version": 1, "roles": ["it_admin"] }),
        )
        .await;
    assert_eq!((r.status.as_u16(), &r.body["code"]), (400, &json!("validation_failed")), "{}", r.body);
}
db_test!(mass_assignment, mass_assignment_is_refused);
