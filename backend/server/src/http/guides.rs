//! `/guides`: service guides (办事指南). Reading published guides is public — the hall and the
//! departments' own websites use the same API; editing is for the owning department.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, MaybeAuth, ValidJson, ValidQuery, encoded_response};
use super::problem::Problem;
use super::upload::{UploadForm, read_upload};
use crate::dto::common::Page;
use crate::dto::hall::{
    CreateGuide, GuideFileView, GuideQuery, GuideReadQuery, GuideSummary, GuideVersionCheck, GuideVersionDetail,
    GuideVersionView, GuideView, SetRecommendation, UpdateGuide,
};
use crate::error::AppError;
use crate::services::guides::{self, GuideRead};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_guides)
        .service(create_guide)
        .service(get_guide)
        .service(update_guide)
        .service(publish_guide)
        .service(take_guide_offline)
        .service(recommend_guide)
        .service(list_guide_versions)
        .service(get_guide_version)
        .service(upload_guide_file)
        .service(list_guide_files)
        .service(download_guide_file)
        .service(delete_guide_file);
}

fn principal(a: &MaybeAuth) -> Option<&crate::policy::Principal> {
    a.0.as_ref().map(|a| &a.principal)
}

/// Published guides, public: searched with `q` (Chinese words, pinyin, initials), else
/// recommended first; filtered by theme, department, audience and channel. Guide managers may add
/// `include_unpublished=true` (with a token) to see their drafts too.
#[utoipa::path(
    tag = "guides",
    params(GuideQuery),
    responses(
        (status = 200, description = "A page of guides", body = Page<GuideSummary>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`include_unpublished` without a token, or a bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`include_unpublished` without `guide.manage`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides")]
async fn list_guides(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    q: ValidQuery<GuideQuery>,
) -> Result<web::Json<Page<GuideSummary>>, AppError> {
    Ok(web::Json(guides::list(&st, principal(&auth), &q.0).await?))
}

/// Create a guide in a department you manage (`guide.manage`); version 1 is a draft.
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    request_body = CreateGuide,
    responses(
        (status = 201, description = "Created", body = GuideView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guides")]
async fn create_guide(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateGuide>,
) -> Result<HttpResponse, AppError> {
    let v = guides::create(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// A guide, public: its published version, cacheable (`ETag`, `Cache-Control: public,
/// max-age=60`; `If-None-Match` gives 304). The guide's managers also read drafts and other
/// versions (`version`). A signed-in reader's visit is kept for "recent".
#[utoipa::path(
    tag = "guides",
    params(("id" = Uuid, Path, description = "Guide id"), GuideReadQuery),
    responses(
        (status = 200, description = "The guide", body = GuideView,
            headers(("ETag" = String, description = "Entity tag of the published page"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide or version visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}")]
async fn get_guide(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    q: ValidQuery<GuideReadQuery>,
) -> Result<HttpResponse, AppError> {
    match guides::read(&st, principal(&auth), *id, q.0.version).await? {
        GuideRead::Public(page) => {
            let mut ok = HttpResponse::Ok();
            ok.insert_header((header::CACHE_CONTROL, "public, max-age=60"));
            Ok(encoded_response(&req, ok, &page.body, Some(&page.etag), &[]))
        }
        GuideRead::Private(view) => {
            Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "private, no-store")).json(view))
        }
    }
}

/// Edit the guide: the latest draft, or a new draft version when the latest is published (the
/// published one stays in the hall until the draft is published). Send the `version` you read.
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body = UpdateGuide,
    responses(
        (status = 200, description = "The draft", body = GuideView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/guides/{id}")]
async fn update_guide(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateGuide>,
) -> Result<web::Json<GuideView>, AppError> {
    Ok(web::Json(guides::update(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Publish the latest draft into the hall (the previous published version is superseded), or bring
/// an offline guide back.
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body = GuideVersionCheck,
    responses(
        (status = 200, description = "Published", body = GuideView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing to publish, or the content is incomplete", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guides/{id}/publish")]
async fn publish_guide(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<GuideVersionCheck>,
) -> Result<web::Json<GuideView>, AppError> {
    Ok(web::Json(guides::publish(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Take the guide off the hall.
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body = GuideVersionCheck,
    responses(
        (status = 200, description = "Offline", body = GuideSummary),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not published", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guides/{id}/offline")]
async fn take_guide_offline(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<GuideVersionCheck>,
) -> Result<web::Json<GuideSummary>, AppError> {
    Ok(web::Json(guides::offline(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// Curate the hall's recommended services (`settings.manage`).
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body = SetRecommendation,
    responses(
        (status = 200, description = "Saved", body = GuideSummary),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/guides/{id}/recommendation")]
async fn recommend_guide(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<SetRecommendation>,
) -> Result<web::Json<GuideSummary>, AppError> {
    Ok(web::Json(guides::recommend(&st, &auth.principal, &auth.ctx, *id, body.0).await?))
}

/// The guide's versions, newest first (its managers).
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    responses(
        (status = 200, description = "Versions", body = Vec<GuideVersionView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}/versions")]
async fn list_guide_versions(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<GuideVersionView>>, AppError> {
    Ok(web::Json(guides::versions(&st, &auth.principal, *id).await?))
}

/// One version with its content (its managers).
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id"), ("n" = i32, Path, description = "Version number")),
    responses(
        (status = 200, description = "The version", body = GuideVersionDetail),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide or version visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}/versions/{n}")]
async fn get_guide_version(
    st: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, i32)>,
) -> Result<web::Json<GuideVersionDetail>, AppError> {
    let (id, n) = path.into_inner();
    Ok(web::Json(guides::version(&st, &auth.principal, id, n).await?))
}

/// Upload a sample text or blank form (示范文本及空表) to the guide (its managers). Refer to it from a
/// draft's `sample_files` or a material's `sample_file_id`; it becomes public when that version is
/// published. Checked for a safe name, the size limit and contents matching the extension.
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = GuideFileView),
        (status = 400, description = "Unsafe file name or bad form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Type not accepted or contents not matching the extension", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guides/{id}/files")]
async fn upload_guide_file(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    mp: Multipart,
) -> Result<HttpResponse, AppError> {
    guides::authorize_upload(&st, &auth.principal, *id).await?;
    let up = read_upload(mp, st.storage.max_file_bytes).await?;
    let v = guides::add_file(&st, &auth.principal, &auth.ctx, *id, &up.filename, up.data).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Every file uploaded to the guide, referenced or not (its managers).
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id")),
    responses(
        (status = 200, description = "Files", body = Vec<GuideFileView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such guide visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}/files")]
async fn list_guide_files(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<Vec<GuideFileView>>, AppError> {
    Ok(web::Json(guides::files(&st, &auth.principal, *id).await?))
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 with the RFC 5987 encoding).
pub(crate) fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Download a file of the guide: public when the published version refers to it, and for the
/// guide's managers. Served with its stored media type.
#[utoipa::path(
    tag = "guides",
    params(("id" = Uuid, Path, description = "Guide id"), ("file_id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, served with its stored media type (PDF, JPEG, PNG, GIF, WebP, DOCX, XLSX, …)", content_type = "*/*", body = Vec<u8>,
            headers(("Content-Disposition" = String, description = "attachment with the file name (RFC 5987)"))),
        (status = 401, description = "Bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/guides/{id}/files/{file_id}")]
async fn download_guide_file(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, file_id) = path.into_inner();
    let (f, data) = guides::download(&st, principal(&auth), id, file_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(f.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&f.filename)))
        .insert_header((header::ETAG, format!("\"{}\"", f.sha256)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=60"))
        .body(data))
}

/// Delete a file no current version refers to (its managers).
#[utoipa::path(
    tag = "guides",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Guide id"), ("file_id" = Uuid, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owning department", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A current version refers to it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/guides/{id}/files/{file_id}")]
async fn delete_guide_file(
    st: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, file_id) = path.into_inner();
    guides::delete_file(&st, &auth.principal, &auth.ctx, id, file_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
