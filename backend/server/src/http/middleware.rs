//! Per-request middleware: request id header, language of error bodies, security headers and metrics.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use super::problem::{EnglishBody, PROBLEM_JSON};
use crate::error::Lang;
use crate::state::AppState;

/// Pages (the web app, the API docs, the verification page): scripts, styles, fonts and images
/// from this origin only — no CDN, no inline scripts (inline styles, which component libraries set,
/// are allowed); the API on the same origin; never framed.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
/// Everything else (JSON, files, PDFs): nothing may run.
const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const PERMISSIONS: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/// The middleware function; wrap it innermost so it sees the handlers' own responses.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = Lang::from_accept_language(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let start = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let request_id = req.extensions().get::<tracing_actix_web::RequestId>().map(|r| r.to_string());
    let hsts = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.public_url.starts_with("https://"));

    let mut res = next.call(req).await?;

    if lang == Lang::En {
        let en = res.response().extensions().get::<EnglishBody>().cloned();
        if let Some(en) = en {
            res = res.map_body(|_, _| BoxBody::new(en.0));
        }
    }
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    let headers = res.headers_mut();
    if let Some(id) = request_id.and_then(|id: String| HeaderValue::from_str(&id).ok()) {
        headers.insert(HeaderName::from_static("x-request-id"), id);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if hsts {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let html = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if html { PAGE_CSP } else { DATA_CSP }));
    if is_problem
        || res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
    {
        let lang_tag = if lang == Lang::En { "en" } else { "zh-CN" };
        res.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang_tag));
    }

    if let Some(m) = metrics {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        m.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    }
    Ok(res)
}
