//! The `tongban` command.

use std::io::Read;

use clap::{Parser, Subcommand};
use tongban_server::config::Settings;
use tongban_server::startup::{Application, prepare};

#[derive(Parser)]
#[command(name = "tongban", version, about = "通办 · one-stop online service hall")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the docs and the web app.
    Serve {
        /// Address to listen on (overrides TONGBAN_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Create the demo college in an empty database (same as TONGBAN_DEMO=1).
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Fill the database.
    Seed {
        /// The demo college and demo accounts (only into an empty database).
        #[arg(long, required = true)]
        demo: bool,
    },
    /// Create an IT-office administrator account; the password is read from
    /// TONGBAN_ADMIN_PASSWORD or standard input.
    CreateAdmin {
        /// Username of the new administrator.
        #[arg(long)]
        username: String,
        /// Name shown.
        #[arg(long, default_value = "系统管理员")]
        display_name: String,
    },
    /// Print the OpenAPI document as JSON.
    Openapi,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        println!("{}", tongban_server::http::openapi().to_pretty_json()?);
        return Ok(());
    }
    let mut settings = Settings::load().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    tongban_server::telemetry::init(&settings.log_format);
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(l) = listen {
                settings.listen = l;
            }
            settings.demo |= demo;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "tongban is serving");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            settings.demo = false;
            prepare(&settings).await?.close().await?;
            println!("migrations applied");
        }
        Command::Seed { demo } => {
            settings.demo = demo;
            let db = prepare(&settings).await?;
            db.close().await?;
        }
        Command::CreateAdmin { username, display_name } => {
            let password = match std::env::var("TONGBAN_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            settings.demo = false;
            let db = prepare(&settings).await?;
            let id = tongban_server::services::users::create_admin(&db, &settings, &username, &display_name, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!("created administrator {username} ({id})");
            db.close().await?;
        }
        Command::Openapi => {}
    }
    Ok(())
}
