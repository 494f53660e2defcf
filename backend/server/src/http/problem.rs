//! `application/problem+json` (RFC 9457) for every error, in Chinese or English.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorCode, FieldError, Lang};

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[schema(example = "https://tongban.dev/problems/validation_failed")]
    pub r#type: String,
    /// Short human summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Human explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine code, e.g. `task_already_handled`.
    pub code: String,
    /// Field errors, for validation failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// Field path.
    pub field: String,
    /// Stable code, e.g. `required`, `length`.
    pub code: String,
    /// Human message.
    pub message: String,
}

/// The English rendering of an error, kept on the response so the language middleware can
/// swap it in when the client prefers English.
#[derive(Clone)]
pub struct EnglishBody(pub Vec<u8>);

fn render(err: &AppError, lang: Lang) -> Problem {
    let code = err.error_code();
    let (detail, errors): (Option<String>, &[FieldError]) = match err {
        AppError::Client { detail, errors, .. } => (detail.as_ref().map(|m| m.get(lang).to_owned()), errors),
        _ => (None, &[]),
    };
    Problem {
        r#type: format!("https://tongban.dev/problems/{}", code.as_str()),
        title: code.title(lang).to_owned(),
        status: code.status(),
        detail,
        code: code.as_str().to_owned(),
        errors: errors
            .iter()
            .map(|f| ProblemField {
                field: f.field.clone(),
                code: f.code.clone(),
                message: f.message.get(lang).to_owned(),
            })
            .collect(),
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error_code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.error_code();
        match self {
            AppError::Client { .. } => {}
            other if code == ErrorCode::ServiceUnavailable => tracing::warn!(error = %other, "database unavailable"),
            other => tracing::error!(error = ?other, "request failed"),
        }
        let zh = serde_json::to_vec(&render(self, Lang::Zh)).unwrap_or_default();
        let en = serde_json::to_vec(&render(self, Lang::En)).unwrap_or_default();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        let retry = match self {
            AppError::Client { retry_after, .. } => *retry_after,
            _ if code == ErrorCode::ServiceUnavailable => Some(5),
            _ => None,
        };
        if let Some(secs) = retry {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        let mut res = res.body(zh);
        res.extensions_mut().insert(EnglishBody(en));
        res
    }
}
