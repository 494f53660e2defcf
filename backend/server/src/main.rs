//! The `tongban` command.

use std::io::Read;

use clap::{Parser, Subcommand};
use tongban_server::config::Settings;
use tongban_server::signing::KeyRing;
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
        #[arg(long, required_unless_present = "scale", conflicts_with = "scale")]
        demo: bool,
        /// A large college for measurements on top of the demo college (only into an empty
        /// database): at 1, 30,000 users, 300 guides, 200 process versions, 1,000,000 affairs.
        #[arg(long)]
        scale: Option<f64>,
        /// Seed of the generator: the same seed and --as-of give the same college.
        #[arg(long, default_value_t = 1, requires = "scale")]
        seed: u64,
        /// The moment the generated data describes (RFC 3339); now when not given.
        #[arg(long, requires = "scale")]
        as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Number of guides instead of 300 × scale.
        #[arg(long, requires = "scale")]
        guides: Option<usize>,
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
    /// Print the access-control matrix (docs/access-control.md) as Markdown.
    AccessMatrix,
    /// Certificate signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Check the invariants of every affair (finished, or work pending for someone; the tasks
    /// mirror agrees with the instance; the history complete), of certificates and files (their
    /// affairs, types and holders exist), optionally of the object store (`--files`), and verify the
    /// audit chain: exit status 0 when nothing is broken, 1 otherwise. Read only.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also look up every object the database names in the object store, with its size.
        #[arg(long)]
        files: bool,
    },
    /// Back up the database, every object of the file store and the keys of the data directory
    /// (JWT secret, certificate and audit-seal signing keys, seal images) into a new, empty
    /// directory, with manifest.json holding the size and SHA-256 of every file. Safe while the
    /// servers run: SQLite is copied with VACUUM INTO, PostgreSQL dumped by pg_dump in one
    /// snapshot (set TONGBAN_BACKUP__PG_BIN_DIR when pg_dump is not on PATH). Copy the directory
    /// off the host afterwards; it holds the keys.
    Backup {
        /// The directory to create (must not exist or be empty).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a directory made by `tongban backup` into the configured database, file store and
    /// data directory: every checksum is verified before anything is touched (a backup that
    /// does not match its manifest is refused), the target must be empty (an empty SQLite file or
    /// a freshly created PostgreSQL database, an empty store, no keys) unless --force, then the
    /// database, files and keys are restored and the migrations run. Run `tongban check --files`
    /// afterwards.
    Restore {
        /// The backup directory.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Overwrite a target that is not empty.
        #[arg(long)]
        force: bool,
        /// Only verify the backup's checksums; restore nothing.
        #[arg(long)]
        verify_only: bool,
    },
    /// Check a signed certificate offline, as JSON or as the PDF that carries it: exit status 0 when
    /// its signature holds, 1 when not.
    Verify {
        /// The certificate file.
        file: std::path::PathBuf,
        /// A published key set (`/.well-known/tongban-keys.json`) instead of this server's keys.
        #[arg(long)]
        keys: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Seal the records written since the last seal into the chain.
    Seal,
    /// Check every record's hash, every link of the chain and the signed heads: exit status 0 when
    /// nothing was edited, inserted or deleted, 1 otherwise.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move sealed records written before a day (at least 184 days ago) to the object store as a
    /// JSON Lines archive, keeping the chain verifiable.
    Archive {
        /// The first day kept in the database (YYYY-MM-DD, China time).
        #[arg(long)]
        before: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// List the keys (id, created, active or retired).
    List,
    /// Make a new key the one that signs; older keys keep verifying what they signed. Restart the
    /// servers (all instances share the key directory) to sign with it.
    Rotate,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        println!("{}", tongban_server::http::openapi().to_pretty_json()?);
        return Ok(());
    }
    if let Command::AccessMatrix = cli.command {
        print!("{}", tongban_server::access::document());
        return Ok(());
    }
    if let Command::Verify { file, keys: Some(jwks) } = &cli.command {
        let ring = KeyRing::from_jwks(&serde_json::from_slice(&std::fs::read(jwks)?)?)?;
        std::process::exit(verify_file(&ring, file)?);
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
        Command::Seed { demo, scale, seed, as_of, guides } => {
            settings.demo = demo;
            let db = prepare(&settings).await?;
            if let Some(scale) = scale {
                let as_of = as_of.map_or_else(tongban_server::time::now, |t| t.with_timezone(&chrono::Utc));
                let opts = tongban_server::services::seed_scale::ScaleOptions { scale, seed, as_of, guides };
                let report = tongban_server::services::seed_scale::seed(&db, &opts).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
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
            // The built-in processes wait for their first administrator.
            let installed = tongban_server::builtin::install(&db).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if installed > 0 {
                println!(
                    "installed {installed} built-in processes and guides (网上办事流程建设需求计划审批, 需求变更申请)"
                );
            }
            db.close().await?;
        }
        Command::Keys { action: KeysAction::List } => {
            let ring = KeyRing::load(&settings.signing_keys_dir())?;
            for k in ring.keys() {
                let state = if ring.active().is_some_and(|a| a.kid == k.kid) { "active" } else { "retired" };
                println!("{}  {}  {state}", k.kid, k.created_at.to_rfc3339());
            }
        }
        Command::Keys { action: KeysAction::Rotate } => {
            let kid = KeyRing::rotate(&settings.signing_keys_dir())?;
            println!("new signing key {kid} is active; restart the servers to sign with it");
        }
        Command::Audit { action } => {
            let db = prepare(&settings).await?;
            let ring = KeyRing::load_or_create(&settings.signing_keys_dir())?;
            let code = match action {
                AuditAction::Seal => {
                    let n =
                        tongban_server::audit_chain::seal(&db, &ring).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    println!("sealed {n} audit records");
                    0
                }
                AuditAction::Verify { json } => {
                    tongban_server::audit_chain::seal(&db, &ring).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    let r = tongban_server::audit_chain::verify(db.conn(), &ring)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&r)?);
                    } else {
                        println!(
                            "{}: {} records checked (positions {}–{}), {} unsealed, {} signed heads, {} archives",
                            if r.valid { "VALID" } else { "INVALID" },
                            r.checked,
                            r.from_pos,
                            r.to_pos,
                            r.unsealed,
                            r.seals_checked,
                            r.archives
                        );
                        for p in &r.problems {
                            println!("  {}: {}", p.kind, p.detail);
                        }
                    }
                    if r.valid { 0 } else { 1 }
                }
                AuditAction::Archive { before } => {
                    let storage = tongban_server::services::storage::Storage::from_settings(&settings)?;
                    let cutoff = before.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - chrono::TimeDelta::hours(8));
                    let cutoff = cutoff.ok_or_else(|| anyhow::anyhow!("invalid day"))?;
                    match tongban_server::audit_chain::archive(&db, &ring, &storage, cutoff)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?
                    {
                        Some(a) => println!(
                            "archived {} records (positions {}–{}) to {} (sha256 {})",
                            a.count, a.from_pos, a.to_pos, a.storage_key, a.sha256
                        ),
                        None => println!("nothing to archive before {before}"),
                    }
                    0
                }
            };
            db.close().await?;
            std::process::exit(code);
        }
        Command::Backup { out } => {
            let o = tongban_server::services::backup::backup(&settings, &out).await?;
            println!(
                "backup written to {}: {} database, migration {}, {} objects, {} files, {} bytes in {:.1} s",
                out.display(),
                o.manifest.database,
                o.manifest.migration.as_deref().unwrap_or("-"),
                o.manifest.objects,
                o.manifest.files.len(),
                o.bytes,
                o.seconds
            );
        }
        Command::Restore { from, force, verify_only } => {
            if verify_only {
                let m = tongban_server::services::backup::verify(&from).await?;
                println!(
                    "backup verified: {} files match manifest.json ({} database, made {} by tongban {})",
                    m.files.len(),
                    m.database,
                    m.created_at.to_rfc3339(),
                    m.tongban_version
                );
            } else {
                let o = tongban_server::services::backup::restore(&settings, &from, force).await?;
                println!(
                    "restored {} ({} database, {} objects, {} bytes) in {:.1} s; migrations applied. Run `tongban check --files` next.",
                    from.display(),
                    o.manifest.database,
                    o.manifest.objects,
                    o.bytes,
                    o.seconds
                );
            }
        }
        Command::Check { json, files } => {
            settings.demo = false;
            let db = prepare(&settings).await?;
            let ring = KeyRing::load_or_create(&settings.signing_keys_dir())?;
            let storage = tongban_server::services::storage::Storage::from_settings(&settings)?;
            // As `audit verify`: records written since the last seal are sealed first.
            tongban_server::audit_chain::seal(&db, &ring).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let r = tongban_server::services::integrity::check(db.conn(), &ring, files.then_some(&storage))
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            db.close().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let objects = r.objects.map(|n| format!(", {n} stored objects")).unwrap_or_default();
                println!(
                    "{}: {} affairs, {} tasks, {} certificates, {} files{objects}; audit chain {} ({} records)",
                    if r.ok { "OK" } else { "BROKEN" },
                    r.affairs,
                    r.tasks,
                    r.certificates,
                    r.files,
                    if r.audit.valid { "valid" } else { "INVALID" },
                    r.audit.checked
                );
                for p in &r.problems {
                    let what = match (&p.affair_number, p.affair_id, p.row_id) {
                        (Some(n), Some(id), _) => format!("affair {n} ({id})"),
                        (_, _, Some(id)) => format!("row {id}"),
                        _ => "-".into(),
                    };
                    println!("  {}: {what}: {}", p.kind, p.detail);
                }
                if r.problem_count > r.problems.len() as u64 {
                    println!("  … {} more", r.problem_count - r.problems.len() as u64);
                }
                for p in &r.audit.problems {
                    println!("  audit {}: {}", p.kind, p.detail);
                }
            }
            std::process::exit(if r.ok { 0 } else { 1 });
        }
        Command::Verify { file, .. } => {
            let ring = KeyRing::load(&settings.signing_keys_dir())?;
            std::process::exit(verify_file(&ring, &file)?);
        }
        Command::Openapi | Command::AccessMatrix => {}
    }
    Ok(())
}

/// Print what a certificate file's check found; the exit status to use.
fn verify_file(ring: &KeyRing, file: &std::path::Path) -> anyhow::Result<i32> {
    let bytes = std::fs::read(file)?;
    let json = if bytes.starts_with(b"%PDF-") {
        match tongban_server::pdf::read::certificate(&bytes) {
            Ok(j) => j,
            Err(e) => {
                println!("INVALID: {}: {e}", file.display());
                return Ok(1);
            }
        }
    } else {
        bytes
    };
    let doc: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| anyhow::anyhow!("{}: not JSON: {e}", file.display()))?;
    match ring.verify(&doc) {
        Ok(c) => {
            let show = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
            println!("valid: signature holds (key {}); number {}", show("kid"), show("number"));
            Ok(0)
        }
        Err(e) => {
            println!("INVALID: {e}");
            Ok(1)
        }
    }
}
