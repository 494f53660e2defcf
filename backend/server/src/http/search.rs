//! `GET /search`: the hall's search box.

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{MaybeAuth, ValidQuery};
use super::problem::Problem;
use crate::dto::common::PageQuery;
use crate::dto::search::{SearchQuery, SearchResult};
use crate::error::AppError;
use crate::services::search;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(search_all);
}

/// Search published guides by Chinese words and pinyin (full spelling, initials and their
/// prefixes: `zdzm`, `zaidu` and `zd` find 在读证明), ranked with exact and name matches first,
/// filtered by theme, department and audience. Public; with a token the caller's own affairs whose
/// number or title contains the query are listed too. Special characters are searched as
/// separators, never as query syntax.
#[utoipa::path(
    tag = "search",
    security((), ("bearer" = [])),
    params(SearchQuery, PageQuery),
    responses(
        (status = 200, description = "Matching guides and, when signed in, own affairs", body = SearchResult),
        (status = 400, description = "Blank or too long query, bad filter or paging", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent but is invalid or expired", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/search")]
async fn search_all(
    st: web::Data<AppState>,
    auth: MaybeAuth,
    q: ValidQuery<SearchQuery>,
    page: ValidQuery<PageQuery>,
) -> Result<web::Json<SearchResult>, AppError> {
    let caller = auth.0.as_ref().map(|a| &a.principal);
    Ok(web::Json(search::search(&st, caller, &q.0, &page.0).await?))
}
