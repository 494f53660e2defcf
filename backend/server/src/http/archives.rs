//! `/archives`, `/affairs/{id}/archive` and `/archives/exports`: archive packages of finished
//! affairs (办件归档) and bulk exports by department and date.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::guides::content_disposition;
use super::problem::Problem;
use crate::dto::archive::{ArchiveQuery, ArchiveView, CreateExport, ExportView};
use crate::dto::common::Page;
use crate::error::AppError;
use crate::services::archives;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_archives)
        .service(download_archive)
        .service(create_export)
        .service(list_exports)
        .service(get_export)
        .service(download_export);
}

fn zip(
    filename: &str,
    size: u64,
    body: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(filename)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .no_chunking(size)
        .streaming(body)
}

/// Archive packages the caller may read (`affair.read` over the handling department), newest
/// first, by department and the day the affair ended.
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    params(ArchiveQuery),
    responses(
        (status = 200, description = "Archives", body = Page<ArchiveView>),
        (status = 400, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/archives")]
async fn list_archives(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<ArchiveQuery>,
) -> Result<web::Json<Page<ArchiveView>>, AppError> {
    Ok(web::Json(archives::list(&st, &auth.principal, &q.0).await?))
}

/// The archive package of a finished affair (ZIP: `summary.pdf`, `affair.json`, the files,
/// certificates, `audit.json` and `manifest.json` with the SHA-256 of each), for those who read
/// the handling department's affairs. Made now if the affair ended before packages were made.
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Affair id")),
    responses(
        (status = 200, description = "The package", content_type = "application/zip",
            headers(("Content-Disposition" = String, description = "attachment; filename={number}-archive.zip"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an archive reader", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such affair in reach", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The affair has not ended", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/affairs/{id}/archive")]
async fn download_archive(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let (name, size, body) = archives::download(&st, &auth.principal, &auth.ctx, id.into_inner()).await?;
    Ok(zip(&name, size, body))
}

/// Ask for a bulk export of the archives of a department (or all departments) whose affairs ended
/// between two days; a background job builds it. Poll `GET /archives/exports/{id}`.
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    request_body = CreateExport,
    responses(
        (status = 202, description = "Queued", body = ExportView),
        (status = 400, description = "Invalid range or unknown department", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this department", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/archives/exports")]
async fn create_export(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateExport>,
) -> Result<HttpResponse, AppError> {
    let v = archives::create_export(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Accepted().insert_header((header::LOCATION, format!("/api/v1/archives/exports/{}", v.id))).json(v))
}

/// The caller's exports, newest first.
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Exports", body = Vec<ExportView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/archives/exports")]
async fn list_exports(st: web::Data<AppState>, auth: Auth) -> Result<web::Json<Vec<ExportView>>, AppError> {
    Ok(web::Json(archives::list_exports(&st, &auth.principal).await?))
}

/// One of the caller's exports: where it stands.
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Export id")),
    responses(
        (status = 200, description = "The export", body = ExportView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/archives/exports/{id}")]
async fn get_export(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<ExportView>, AppError> {
    Ok(web::Json(archives::get_export(&st, &auth.principal, id.into_inner()).await?))
}

/// A finished export (ZIP of packages with `manifest.json` indexing them).
#[utoipa::path(
    tag = "archives",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Export id")),
    responses(
        (status = 200, description = "The export", content_type = "application/zip"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export of yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not ready yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/archives/exports/{id}/download")]
async fn download_export(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    let (name, size, body) = archives::download_export(&st, &auth.principal, id.into_inner()).await?;
    Ok(zip(&name, size, body))
}
