//! Serving the single-page app with a history fallback, and problem 404s for unknown API paths.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::{HttpResponse, ResponseError};

use crate::error::{AppError, ErrorCode};

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>通办 Tongban</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.6">
<h1>通办 · 一站式网上办事大厅</h1>
<p>服务已启动。网页端尚未构建；接口文档见 <a href="/api/docs/">/api/docs/</a>。</p>
<p>The server is running. The web app is not built yet; see the API docs at <a href="/api/docs/">/api/docs/</a>.</p>
</body></html>"#;

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Route patterns and their methods, from the OpenAPI document (the route table itself).
fn route_table() -> &'static Vec<(Vec<String>, Vec<String>)> {
    static TABLE: OnceLock<Vec<(Vec<String>, Vec<String>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc = super::openapi();
        doc.paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.trim_matches('/').split('/').map(str::to_owned).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| m.to_owned())
                .collect();
                (segments, methods)
            })
            .collect()
    })
}

/// The methods of the endpoint a path names, if it names one. Literal segments win over
/// placeholders (`/tasks/batch` is not `/tasks/{id}`).
pub fn methods_of(path: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let matches: Vec<&(Vec<String>, Vec<String>)> = route_table()
        .iter()
        .filter(|(pattern, _)| {
            pattern.len() == parts.len()
                && pattern.iter().zip(&parts).all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
        })
        .collect();
    let placeholders = |p: &Vec<String>| p.iter().filter(|s| s.starts_with('{')).count();
    let best = matches.iter().map(|(p, _)| placeholders(p)).min()?;
    let mut methods: Vec<String> =
        matches.iter().filter(|(p, _)| placeholders(p) == best).flat_map(|(_, m)| m.iter().cloned()).collect();
    methods.sort();
    methods.dedup();
    Some(methods)
}

/// A 405 problem response naming the allowed methods.
pub fn method_not_allowed(allowed: &[String]) -> HttpResponse {
    let mut res = AppError::code(ErrorCode::MethodNotAllowed).error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    res
}

/// A file under `root` for the request path, refusing anything that climbs out of it.
fn file_for(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let p = root.join(rel);
    p.is_file().then_some(p)
}

/// The default service: problem 404 for API paths and non-GET requests, static files of the SPA,
/// and `index.html` for every other path (client-side routing).
pub async fn fallback(req: ServiceRequest, root: PathBuf) -> Result<ServiceResponse, actix_web::Error> {
    let (req, _) = req.into_parts();
    if let Some(allowed) = methods_of(req.path()) {
        // A known endpoint asked with another method.
        return Ok(ServiceResponse::new(req, method_not_allowed(&allowed)));
    }
    if is_api(req.path()) || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(ServiceResponse::new(req, AppError::code(ErrorCode::RouteNotFound).error_response()));
    }
    if let Some(file) = file_for(&root, req.path()) {
        let res = actix_files::NamedFile::open(file)?.into_response(&req);
        return Ok(ServiceResponse::new(req, res));
    }
    let res = match std::fs::read(root.join("index.html")) {
        Ok(bytes) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(bytes),
        Err(_) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PLACEHOLDER),
    };
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb_out_of_the_spa_root() {
        let root = std::env::temp_dir();
        assert_eq!(file_for(&root, "/../etc/passwd"), None);
        assert_eq!(file_for(&root, "/a/../../etc/passwd"), None);
        assert_eq!(file_for(&root, "/"), None);
    }
}
