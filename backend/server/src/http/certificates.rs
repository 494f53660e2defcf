//! `/certificate-types`, `/certificates`, `/me/certificates` and the public `/verify/{code}`:
//! electronic certificates (电子证照).

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{Auth, ValidJson, ValidQuery};
use super::guides::content_disposition;
use super::problem::Problem;
use crate::dto::certificate::{
    CertificateQuery, CertificateTypeView, CertificateView, CreateCertificateType, IssueCertificate,
    ReissueCertificate, RevokeCertificate, UpdateCertificateType, VerifyResult,
};
use crate::dto::common::{Page, PageQuery};
use crate::error::AppError;
use crate::services::certificates;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_certificate_types)
        .service(create_certificate_type)
        .service(update_certificate_type)
        .service(put_certificate_type_seal)
        .service(delete_certificate_type_seal)
        .service(issue_certificate)
        .service(list_certificates)
        .service(get_certificate)
        .service(get_certificate_document)
        .service(get_certificate_pdf)
        .service(revoke_certificate)
        .service(reissue_certificate)
        .service(my_certificates)
        .service(verify_certificate);
}

/// Certificate types the caller issues (`certificate.issue`, scoped to its departments).
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Certificate types", body = Vec<CertificateTypeView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an issuer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificate-types")]
async fn list_certificate_types(
    st: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<Vec<CertificateTypeView>>, AppError> {
    Ok(web::Json(certificates::list_types(&st, &auth.principal).await?))
}

/// Define a certificate type for a department you issue for; the template must parse.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    request_body = CreateCertificateType,
    responses(
        (status = 201, description = "Created", body = CertificateTypeView),
        (status = 400, description = "Invalid, or the template does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this department", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/certificate-types")]
async fn create_certificate_type(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<CreateCertificateType>,
) -> Result<HttpResponse, AppError> {
    let v = certificates::create_type(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Change a certificate type; certificates already issued keep their text.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate type id")),
    request_body = UpdateCertificateType,
    responses(
        (status = 200, description = "Changed", body = CertificateTypeView),
        (status = 400, description = "Invalid, or the template does not parse", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such type among yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/certificate-types/{id}")]
async fn update_certificate_type(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<UpdateCertificateType>,
) -> Result<web::Json<CertificateTypeView>, AppError> {
    Ok(web::Json(certificates::update_type(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// Upload the seal image printed on this type's certificates (multipart `file`: a PNG of at most
/// 1 MiB, transparent background best); it replaces the drawn seal.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate type id")),
    request_body(content = crate::http::upload::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The type, its layout naming the seal", body = CertificateTypeView),
        (status = 400, description = "Unsafe file name, empty file or bad form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such type among yours", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PNG", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/certificate-types/{id}/seal")]
async fn put_certificate_type_seal(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    mp: actix_multipart::Multipart,
) -> Result<web::Json<CertificateTypeView>, AppError> {
    let up = crate::http::upload::read_upload(mp, 1024 * 1024).await?;
    let v =
        certificates::set_seal(&st, &auth.principal, &auth.ctx, id.into_inner(), Some((up.filename, up.data))).await?;
    Ok(web::Json(v))
}

/// Remove the uploaded seal image: certificates show the drawn seal again.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate type id")),
    responses(
        (status = 200, description = "The type", body = CertificateTypeView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such type among yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/certificate-types/{id}/seal")]
async fn delete_certificate_type_seal(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<CertificateTypeView>, AppError> {
    Ok(web::Json(certificates::set_seal(&st, &auth.principal, &auth.ctx, id.into_inner(), None).await?))
}

/// Issue a certificate by hand: the type's template rendered over the holder and `data`, numbered
/// and signed.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    request_body = IssueCertificate,
    responses(
        (status = 201, description = "Issued", body = CertificateView),
        (status = 400, description = "Invalid, unknown type or holder, or the body cannot be rendered", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an issuer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/certificates")]
async fn issue_certificate(
    st: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<IssueCertificate>,
) -> Result<HttpResponse, AppError> {
    let v = certificates::issue(&st, &auth.principal, &auth.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Certificates issued by your departments.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(CertificateQuery),
    responses(
        (status = 200, description = "A page of certificates", body = Page<CertificateView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an issuer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificates")]
async fn list_certificates(
    st: web::Data<AppState>,
    auth: Auth,
    q: ValidQuery<CertificateQuery>,
) -> Result<web::Json<Page<CertificateView>>, AppError> {
    Ok(web::Json(certificates::list(&st, &auth.principal, &q.0).await?))
}

/// One certificate, for its holder or an issuer over its department.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate id")),
    responses(
        (status = 200, description = "The certificate", body = CertificateView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificates/{id}")]
async fn get_certificate(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<web::Json<CertificateView>, AppError> {
    Ok(web::Json(certificates::get(&st, &auth.principal, id.into_inner()).await?))
}

/// The signed certificate JSON (`{certificate, signature}`) as a download; `tongban verify` checks it.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate id")),
    responses(
        (status = 200, description = "The signed document", body = Object, content_type = "application/json",
            headers(("Content-Disposition" = String, description = "attachment; filename={number}.json"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificates/{id}/document")]
async fn get_certificate_document(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let (number, doc) = certificates::document(&st, &auth.principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&format!("{number}.json"))))
        .json(doc))
}

/// The certificate as an A4 PDF: the school's layout, the body in Chinese, the issuer's seal and a
/// QR code to the public verification page; drawn as of now (a revoked, superseded or expired
/// certificate says so across the page). The signed JSON is attached inside
/// (`certificate.json`), so `tongban verify FILE.pdf` checks it offline.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate id")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf",
            headers(("Content-Disposition" = String, description = "attachment; filename={number}.pdf"))),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificates/{id}/pdf")]
async fn get_certificate_pdf(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let (number, pdf) = certificates::pdf(&st, &auth.principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&format!("{number}.pdf"))))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(pdf))
}

/// Revoke a valid certificate, with a reason (public verification then says `revoked`).
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate id")),
    request_body = RevokeCertificate,
    responses(
        (status = 200, description = "Revoked", body = CertificateView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The holder cannot revoke", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not valid any more", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/certificates/{id}/revoke")]
async fn revoke_certificate(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<RevokeCertificate>,
) -> Result<web::Json<CertificateView>, AppError> {
    Ok(web::Json(certificates::revoke(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?))
}

/// Re-issue: a new certificate with a new number supersedes this one; both are linked.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Certificate id")),
    request_body = ReissueCertificate,
    responses(
        (status = 201, description = "The new certificate", body = CertificateView),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The holder cannot re-issue", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not valid any more", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/certificates/{id}/reissue")]
async fn reissue_certificate(
    st: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: ValidJson<ReissueCertificate>,
) -> Result<HttpResponse, AppError> {
    let v = certificates::reissue(&st, &auth.principal, &auth.ctx, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(v))
}

/// Your certificates (the wallet), newest first.
#[utoipa::path(
    tag = "certificates",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your certificates", body = Page<CertificateView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/certificates")]
async fn my_certificates(
    st: web::Data<AppState>,
    auth: Auth,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<Page<CertificateView>>, AppError> {
    Ok(web::Json(certificates::wallet(&st, &auth.principal, &page.0).await?))
}

/// Public verification of a certificate by its code: status, type, number, the holder's name
/// masked, issuer and dates, the successor when superseded, reason when revoked.
#[utoipa::path(
    tag = "certificates",
    params(("code" = String, Path, description = "Verification code")),
    responses(
        (status = 200, description = "What the certificate is", body = VerifyResult),
        (status = 404, description = "No certificate with this code", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/verify/{code}")]
async fn verify_certificate(
    st: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<web::Json<VerifyResult>, AppError> {
    Ok(web::Json(certificates::verify(&st, &code).await?))
}
