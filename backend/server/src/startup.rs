//! Building and running the server: `Application::build` returns the bound port before serving,
//! so tests can start the real server on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::{Server, fn_service};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use sea_orm::ConnectionTrait;
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::tokens::JwtKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::http::{self, extract, middleware};
use crate::metrics::Metrics;
use crate::services::roles;
use crate::state::AppState;

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    /// The state the server runs with (tests use its database).
    pub state: AppState,
}

/// Connect, migrate, make sure built-in roles exist and, in demo mode, seed the demo college.
pub async fn prepare(settings: &Settings) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let db = Db::connect(&settings.database_url(), settings.db_max_connections).await?;
    // Instances starting together on one PostgreSQL take turns: one migrates and seeds, the others
    // wait for it and find nothing left to do. The lock is a session's, on a connection of its own.
    let turn = if db.backend() == sea_orm::DatabaseBackend::Postgres {
        let mut opts = sea_orm::ConnectOptions::new(settings.database_url());
        opts.max_connections(1).min_connections(1).sqlx_logging(false);
        let c = sea_orm::Database::connect(opts).await?;
        c.execute_unprepared("SELECT pg_advisory_lock(7353002)").await?;
        Some(c)
    } else {
        None
    };
    let prepared = prepare_in_turn(settings, db).await;
    if let Some(c) = turn {
        c.execute_unprepared("SELECT pg_advisory_unlock(7353002)").await?;
        c.close().await?;
    }
    prepared
}

async fn prepare_in_turn(settings: &Settings, db: Db) -> anyhow::Result<Db> {
    db.migrate().await?;
    let txn = db.write().await?;
    roles::sync_builtin(&*txn).await?;
    txn.commit().await?;
    if settings.demo && crate::demo::seed(&db).await? {
        tracing::info!("demo college created; every demo account uses the password {}", crate::demo::DEMO_PASSWORD);
    }
    let installed = crate::builtin::install(&db).await?;
    if installed > 0 {
        tracing::info!(installed, "built-in processes and guides installed");
    }
    Ok(db)
}

fn jwt_keys(settings: &Settings) -> anyhow::Result<JwtKeys> {
    let secret = match &settings.jwt_secret {
        Some(s) => {
            let bytes = s.expose_secret().as_bytes().to_vec();
            anyhow::ensure!(bytes.len() >= 32, "TONGBAN_JWT_SECRET must be at least 32 bytes");
            bytes
        }
        None => JwtKeys::load_or_create(&settings.data_dir)?,
    };
    Ok(JwtKeys::from_secret(&secret))
}

impl Application {
    /// Prepare the database and bind the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = prepare(&settings).await?;
        // The guide search index lives in memory: load it before serving.
        let search = Arc::new(crate::services::search::SearchIndex::new()?);
        search.rebuild(&db).await?;
        let state = AppState {
            db,
            keys: Arc::new(jwt_keys(&settings)?),
            metrics: Arc::new(Metrics::default()),
            signing: Arc::new(crate::signing::KeyRing::load_or_create(&settings.signing_keys_dir())?),
            fonts: Arc::new(settings.pdf_fonts()?),
            live: Arc::new(crate::services::live::LiveHub::default()),
            storage: Arc::new(crate::services::storage::Storage::from_settings(&settings)?),
            search,
            hall: Arc::new(crate::services::hall::HallCache::default()),
            principals: Arc::new(crate::auth::principal::PrincipalCache::default()),
            commands: Arc::new(crate::services::directory::CommandCache::default()),
            limits: Arc::new(crate::http::ratelimit::RateLimits::new(&settings.rate_limit)),
            settings: Arc::new(settings),
        };
        let listener = TcpListener::bind(&state.settings.listen)?;
        let port = listener.local_addr()?.port();
        let server = run(listener, state.clone())?;
        crate::services::jobs::spawn(state.clone());
        crate::services::search::spawn_sync(state.db.clone(), state.search.clone());
        crate::services::live::spawn(state.clone());
        crate::services::delivery::spawn(state.clone())?;
        crate::services::integrations::spawn(state.clone())?;
        crate::services::alerts::spawn(state.clone())?;
        crate::services::housekeeping::spawn(state.clone());
        // Load the hall (with its hot counts, a scan of a month of affairs) before the first visitor.
        let warm = state.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = crate::services::hall::snapshot(&warm).await {
                tracing::warn!(error = %e, "could not load the hall");
            }
        });
        Ok(Application { port, server, state })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until stopped (SIGINT/SIGTERM end it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// The server handle and the future that runs it, for tests that stop it themselves.
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn cors(settings: &Settings) -> Cors {
    let mut c = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "PATCH"])
        .allowed_headers(["authorization", "content-type", "accept-language", "if-match", "idempotency-key"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(3600);
    for o in &settings.cors_origins {
        c = c.allowed_origin(o);
    }
    c
}

fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let data = web::Data::new(state.clone());
    let json_limit = state.settings.max_json_bytes;
    let spa_root = state.settings.frontend_dir.clone();
    let settings = state.settings.clone();
    let server = HttpServer::new(move || {
        let spa_root = spa_root.clone();
        App::new()
            .wrap(from_fn(http::ratelimit::limit))
            .wrap(from_fn(middleware::request_context))
            .wrap(cors(&settings))
            .wrap(Compress::default())
            .wrap(TracingLogger::default())
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(json_limit).error_handler(|e, _| extract::json_error(e).into()))
            .app_data(web::QueryConfig::default().error_handler(|e, _| extract::query_error(e).into()))
            .app_data(web::FormConfig::default().limit(16 * 1024).error_handler(|e, _| extract::form_error(e).into()))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .app_data(web::PayloadConfig::default().limit(json_limit))
            .into_utoipa_app()
            .openapi(http::base_doc())
            .configure(http::routes)
            .openapi_service(|api| SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", http::finish(api)))
            .into_app()
            .configure(http::pages::configure)
            .default_service(fn_service(move |req| http::spa::fallback(req, spa_root.clone())))
    })
    .listen(listener)?
    .shutdown_timeout(30)
    .disable_signals()
    .run();
    // Our own signal handling: end the live notification streams first (clients reconnect to
    // another instance), then stop gracefully, so open streams do not hold the shutdown.
    let handle = server.handle();
    let live = state.live.clone();
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        live.close();
        handle.stop(true).await;
    });
    Ok(server)
}
