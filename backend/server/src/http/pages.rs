//! Server-rendered public pages: the certificate verification page a QR code opens
//! (`/verify/{code}`), and `/verify` to type a code in. They work without JavaScript, on any phone's
//! camera app, and show only what `GET /api/v1/verify/{code}` shows.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;

use crate::dto::certificate::{VerifyResult, VerifyStatus};
use crate::error::AppError;
use crate::services::certificates;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/verify").route(web::get().to(verify_form)))
        .service(web::resource("/verify/{code}").route(web::get().to(verify_page)));
}

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>电子证照核验 · Certificate verification</title>
<style>
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 0; background: #f5f6f8; color: #1a1a1a; line-height: 1.6; }
main { max-width: 34rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
h1 small, dt small, .en { color: #666; font-weight: normal; font-size: .8em; }
.card { background: #fff; border-radius: .5rem; padding: 1.25rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.status { display: inline-block; padding: .25rem .75rem; border-radius: 1rem; font-weight: 600; margin-bottom: 1rem; }
.valid { background: #e6f4ea; color: #137333; }
.revoked, .missing { background: #fce8e6; color: #a50e0e; }
.superseded, .expired { background: #fef7e0; color: #8a5a00; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; margin: 0; }
dt { color: #555; }
dd { margin: 0; word-break: break-all; }
form { margin-top: 1.5rem; display: flex; gap: .5rem; }
input { flex: 1; padding: .5rem; font-size: 1rem; border: 1px solid #ccc; border-radius: .25rem; }
button { padding: .5rem 1rem; font-size: 1rem; border: 0; border-radius: .25rem; background: #1a73e8; color: #fff; }
p.note { color: #666; font-size: .85rem; margin-top: 1rem; }
</style>
</head>
<body><main>
<h1>电子证照核验 <small>Certificate verification</small></h1>
{% if r %}
<div class="card">
<div class="status {{ r.status }}" data-status="{{ r.status }}">{{ label.zh }} <span class="en">{{ label.en }}</span></div>
<dl>
<dt>证照类型 <small>Type</small></dt><dd>{{ r.type_name }}{% if r.type_name_en %} <span class="en">{{ r.type_name_en }}</span>{% endif %}</dd>
<dt>证照编号 <small>Number</small></dt><dd>{{ r.number }}</dd>
<dt>持证人 <small>Holder</small></dt><dd>{{ r.holder_name }}</dd>
<dt>签发单位 <small>Issuer</small></dt><dd>{{ r.department_name }}</dd>
<dt>签发日期 <small>Issued</small></dt><dd>{{ issued }}</dd>
{% if valid_until %}<dt>有效期至 <small>Valid until</small></dt><dd>{{ valid_until }}</dd>{% endif %}
{% if revoked_at %}<dt>撤销日期 <small>Revoked</small></dt><dd>{{ revoked_at }}</dd>{% endif %}
{% if r.revoke_reason %}<dt>撤销原因 <small>Reason</small></dt><dd>{{ r.revoke_reason }}</dd>{% endif %}
{% if r.superseded_by_code %}<dt>换发后证照 <small>Replaced by</small></dt><dd><a href="/verify/{{ r.superseded_by_code }}">查看新证照 View the new certificate</a></dd>{% endif %}
</dl>
<p class="note">核验结果以本页为准；纸质或 PDF 件上的内容应与上述信息一致。<br><span class="en">This page is authoritative: a printed or PDF copy must agree with it.</span></p>
</div>
{% elif code %}
<div class="card"><div class="status missing" data-status="missing">未找到该证照 <span class="en">No certificate with this code</span></div>
<p class="note">请核对核验码是否完整、正确。<span class="en">Check that the code is complete and correct.</span></p></div>
{% endif %}
<form method="get" action="/verify">
<input name="code" value="{{ code or '' }}" placeholder="输入核验码 Enter the verification code" maxlength="64" required>
<button type="submit">核验 Verify</button>
</form>
</main></body></html>
"#;

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::pdf::certificate::chinese_date(crate::time::china_day(t))
}

fn render(r: Option<&VerifyResult>, code: Option<&str>) -> Result<String, AppError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let label = r.map(|r| match r.status {
        VerifyStatus::Valid => ("有效", "Valid"),
        VerifyStatus::Revoked => ("已撤销", "Revoked"),
        VerifyStatus::Superseded => ("已换发（已被新证照取代）", "Superseded"),
        VerifyStatus::Expired => ("已过期", "Expired"),
    });
    env.render_str(
        PAGE,
        minijinja::context! {
            r => r.map(|r| minijinja::Value::from(minijinja::value::Serde(r))),
            label => label.map(|(zh, en)| minijinja::context! { zh, en }),
            issued => r.map(|r| day(r.issued_at)),
            valid_until => r.and_then(|r| r.valid_until).map(day),
            revoked_at => r.and_then(|r| r.revoked_at).map(day),
            code,
        },
    )
    .map_err(|e| AppError::Internal(e.into()))
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body)
}

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

async fn verify_form(q: web::Query<CodeQuery>) -> Result<HttpResponse, AppError> {
    match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            let target = format!("/verify/{}", percent_path(code));
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish())
        }
        None => Ok(html(actix_web::http::StatusCode::OK, render(None, None)?)),
    }
}

async fn verify_page(st: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let code = req.match_info().get("code").unwrap_or_default().to_owned();
    match certificates::verify(&st, &code).await {
        Ok(r) => Ok(html(actix_web::http::StatusCode::OK, render(Some(&r), Some(&code))?)),
        Err(e) if e.status_code() == actix_web::http::StatusCode::NOT_FOUND => {
            Ok(html(actix_web::http::StatusCode::NOT_FOUND, render(None, Some(&code))?))
        }
        Err(e) => Err(e),
    }
}

/// A typed code as one path segment: unreserved characters as they are, the rest percent-encoded.
fn percent_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_it_shows_and_encodes_typed_codes() {
        let r = VerifyResult {
            status: VerifyStatus::Revoked,
            number: "ZM2026000001".into(),
            type_name: "在读证明".into(),
            type_name_en: None,
            holder_name: "林*".into(),
            department_name: "学生工作处".into(),
            issued_at: chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap_or_default(),
            valid_until: None,
            superseded_by_code: None,
            revoked_at: None,
            revoke_reason: Some("<script>alert(1)</script>".into()),
        };
        let page = render(Some(&r), Some("abc")).expect("render");
        assert!(page.contains("data-status=\"revoked\""));
        assert!(page.contains("已撤销"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>alert"));
        assert_eq!(percent_path("ab/c d"), "ab%2Fc%20d");
    }
}
