//! What every installation has, demo or not (第七条, 第八条): the requirement-plan process and
//! guide (网上办事流程建设需求计划审批) and the requirement-change process and guide (网上办事流程需求变更申请),
//! owned by the IT office and protected. The definitions are JSON files in
//! `backend/server/builtin/`, embedded in the binary; they are installed once, when the database
//! lacks them and an IT office administrator exists, and from then on belong to the IT office, who
//! may edit and republish them like any process (within the contract `contract_problems` checks).

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use serde_json::{Value, json};
use tongban_engine::form::{FieldAccess, FieldKind, FormDefinition};
use tongban_engine::model::{NodeKind, ProcessDefinition, UserId};
use uuid::Uuid;
use validator::Validate;

use crate::audit::{self, AuditCtx, Entry};
use crate::db::Db;
use crate::dto::hall::GuideContent;
use crate::dto::process::DefinitionProblem;
use crate::entity::{category, department, guide, guide_version, process, process_version, role, user, user_role};
use crate::error::{AppError, AppResult};
use crate::time::now;

/// Key of the requirement-plan process (网上办事流程建设需求计划审批).
pub const REQUIREMENT_PLAN: &str = "process_requirement_plan";
/// Key of the requirement-change process (网上办事流程需求变更申请).
pub const REQUIREMENT_CHANGE: &str = "process_requirement_change";

const PROCESSES: &[&str] = &[
    include_str!("../builtin/processes/process_requirement_plan.json"),
    include_str!("../builtin/processes/process_requirement_change.json"),
];
const GUIDES: &str = include_str!("../builtin/guides.json");

/// The IT office's code when the installation has to create it.
const IT_OFFICE_CODE: &str = "xxb";
const IT_OFFICE_NAME: &str = "信息化管理办公室";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinProcess {
    key: String,
    name: String,
    #[allow(dead_code)]
    department: String,
    description: String,
    #[allow(dead_code)]
    category: String,
    definition: Value,
    form: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinGuide {
    code: String,
    process: String,
    category: String,
    recommended: bool,
    recommend_rank: i32,
    content: GuideContent,
}

fn bad(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("built-in processes: {what}"))
}

fn processes() -> AppResult<Vec<BuiltinProcess>> {
    PROCESSES.iter().map(|t| serde_json::from_str(t).map_err(bad)).collect()
}

/// Whether `key` names a built-in process.
pub fn is_builtin(key: &str) -> bool {
    key == REQUIREMENT_PLAN || key == REQUIREMENT_CHANGE
}

/// The IT office: the department with its usual code or name, else one created under the root.
async fn it_office<C: ConnectionTrait>(db: &C, ctx: &AuditCtx) -> AppResult<Uuid> {
    let found = department::Entity::find()
        .filter(department::Column::Code.eq(IT_OFFICE_CODE))
        .one(db)
        .await?
        .or(department::Entity::find().filter(department::Column::Name.eq(IT_OFFICE_NAME)).one(db).await?);
    if let Some(d) = found {
        return Ok(d.id);
    }
    let roots = department::Entity::find().filter(department::Column::ParentId.is_null()).all(db).await?;
    let t = now();
    let id = Uuid::now_v7();
    department::ActiveModel {
        id: Set(id),
        parent_id: Set(match roots.as_slice() {
            [root] => Some(root.id),
            _ => None,
        }),
        code: Set(IT_OFFICE_CODE.into()),
        name: Set(IT_OFFICE_NAME.into()),
        name_en: Set(Some("IT Office".into())),
        kind: Set("office".into()),
        sort_order: Set(0),
        active: Set(true),
        version: Set(1),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        ctx,
        Entry::new("department.create", "department", id)
            .after(&json!({ "code": IT_OFFICE_CODE, "name": IT_OFFICE_NAME, "reason": "built-in processes" })),
    )
    .await?;
    Ok(id)
}

/// Active holders of the IT office administrator role, oldest grant first.
async fn it_admins<C: ConnectionTrait>(db: &C) -> AppResult<Vec<Uuid>> {
    let Some(r) = role::Entity::find().filter(role::Column::Code.eq("it_admin")).one(db).await? else {
        return Ok(Vec::new());
    };
    let grants = user_role::Entity::find()
        .filter(user_role::Column::RoleId.eq(r.id))
        .order_by_asc(user_role::Column::CreatedAt)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = grants.iter().map(|g| g.user_id).collect();
    let active: BTreeSet<Uuid> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.clone()))
        .filter(user::Column::Status.eq("active"))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut out = Vec::new();
    for id in ids {
        if active.contains(&id) && !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Install whatever built-in process or guide the database lacks. Does nothing (and says so in
/// the log) while no IT office administrator exists: they administer the processes. Returns how
/// many processes and guides were installed.
pub async fn install(db: &Db) -> AppResult<usize> {
    let defs = processes()?;
    let guides: Vec<BuiltinGuide> = serde_json::from_str(GUIDES).map_err(bad)?;
    let txn = db.write().await?;
    let have: BTreeSet<String> = process::Entity::find()
        .filter(process::Column::Key.is_in(defs.iter().map(|d| d.key.clone())))
        .all(&*txn)
        .await?
        .into_iter()
        .map(|p| p.key)
        .collect();
    let have_guides: BTreeSet<String> = guide::Entity::find()
        .filter(guide::Column::Code.is_in(guides.iter().map(|g| g.code.clone())))
        .all(&*txn)
        .await?
        .into_iter()
        .map(|g| g.code)
        .collect();
    if defs.iter().all(|d| have.contains(&d.key)) && guides.iter().all(|g| have_guides.contains(&g.code)) {
        return Ok(0);
    }
    let admins = it_admins(&*txn).await?;
    let Some(publisher) = admins.first().copied() else {
        tracing::info!("built-in processes wait for an IT office administrator (tongban create-admin)");
        return Ok(0);
    };
    let ctx = AuditCtx { actor_name: Some("system".into()), ..Default::default() };
    let office = it_office(&*txn, &ctx).await?;
    let t = now();
    let mut installed = 0;
    for d in defs.iter().filter(|d| !have.contains(&d.key)) {
        let mut def: ProcessDefinition = serde_json::from_value(d.definition.clone()).map_err(bad)?;
        def.admins = admins.iter().map(|a| UserId::from(a.to_string())).collect();
        let definition = serde_json::to_value(&def).map_err(bad)?;
        let report = crate::services::processes::check(&definition, &d.form);
        if !report.valid {
            return Err(bad(format!("{} is invalid: {:?}", d.key, report.problems)));
        }
        let id = Uuid::now_v7();
        process::ActiveModel {
            id: Set(id),
            key: Set(d.key.clone()),
            name: Set(d.name.clone()),
            department_id: Set(Some(office)),
            description: Set(d.description.clone()),
            draft: Set(definition.clone()),
            draft_form: Set(d.form.clone()),
            draft_diagram: Set(None),
            created_by: Set(None),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&*txn)
        .await?;
        process_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            process_id: Set(id),
            number: Set(1),
            definition: Set(definition),
            form: Set(d.form.clone()),
            diagram: Set(None),
            status: Set("online".into()),
            testers: Set(json!([])),
            published_by: Set(None),
            published_at: Set(t),
            status_changed_by: Set(None),
            status_changed_at: Set(t),
        }
        .insert(&*txn)
        .await?;
        audit::record(
            &*txn,
            &ctx,
            Entry::new("process.install_builtin", "process", id).after(&json!({ "key": d.key })),
        )
        .await?;
        installed += 1;
    }
    let categories: HashMap<String, Uuid> =
        category::Entity::find().all(&*txn).await?.into_iter().map(|c| (c.code, c.id)).collect();
    for g in guides.iter().filter(|g| !have_guides.contains(&g.code)) {
        let proc = process::Entity::find()
            .filter(process::Column::Key.eq(&g.process))
            .one(&*txn)
            .await?
            .ok_or_else(|| bad(format!("guide {} names process {}", g.code, g.process)))?;
        let mut content = g.content.clone();
        content.category_id = categories.get(&g.category).copied();
        content.process_id = Some(proc.id);
        content.validate().map_err(|e| bad(format!("guide {} is invalid: {e}", g.code)))?;
        let id = Uuid::now_v7();
        guide::ActiveModel {
            id: Set(id),
            code: Set(g.code.clone()),
            department_id: Set(proc.department_id.unwrap_or(office)),
            category_id: Set(content.category_id),
            process_id: Set(content.process_id),
            name: Set(content.name.clone()),
            name_en: Set(content.name_en.clone()),
            summary: Set(content.summary.clone()),
            keywords: Set(content.keywords.clone()),
            audiences: Set(serde_json::to_value(&content.audiences).map_err(bad)?),
            channels: Set(serde_json::to_value(&content.channels).map_err(bad)?),
            status: Set("published".into()),
            published_version: Set(Some(1)),
            latest_version: Set(1),
            recommended: Set(g.recommended),
            recommend_rank: Set(g.recommend_rank),
            protected: Set(true),
            version: Set(1),
            created_at: Set(t),
            updated_at: Set(t),
            published_at: Set(Some(t)),
        }
        .insert(&*txn)
        .await?;
        guide_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            guide_id: Set(id),
            number: Set(1),
            status: Set("published".into()),
            content: Set(serde_json::to_value(&content).map_err(bad)?),
            created_by: Set(publisher),
            created_at: Set(t),
            published_by: Set(Some(publisher)),
            published_at: Set(Some(t)),
        }
        .insert(&*txn)
        .await?;
        audit::record(&*txn, &ctx, Entry::new("guide.install_builtin", "guide", id).after(&json!({ "code": g.code })))
            .await?;
        installed += 1;
    }
    txn.commit().await?;
    Ok(installed)
}

/// What the server's handling of a built-in process relies on: the fields it reads and, for the
/// change request, a node that requires the feasibility assessment. Checked with every draft, so
/// the IT office may reshape a built-in process but cannot publish one the server cannot run.
pub fn contract_problems(def: &ProcessDefinition, form: &FormDefinition) -> Vec<DefinitionProblem> {
    let fields: &[(&str, &str)] = match def.key.as_str() {
        REQUIREMENT_PLAN => &[
            ("applying_department", "department"),
            ("process_name", "text"),
            ("summary", "text"),
            ("reasons", "text"),
            ("applied_on", "date"),
            ("flowchart", "file"),
            ("has_leader_steps", "yes_no"),
            ("related_departments", "departments"),
        ],
        REQUIREMENT_CHANGE => &[
            ("requirement_number", "text"),
            ("applying_department", "department"),
            ("change_content", "text"),
            ("change_reason", "text"),
            ("feasibility", "feasibility"),
            ("assessment", "text"),
        ],
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let problem = |field: &str, message: String| DefinitionProblem {
        part: "form".into(),
        code: "builtin_contract".into(),
        node: None,
        flow: None,
        field: Some(field.into()),
        message,
    };
    let has_options = |kind: &FieldKind, wanted: &[&str]| match kind {
        FieldKind::Radio { options } | FieldKind::Select { options, multiple: false } => {
            wanted.iter().all(|w| options.iter().any(|o| o.value == *w))
        }
        _ => false,
    };
    for (key, want) in fields {
        let ok = form.field(key).is_some_and(|f| match *want {
            "department" => matches!(f.kind, FieldKind::Department { multiple: false }) && f.required,
            "departments" => matches!(f.kind, FieldKind::Department { multiple: true }) && f.required,
            "text" => matches!(f.kind, FieldKind::Text { .. } | FieldKind::Textarea { .. }),
            "date" => matches!(f.kind, FieldKind::Date { .. }),
            "file" => matches!(f.kind, FieldKind::File { .. }),
            "yes_no" => has_options(&f.kind, &["yes", "no"]),
            "feasibility" => has_options(&f.kind, &["feasible", "conditional", "infeasible"]),
            _ => false,
        });
        if !ok {
            out.push(problem(
                key,
                format!("the built-in process {} needs the field `{key}` ({want}, as shipped)", def.key),
            ));
        }
    }
    // The printed form's opinion boxes are these nodes.
    let boxes: &[&str] = if def.key == REQUIREMENT_PLAN {
        &["applying_dept", "applying_leader", "related_depts", "it_office", "it_leader", "president", "secretary"]
    } else {
        &[]
    };
    for id in boxes {
        let ok = def.nodes.iter().any(|n| n.id.as_str() == *id && matches!(n.kind, NodeKind::UserTask { .. }));
        if !ok {
            out.push(DefinitionProblem {
                part: "definition".into(),
                code: "builtin_contract".into(),
                node: Some((*id).into()),
                flow: None,
                field: None,
                message: format!(
                    "the form's opinion box `{id}` needs the user task `{id}` (网上办事流程建设需求计划审批表)"
                ),
            });
        }
    }
    if def.key == REQUIREMENT_CHANGE {
        let assessed = def.nodes.iter().any(|n| {
            matches!(n.kind, NodeKind::UserTask { .. })
                && n.access("feasibility") == FieldAccess::Required
                && n.access("assessment") == FieldAccess::Required
        });
        if !assessed {
            out.push(problem(
                "assessment",
                "a change request is approved only after a technical feasibility assessment: some user task must \
                 require `feasibility` and `assessment` (第八条)"
                    .into(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_builtins_keep_their_own_contract() {
        for d in processes().expect("parse") {
            assert!(is_builtin(&d.key));
            let def: ProcessDefinition = serde_json::from_value(d.definition).expect("definition");
            let form: FormDefinition = serde_json::from_value(d.form).expect("form");
            assert_eq!(contract_problems(&def, &form), Vec::new(), "{}", d.key);
        }
        let guides: Vec<BuiltinGuide> = serde_json::from_str(GUIDES).expect("guides");
        assert_eq!(guides.len(), 2);
        for g in &guides {
            assert!(is_builtin(&g.process), "{}", g.code);
            assert!(g.content.validate().is_ok(), "{}", g.code);
        }
    }

    #[test]
    fn a_change_process_without_the_assessment_breaks_the_contract() {
        let d = processes().expect("parse").into_iter().find(|d| d.key == REQUIREMENT_CHANGE).expect("change");
        let mut def: ProcessDefinition = serde_json::from_value(d.definition).expect("definition");
        let form: FormDefinition = serde_json::from_value(d.form).expect("form");
        for n in &mut def.nodes {
            n.field_access.remove("assessment");
        }
        let problems = contract_problems(&def, &form);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field.as_deref(), Some("assessment"));
        let mut form2 = form.clone();
        form2.fields.retain(|f| f.key != "requirement_number");
        let problems = contract_problems(&def, &form2);
        assert!(problems.iter().any(|p| p.field.as_deref() == Some("requirement_number")));
    }
}
