//! The HTTP layer: routes, extractors, problem responses, the OpenAPI document and the SPA.
//!
//! Handlers are thin: parse, authenticate, call a service, map the result.

pub mod absences;
pub mod affairs;
pub mod archives;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod certificates;
pub mod consult;
pub mod departments;
pub mod drafts;
pub mod extract;
pub mod guides;
pub mod hall;
pub mod holidays;
pub mod integrations;
pub mod me;
pub mod middleware;
pub mod notifications;
pub mod operations;
pub mod ops;
pub mod pages;
pub mod positions;
pub mod problem;
pub mod processes;
pub mod progress;
pub mod ratelimit;
pub mod requirements;
pub mod roles;
pub mod search;
pub mod spa;
pub mod stats;
pub mod upload;
pub mod users;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use problem::{Problem, ProblemField};

/// Every route, for the server and for the OpenAPI document alike.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        // actix tries the resources in this order and matches each `{param}` path with a regex,
        // so the most requested come first (no two modules' paths overlap, so order is free).
        utoipa_actix_web::scope("/api/v1")
            .configure(hall::configure)
            .configure(guides::configure)
            .configure(catalogue::configure)
            .configure(search::configure)
            .configure(affairs::configure)
            .configure(progress::configure)
            .configure(notifications::configure)
            .configure(me::configure)
            .configure(auth::configure)
            .configure(attachments::configure)
            .configure(drafts::configure)
            .configure(certificates::configure)
            .configure(consult::configure)
            .configure(absences::configure)
            .configure(departments::configure)
            .configure(users::configure)
            .configure(roles::configure)
            .configure(positions::configure)
            .configure(processes::configure)
            .configure(requirements::configure)
            .configure(holidays::configure)
            .configure(archives::configure)
            .configure(stats::configure)
            .configure(audit::configure)
            .configure(integrations::configure)
            .configure(operations::configure),
    )
    .configure(ops::configure);
}

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tongban 通办 API",
        description = "一站式网上办事大厅 REST API. Errors are `application/problem+json` with a stable `code`; \
                       messages are Chinese by default and English with `Accept-Language: en`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecurityAddon),
    components(schemas(Problem, ProblemField)),
    tags(
        (name = "auth", description = "Sign-in and sessions"),
        (name = "me", description = "The signed-in user"),
        (name = "departments", description = "Organisation tree"),
        (name = "users", description = "Accounts and role assignments"),
        (name = "roles", description = "Roles and permissions"),
        (name = "positions", description = "Positions: 院长, 书记, 分管院领导, heads, 辅导员"),
        (name = "processes", description = "Process definitions, versions, lifecycle and BPMN"),
        (name = "requirement-plans", description = "Requests to build online processes (网上办事流程建设需求计划): approval, build, trial, online, change requests"),
        (name = "affairs", description = "Applying and following affairs"),
        (name = "tasks", description = "To-do lists and handling actions"),
        (name = "absences", description = "Out-of-office delegation (代理) and hand-over (离职交接)"),
        (name = "holidays", description = "Working-day calendar (法定节假日, 调休)"),
        (name = "hall", description = "The service hall: front page, themes, quick channels, favourites and recent guides"),
        (name = "guides", description = "Service guides (办事指南): public reading, versions, sample files"),
        (name = "consultation", description = "Online consultation (在线咨询) on guides and their FAQ"),
        (name = "certificates", description = "Electronic certificates (电子证照): types, issuance, revocation, re-issue, wallet, public verification"),
        (name = "archives", description = "Archive packages of finished affairs (办件归档) and bulk exports"),
        (name = "search", description = "Search over guides (Chinese words and pinyin) and your own affairs"),
        (name = "stats", description = "Supervision (督办): figures per department and process, yellow and red cards, the violations register, quarterly assessment, XLSX export"),
        (name = "audit", description = "Audit trail"),
        (name = "integrations", description = "Integrators: API clients (OAuth 2.0 client credentials) and webhooks for affair and certificate events"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

/// The base document (info, tags, security) before routes are added.
pub fn base_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The complete OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    finish(actix_web::App::new().into_utoipa_app().openapi(base_doc()).configure(routes).split_for_parts().1)
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
        )
        .into()
}

/// Add the answers every operation can give, so the document never contradicts the server: 400 for
/// unreadable parameters or bodies, 401 where a token is required, 413 and 415 for bodies, 503 while
/// the database is unreachable.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            let has_input = op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let r = &mut op.responses.responses;
            if has_input {
                r.entry("400".into()).or_insert_with(|| problem_response("Bad input"));
            }
            if secured {
                r.entry("401".into()).or_insert_with(|| problem_response("Not signed in"));
            }
            if op.request_body.is_some() {
                r.entry("413".into()).or_insert_with(|| problem_response("Body too large"));
                r.entry("415".into()).or_insert_with(|| problem_response("Unsupported media type"));
            }
            r.entry("503".into())
                .or_insert_with(|| problem_response("Temporarily unavailable; retry after Retry-After"));
        }
    }
    doc
}
