//! The demo college of brief.md: departments, leaders, handlers, students and demo accounts.
//! Created only in demo mode and only in an empty database.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};
use uuid::Uuid;

use crate::audit::{self, AuditCtx, Entry};
use crate::auth::password;
use crate::db::Db;
use crate::entity::{department, position, process, process_version, role, user, user_role};
use crate::error::{AppError, AppResult};
use crate::policy::Scope;
use crate::time::now;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "Tongban@2026";

// (code, parent code, name, english name, kind)
const DEPARTMENTS: &[(&str, Option<&str>, &str, &str, &str)] = &[
    ("school", None, "湖南环境生物职业技术学院", "Hunan Environmental Biological Polytechnic", "school"),
    ("leaders", Some("school"), "院领导", "School leadership", "group"),
    ("xxhlz", Some("school"), "网络安全和信息化工作领导小组", "Cybersecurity and IT Leading Group", "group"),
    ("jw", Some("school"), "纪委办公室（审计处）", "Discipline Inspection and Audit Office", "office"),
    ("dzb", Some("school"), "党政办公室", "Party and Administration Office", "office"),
    ("xxb", Some("school"), "信息化管理办公室", "IT Office", "office"),
    ("jwc", Some("school"), "教务处", "Academic Affairs Office", "office"),
    ("xgc", Some("school"), "学生工作处", "Student Affairs Office", "office"),
    ("cwc", Some("school"), "财务处", "Finance Office", "office"),
    ("rsc", Some("school"), "人事处", "Human Resources Office", "office"),
    ("hqbwc", Some("school"), "后勤保卫处", "Logistics and Security Office", "office"),
    ("zsjyc", Some("school"), "招生就业处", "Admissions and Careers Office", "office"),
    ("tsg", Some("school"), "图书馆", "Library", "office"),
    ("hjxy", Some("school"), "环境工程学院", "School of Environmental Engineering", "college"),
    ("swxy", Some("school"), "生物技术学院", "School of Biotechnology", "college"),
    ("xxxy", Some("school"), "信息技术学院", "School of Information Technology", "college"),
    ("hj2401", Some("hjxy"), "环境监测2401班", "Environmental Monitoring 2401", "class"),
    ("hj2402", Some("hjxy"), "环境监测2402班", "Environmental Monitoring 2402", "class"),
    ("rj2402", Some("xxxy"), "软件技术2402班", "Software Technology 2402", "class"),
    ("sw2401", Some("swxy"), "生物制药2401班", "Biopharmaceutics 2401", "class"),
];

struct DemoUser {
    username: &'static str,
    name: &'static str,
    kind: &'static str,
    number: &'static str,
    dept: &'static str,
    // (role code, scope, anchor department code)
    roles: &'static [(&'static str, Scope, Option<&'static str>)],
}

const USERS: &[DemoUser] = &[
    DemoUser {
        username: "it_admin",
        name: "信息办管理员",
        kind: "staff",
        number: "T1001",
        dept: "xxb",
        roles: &[("it_admin", Scope::All, None), ("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "xgc_admin",
        name: "学工处管理员",
        kind: "staff",
        number: "T2001",
        dept: "xgc",
        roles: &[("dept_admin", Scope::Department, None)],
    },
    DemoUser {
        username: "jwc_admin",
        name: "教务处管理员",
        kind: "staff",
        number: "T3001",
        dept: "jwc",
        roles: &[("dept_admin", Scope::Department, None)],
    },
    DemoUser {
        username: "xgc_head",
        name: "周学工",
        kind: "staff",
        number: "T2002",
        dept: "xgc",
        roles: &[("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "counsellor1",
        name: "李辅导",
        kind: "staff",
        number: "T4001",
        dept: "hjxy",
        roles: &[("handler", Scope::Department, Some("hj2401"))],
    },
    DemoUser {
        username: "counsellor2",
        name: "王辅导",
        kind: "staff",
        number: "T4002",
        dept: "xxxy",
        roles: &[("handler", Scope::Department, Some("rj2402"))],
    },
    DemoUser {
        username: "vp_student",
        name: "陈副院长",
        kind: "staff",
        number: "T0003",
        dept: "leaders",
        roles: &[("leader", Scope::Supervised, None)],
    },
    DemoUser {
        username: "vp_it",
        name: "刘副院长",
        kind: "staff",
        number: "T0004",
        dept: "leaders",
        roles: &[("leader", Scope::Supervised, None)],
    },
    DemoUser {
        username: "vp_academic",
        name: "杨副院长",
        kind: "staff",
        number: "T0005",
        dept: "leaders",
        roles: &[("leader", Scope::Supervised, None)],
    },
    DemoUser {
        username: "vp_logistics",
        name: "赵副院长",
        kind: "staff",
        number: "T0006",
        dept: "leaders",
        roles: &[("leader", Scope::Supervised, None)],
    },
    DemoUser {
        username: "president",
        name: "张院长",
        kind: "staff",
        number: "T0001",
        dept: "leaders",
        roles: &[("leader", Scope::All, None)],
    },
    DemoUser {
        username: "secretary",
        name: "黄书记",
        kind: "staff",
        number: "T0002",
        dept: "leaders",
        roles: &[("leader", Scope::All, None)],
    },
    DemoUser {
        username: "teacher1",
        name: "孙老师",
        kind: "staff",
        number: "T3002",
        dept: "jwc",
        roles: &[("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "jwc_head",
        name: "郑教务",
        kind: "staff",
        number: "T3003",
        dept: "jwc",
        roles: &[("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "cwc_head",
        name: "冯财务",
        kind: "staff",
        number: "T8001",
        dept: "cwc",
        roles: &[("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "dzb_admin",
        name: "党政办管理员",
        kind: "staff",
        number: "T6001",
        dept: "dzb",
        roles: &[("dept_admin", Scope::Department, None)],
    },
    DemoUser {
        username: "hqbwc_admin",
        name: "后勤处管理员",
        kind: "staff",
        number: "T7001",
        dept: "hqbwc",
        roles: &[("dept_admin", Scope::Department, None)],
    },
    DemoUser {
        username: "hqbwc_staff",
        name: "钱后勤",
        kind: "staff",
        number: "T7002",
        dept: "hqbwc",
        roles: &[("handler", Scope::Department, None)],
    },
    DemoUser {
        username: "inspector",
        name: "纪委督查员",
        kind: "staff",
        number: "T5002",
        dept: "jw",
        roles: &[("supervisor", Scope::All, None)],
    },
    DemoUser {
        username: "auditor",
        name: "吴审计",
        kind: "staff",
        number: "T5001",
        dept: "jw",
        roles: &[("auditor", Scope::All, None)],
    },
    DemoUser {
        username: "student1",
        name: "林同学",
        kind: "student",
        number: "2024010101",
        dept: "hj2401",
        roles: &[],
    },
    DemoUser {
        username: "student2",
        name: "何同学",
        kind: "student",
        number: "2024030201",
        dept: "rj2402",
        roles: &[],
    },
];

// (username, kind, department code, title)
const POSITIONS: &[(&str, &str, Option<&str>, &str)] = &[
    ("president", "president", None, "院长"),
    ("secretary", "secretary", None, "党委书记"),
    ("vp_student", "supervising_leader", Some("xgc"), "分管学生工作副院长"),
    ("vp_student", "supervising_leader", Some("hjxy"), "分管二级学院副院长"),
    ("vp_student", "supervising_leader", Some("swxy"), "分管二级学院副院长"),
    ("vp_student", "supervising_leader", Some("xxxy"), "分管二级学院副院长"),
    ("vp_it", "supervising_leader", Some("xxb"), "分管信息化副院长"),
    ("vp_it", "supervising_leader", Some("dzb"), "分管党政办副院长"),
    ("vp_academic", "supervising_leader", Some("jwc"), "分管教学副院长"),
    ("vp_academic", "supervising_leader", Some("zsjyc"), "分管招生就业副院长"),
    ("vp_academic", "supervising_leader", Some("tsg"), "分管图书馆副院长"),
    ("vp_logistics", "supervising_leader", Some("cwc"), "分管财务副院长"),
    ("vp_logistics", "supervising_leader", Some("rsc"), "分管人事副院长"),
    ("vp_logistics", "supervising_leader", Some("hqbwc"), "分管后勤保卫副院长"),
    ("xgc_head", "department_head", Some("xgc"), "学生工作处处长"),
    ("jwc_head", "department_head", Some("jwc"), "教务处处长"),
    ("cwc_head", "department_head", Some("cwc"), "财务处处长"),
    ("counsellor1", "counsellor", Some("hj2401"), "环境监测2401班辅导员"),
    ("counsellor2", "counsellor", Some("rj2402"), "软件技术2402班辅导员"),
];

/// Usernames of the demo accounts (for the README and tests).
pub fn usernames() -> impl Iterator<Item = &'static str> {
    USERS.iter().map(|u| u.username)
}

/// Create the demo college when the database has no users yet. Returns whether it seeded.
pub async fn seed(db: &Db) -> AppResult<bool> {
    if user::Entity::find().count(db.conn()).await? > 0 {
        return Ok(false);
    }
    // One hash for all demo accounts: they share a published password anyway.
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let txn = db.write().await?;
    if user::Entity::find().count(&*txn).await? > 0 {
        return Ok(false);
    }
    let t = now();
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let mut depts: HashMap<&str, Uuid> = HashMap::new();
    for (i, (code, parent, name, name_en, kind)) in DEPARTMENTS.iter().enumerate() {
        let id = Uuid::now_v7();
        department::ActiveModel {
            id: Set(id),
            parent_id: Set(parent.and_then(|p| depts.get(p).copied())),
            code: Set((*code).into()),
            name: Set((*name).into()),
            name_en: Set(Some((*name_en).into())),
            kind: Set((*kind).into()),
            sort_order: Set(i as i32),
            active: Set(true),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&*txn)
        .await?;
        depts.insert(code, id);
    }
    let roles: HashMap<String, Uuid> =
        role::Entity::find().all(&*txn).await?.into_iter().map(|r| (r.code, r.id)).collect();
    let role_id =
        |code: &str| roles.get(code).copied().ok_or_else(|| AppError::Internal(anyhow::anyhow!("role {code} missing")));
    let mut users: HashMap<&str, Uuid> = HashMap::new();
    for u in USERS {
        let id = Uuid::now_v7();
        let student = u.kind == "student";
        user::ActiveModel {
            id: Set(id),
            username: Set(u.username.into()),
            display_name: Set(u.name.into()),
            kind: Set(u.kind.into()),
            student_no: Set(student.then(|| u.number.into())),
            staff_no: Set((!student).then(|| u.number.into())),
            department_id: Set(depts.get(u.dept).copied()),
            email: Set(Some(format!("{}@demo.tongban.edu.cn", u.username))),
            phone: Set(None),
            password_hash: Set(Some(hash.clone())),
            status: Set("active".into()),
            auth_epoch: Set(0),
            password_changed_at: Set(Some(t)),
            last_login_at: Set(None),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&*txn)
        .await?;
        users.insert(u.username, id);
        let mut grants: Vec<(&str, Scope, Option<&str>)> = vec![("applicant", Scope::Own, None)];
        grants.extend(u.roles.iter().copied());
        for (code, scope, anchor) in grants {
            user_role::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(id),
                role_id: Set(role_id(code)?),
                scope: Set(scope.as_str().into()),
                department_id: Set(anchor.and_then(|a| depts.get(a).copied())),
                created_at: Set(t),
            }
            .insert(&*txn)
            .await?;
        }
    }
    for (username, kind, dept, title) in POSITIONS {
        position::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(users[username]),
            kind: Set((*kind).into()),
            department_id: Set(dept.and_then(|d| depts.get(d).copied())),
            title: Set((*title).into()),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&*txn)
        .await?;
    }
    let processes = seed_processes(&*txn, &depts, &users, users["it_admin"]).await?;
    let guides = crate::demo_guides::seed(&*txn, &depts, users["it_admin"]).await?;
    crate::services::certificates::seed_demo_types(&*txn, &depts).await?;
    audit::record(
        &*txn,
        &ctx,
        Entry::new("demo.seed", "system", "demo").after(&serde_json::json!({
            "departments": DEPARTMENTS.len(), "users": USERS.len(), "positions": POSITIONS.len(),
            "processes": processes, "guides": guides
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The demo processes, shipped with the binary: `{key, name, department, description, category,
/// definition, form}` with `"$user:<username>"` placeholders for people.
const PROCESSES: &[&str] = &[
    include_str!("../demo/processes/enrolment_certificate.json"),
    include_str!("../demo/processes/student_leave.json"),
    include_str!("../demo/processes/seal_application.json"),
    include_str!("../demo/processes/meeting_room_booking.json"),
];

/// Create the demo processes, each with version 1 online.
async fn seed_processes<C: ConnectionTrait>(
    db: &C,
    depts: &HashMap<&str, Uuid>,
    users: &HashMap<&str, Uuid>,
    publisher: Uuid,
) -> AppResult<usize> {
    let t = now();
    for text in PROCESSES {
        let mut text = (*text).to_owned();
        for (name, id) in users {
            text = text.replace(&format!("\"$user:{name}\""), &format!("\"{id}\""));
        }
        if let Some(i) = text.find("$user:") {
            let rest: String = text[i..].chars().take(40).collect();
            return Err(AppError::Internal(anyhow::anyhow!("demo process names an unknown user: {rest}")));
        }
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.into()))?;
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let report = crate::services::processes::check(&v["definition"], &v["form"]);
        if !report.valid {
            return Err(AppError::Internal(anyhow::anyhow!(
                "demo process {} is invalid: {:?}",
                field("key"),
                report.problems
            )));
        }
        let id = Uuid::now_v7();
        process::ActiveModel {
            id: Set(id),
            key: Set(field("key")),
            name: Set(field("name")),
            department_id: Set(depts.get(field("department").as_str()).copied()),
            description: Set(field("description")),
            draft: Set(v["definition"].clone()),
            draft_form: Set(v["form"].clone()),
            draft_diagram: Set(None),
            created_by: Set(Some(publisher)),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(db)
        .await?;
        process_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            process_id: Set(id),
            number: Set(1),
            definition: Set(v["definition"].clone()),
            form: Set(v["form"].clone()),
            diagram: Set(None),
            status: Set("online".into()),
            testers: Set(serde_json::json!([])),
            published_by: Set(Some(publisher)),
            published_at: Set(t),
            status_changed_by: Set(Some(publisher)),
            status_changed_at: Set(t),
        }
        .insert(db)
        .await?;
    }
    Ok(PROCESSES.len())
}
