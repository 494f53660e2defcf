//! `/processes`: process definitions, versions, lifecycle and BPMN (IT office; owning departments read).

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson};
use super::problem::Problem;
use crate::dto::process::{
    CreateProcess, LifecycleRequest, MigrateRequest, MigrationReport, ProcessDetail, ProcessSummary, PublishRequest,
    UpdateProcess, ValidationReport, VersionDetail, VersionView,
};
use crate::error::{AppError, ErrorCode};
use crate::services::processes;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_processes)
        .service(import_bpmn)
        .service(get_process)
        .service(create_process)
        .service(update_process)
        .service(validate_process)
        .service(publish_process)
        .service(change_lifecycle)
        .service(get_process_version)
        .service(export_bpmn)
        .service(migrate_affairs);
}

/// Processes the caller manages (`process.manage`) or whose guides they manage (`guide.manage`).
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Processes", body = Vec<ProcessSummary>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/processes")]
async fn list_processes(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<ProcessSummary>>, AppError> {
    Ok(web::Json(processes::list(&st, &auth.principal).await?))
}

/// One process: its draft (definition and form) and published versions.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    responses(
        (status = 200, description = "The process", body = ProcessDetail),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/processes/{id}")]
async fn get_process(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<ProcessDetail>, AppError> {
    Ok(web::Json(processes::get(&st, &auth.principal, *id).await?))
}

/// Create a process (`process.manage` over its department).
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    request_body = CreateProcess,
    responses(
        (status = 201, description = "Created", body = ProcessDetail),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Key taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes")]
async fn create_process(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateProcess>,
) -> Result<HttpResponse, AppError> {
    let v = processes::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Replace the draft. Incomplete drafts are kept; `validate` lists what is missing.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    request_body = UpdateProcess,
    responses(
        (status = 200, description = "Saved", body = ProcessDetail),
        (status = 400, description = "Malformed definition or form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/processes/{id}")]
async fn update_process(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateProcess>,
) -> Result<web::Json<ProcessDetail>, AppError> {
    Ok(web::Json(processes::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Validate the draft: graph, conditions, assignee rules, form and the references between them.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    responses(
        (status = 200, description = "Every problem found, each naming its node, flow or field", body = ValidationReport),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process within your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes/{id}/validate")]
async fn validate_process(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<ValidationReport>, AppError> {
    Ok(web::Json(processes::validate(&st, &auth.principal, *id).await?))
}

/// Publish the valid draft as a new immutable version, in trial (试运行, with testers) or online.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    request_body = PublishRequest,
    responses(
        (status = 201, description = "Published", body = VersionDetail),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process within your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The draft changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The draft does not validate", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes/{id}/versions")]
async fn publish_process(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<PublishRequest>,
) -> Result<HttpResponse, AppError> {
    let v = processes::publish(&st, &auth.principal, &auth.ctx, *id, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Move a version to trial, online or offline. Running affairs keep their version.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    request_body = LifecycleRequest,
    responses(
        (status = 200, description = "Changed", body = VersionView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Already in that status", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes/{id}/lifecycle")]
async fn change_lifecycle(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<LifecycleRequest>,
) -> Result<web::Json<VersionView>, AppError> {
    Ok(web::Json(processes::lifecycle(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// One published version with its definition and form.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id"), ("number" = i32, Path, description = "Version number")),
    responses(
        (status = 200, description = "The version", body = VersionDetail),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/processes/{id}/versions/{number}")]
async fn get_process_version(
    st: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, i32)>,
) -> Result<web::Json<VersionDetail>, AppError> {
    let (id, number) = path.into_inner();
    Ok(web::Json(processes::version(&st, &auth.principal, id, number).await?))
}

/// Which version to export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct BpmnQuery {
    /// A published version number; the draft when omitted.
    version: Option<i32>,
}

/// BPMN 2.0 XML (with a diagram) of the draft or a version, for bpmn-js and other modelers.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id"), BpmnQuery),
    responses(
        (status = 200, description = "BPMN 2.0 XML", body = String, content_type = "application/xml"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/processes/{id}/bpmn")]
async fn export_bpmn(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: web::Query<BpmnQuery>,
) -> Result<HttpResponse, AppError> {
    let xml = processes::export_bpmn(&st, &auth.principal, *id, q.version).await?;
    Ok(HttpResponse::Ok().content_type("application/xml; charset=utf-8").body(xml))
}

/// Where an imported process belongs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Owning department of a new process.
    department_id: Option<Uuid>,
}

/// Import BPMN 2.0 XML into the draft of the process with the document's process id (created when
/// new). Unsupported elements are refused in one error listing their ids.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "application/xml", description = "A BPMN 2.0 document"),
    responses(
        (status = 200, description = "Imported into the draft", body = ProcessDetail),
        (status = 400, description = "Malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed meanwhile or key taken", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not XML", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not importable BPMN", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes/import-bpmn")]
async fn import_bpmn(
    st: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    q: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<web::Json<ProcessDetail>, AppError> {
    let ct = req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(essence.as_str(), "application/xml" | "text/xml" | "application/bpmn+xml") {
        return Err(AppError::detail(
            ErrorCode::UnsupportedMediaType,
            "请以 application/xml 上传 BPMN 文件",
            "Send BPMN as application/xml",
        ));
    }
    let xml = std::str::from_utf8(&body).map_err(|_| {
        AppError::detail(ErrorCode::BadRequest, "BPMN 文件须为 UTF-8 编码", "The BPMN document must be UTF-8")
    })?;
    Ok(web::Json(processes::import_bpmn(&st, &auth.principal, &auth.ctx, xml, q.department_id).await?))
}

/// Move running affairs from one version to another (版本迁移). With `dry_run`, only report which
/// affairs would move and why the others cannot.
#[utoipa::path(
    tag = "processes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Process id")),
    request_body = MigrateRequest,
    responses(
        (status = 200, description = "What moved or would move", body = MigrationReport),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such process or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/processes/{id}/migrate")]
async fn migrate_affairs(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<MigrateRequest>,
) -> Result<web::Json<MigrationReport>, AppError> {
    Ok(web::Json(processes::migrate(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}
