//! The HTTP layer: routes, extractors, problem responses, the OpenAPI document and the SPA.
//!
//! Handlers are thin: parse, authenticate, call a service, map the result.

pub mod absences;
pub mod affairs;
pub mod audit;
pub mod auth;
pub mod departments;
pub mod extract;
pub mod holidays;
pub mod me;
pub mod middleware;
pub mod notifications;
pub mod ops;
pub mod positions;
pub mod problem;
pub mod processes;
pub mod roles;
pub mod spa;
pub mod users;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use problem::{Problem, ProblemField};

/// Every route, for the server and for the OpenAPI document alike.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .configure(auth::configure)
            .configure(me::configure)
            .configure(departments::configure)
            .configure(users::configure)
            .configure(roles::configure)
            .configure(positions::configure)
            .configure(processes::configure)
            .configure(affairs::configure)
            .configure(notifications::configure)
            .configure(absences::configure)
            .configure(holidays::configure)
            .configure(audit::configure),
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
        (name = "affairs", description = "Applying and following affairs"),
        (name = "tasks", description = "To-do lists and handling actions"),
        (name = "absences", description = "Out-of-office delegation (代理) and hand-over (离职交接)"),
        (name = "holidays", description = "Working-day calendar (法定节假日, 调休)"),
        (name = "audit", description = "Audit trail"),
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
    actix_web::App::new().into_utoipa_app().openapi(base_doc()).configure(routes).split_for_parts().1
}
