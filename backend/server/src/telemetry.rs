//! Structured logs with `tracing`; `RUST_LOG` filters, `TONGBAN_LOG_FORMAT=json` for JSON lines.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber once.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}
