//! `/attachments`: uploading application materials, reading them back, deleting unused uploads.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::Auth;
use super::problem::Problem;
use super::upload::{UploadForm, read_upload};
use crate::dto::attachment::AttachmentView;
use crate::error::AppError;
use crate::services::attachments;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(upload_attachment).service(attachment_meta).service(download_attachment).service(delete_attachment);
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 with the RFC 5987 encoding).
fn disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Upload a material (multipart `file`, optional `field`: the form field it is for). The file is
/// checked for a safe name, the size limit and contents matching its extension, and kept as yours
/// until a submitted form names its id in a `file` field. Nothing is stored when it is refused.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = AttachmentView),
        (status = 400, description = "Unsafe file name, empty file or bad form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed to apply or handle", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, type not accepted, or contents not matching the extension", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many uploads not yet submitted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/attachments")]
async fn upload_attachment(st: web::Data<AppState>, auth: Auth, mp: Multipart) -> Result<HttpResponse, AppError> {
    let up = read_upload(mp, st.storage.max_file_bytes).await?;
    let field = up.fields.get("field").map(String::as_str);
    let v = attachments::upload(&st, &auth.principal, &auth.ctx, &up.filename, up.data, field).await?;
    Ok(HttpResponse::Created().json(v))
}

/// An attachment's metadata: for its uploader, and for whoever may see the affair and field it
/// is attached to.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The metadata", body = AttachmentView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{id}/meta")]
async fn attachment_meta(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<AttachmentView>, AppError> {
    Ok(web::Json(attachments::meta(&st, &auth.principal, *id).await?))
}

/// Download an attachment, with its stored media type, as a download (never rendered inline).
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file, served with its stored media type (PDF, JPEG, PNG, GIF, WebP, DOCX, XLSX, …)", content_type = "*/*", body = Vec<u8>,
            headers(("Content-Disposition" = String, description = "attachment with the file name (RFC 5987)"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{id}")]
async fn download_attachment(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let (f, data) = attachments::download(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::Ok()
        .content_type(f.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition(&f.filename)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::ETAG, format!("\"{}\"", f.sha256)))
        .body(data))
}

/// Delete an upload of yours that no submitted form names yet.
#[utoipa::path(
    tag = "affairs",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already submitted with an application", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/attachments/{id}")]
async fn delete_attachment(st: web::Data<AppState>, auth: Auth, id: web::Path<Uuid>) -> Result<HttpResponse, AppError> {
    attachments::delete(&st, &auth.principal, &auth.ctx, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn file_names_are_encoded_for_both_kinds_of_client() {
        assert_eq!(
            disposition("在读证明 v1.pdf"),
            "attachment; filename=\"____ v1.pdf\"; filename*=UTF-8''%E5%9C%A8%E8%AF%BB%E8%AF%81%E6%98%8E%20v1.pdf"
        );
        assert_eq!(disposition("a\"b.pdf"), "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf");
    }
}
