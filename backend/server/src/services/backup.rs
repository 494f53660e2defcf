//! `tongban backup` and `tongban restore`: the database, every stored object and the key material
//! of the data directory, in one directory with a manifest of every file's size and SHA-256.
//!
//! A backup directory holds:
//!
//! - `manifest.json` — format, Tongban version, the latest migration applied, the database kind,
//!   when it was made, and `files`: the path, size and SHA-256 of every other file;
//! - `database.sqlite` (SQLite: `VACUUM INTO`, a consistent copy while servers run) or
//!   `database.pgdump` (PostgreSQL: `pg_dump --format=custom`, one snapshot);
//! - `objects/<key>` — every object of the store (local directory or S3), copied after the
//!   database, so every object the database names is there;
//! - `keys/jwt.key`, `keys/signing/…` (certificate and audit-seal signing keys), `keys/seals/…`
//!   (seal images).
//!
//! Restore verifies every checksum before it touches anything, refuses a target database or store
//! that is not empty unless forced, then restores the database, the objects and the keys and runs
//! the migrations.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::Db;
use crate::services::storage::Storage;

/// The manifest format written.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database.sqlite";
const PG_FILE: &str = "database.pgdump";

/// One file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Path inside the backup directory, with `/`.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The version of `tongban` that made it.
    pub tongban_version: String,
    /// The latest migration applied to the database backed up.
    pub migration: Option<String>,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// `fs` or `s3`: where the objects came from.
    pub storage: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Objects of the store copied.
    pub objects: u64,
    /// Whether the JWT secret is configured (`TONGBAN_JWT_SECRET`) rather than kept in the data
    /// directory, and therefore not in the backup.
    pub jwt_secret_configured: bool,
    /// Every other file of the backup.
    pub files: Vec<ManifestFile>,
}

/// What a backup or restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The manifest written or restored from.
    pub manifest: Manifest,
    /// Bytes of all files.
    pub bytes: u64,
    /// Seconds it took.
    pub seconds: f64,
}

fn kind_of(url: &str) -> anyhow::Result<DatabaseBackend> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseBackend::Postgres)
    } else {
        bail!("数据库地址无法识别 / the database URL is neither sqlite: nor postgres://")
    }
}

fn kind_name(b: DatabaseBackend) -> &'static str {
    if b == DatabaseBackend::Postgres { "postgres" } else { "sqlite" }
}

/// The file of a `sqlite://path?…` URL.
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

fn pg_tool(settings: &Settings, name: &str) -> PathBuf {
    match &settings.backup.pg_bin_dir {
        Some(d) => d.join(name),
        None => PathBuf::from(name),
    }
}

/// A PostgreSQL URL without its password, and the password: `pg_dump` and `pg_restore` get it in
/// `PGPASSWORD`, so it does not show in the process list.
fn pg_url_and_password(url: &str) -> (String, Option<String>) {
    let Ok(mut u) = reqwest::Url::parse(url) else { return (url.to_owned(), None) };
    let password = u.password().map(percent_decode);
    if password.is_some() && u.set_password(None).is_err() {
        return (url.to_owned(), None);
    }
    (u.to_string(), password)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `pg_dump`/`pg_restore` command against `url`.
fn pg_command(settings: &Settings, tool: &str, url: &str) -> std::process::Command {
    let (url, password) = pg_url_and_password(url);
    let mut cmd = std::process::Command::new(pg_tool(settings, tool));
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.arg("--dbname").arg(url);
    cmd
}

/// Run a command on a blocking thread; its standard error in the message when it fails.
async fn run(mut cmd: std::process::Command, what: &str) -> anyhow::Result<()> {
    let what = what.to_owned();
    let out = tokio::task::spawn_blocking(move || cmd.output()).await?.with_context(|| {
        format!("{what} could not be started (install the PostgreSQL client tools or set TONGBAN_BACKUP__PG_BIN_DIR)")
    })?;
    ensure!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    Ok(())
}

async fn latest_migration<C: ConnectionTrait>(db: &C) -> Option<String> {
    let b = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(b, "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1"))
        .await
        .ok()??;
    row.try_get::<String>("", "version").ok()
}

/// SHA-256 and size of a file, read in blocks.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

/// Every regular file under `root`, as paths relative to it with `/`.
fn walk(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let ty = e.file_type()?;
            if ty.is_dir() {
                stack.push(e.path());
            } else if ty.is_file()
                && let Ok(rel) = e.path().strip_prefix(root)
            {
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copy the regular files of `from` (not hidden ones) into `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    for rel in walk(from)? {
        if rel.split('/').any(|p| p.starts_with('.')) {
            continue;
        }
        let dest = to.join(&rel);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::copy(from.join(&rel), &dest)?;
    }
    Ok(())
}

/// Write a file readable by its owner only (keys).
fn copy_private(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(from, to)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Back up into `out`, which must not exist or be empty.
pub async fn backup(settings: &Settings, out: &Path) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    if out.exists() {
        ensure!(
            out.is_dir() && std::fs::read_dir(out)?.next().is_none(),
            "备份目录须为空 / the backup directory {} exists and is not empty",
            out.display()
        );
    }
    std::fs::create_dir_all(out)?;
    let url = settings.database_url();
    let kind = kind_of(&url)?;
    let db = Db::connect(&url, 2).await?;
    let migration = latest_migration(db.conn()).await;

    // The database first: every object it names was stored before its row was written.
    match kind {
        DatabaseBackend::Postgres => {
            let mut cmd = pg_command(settings, "pg_dump", &url);
            cmd.arg("--format=custom").arg("--no-owner").arg("--file").arg(out.join(PG_FILE));
            run(cmd, "pg_dump").await?;
        }
        _ => {
            let dest = out.join(SQLITE_FILE).to_string_lossy().into_owned();
            db.conn()
                .execute_raw(Statement::from_sql_and_values(DatabaseBackend::Sqlite, "VACUUM INTO ?", [dest.into()]))
                .await
                .context("VACUUM INTO")?;
        }
    }

    // Every object of the store.
    let storage = Storage::from_settings(settings)?;
    let objects = storage.list().await?;
    for (key, _) in &objects {
        anyhow::ensure!(
            !key.split('/').any(|p| p.is_empty() || p == "." || p == ".."),
            "object key {key} cannot be a file name"
        );
        let dest = out.join("objects").join(key);
        if let Some(p) = dest.parent() {
            tokio::fs::create_dir_all(p).await?;
        }
        let (_, mut stream) = storage.get_stream(key).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut f = tokio::fs::File::create(&dest).await?;
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        while let Some(chunk) = stream.next().await {
            f.write_all(&chunk?).await?;
        }
        f.flush().await?;
    }

    // The keys.
    let (data_dir, signing, seals) = (settings.data_dir.clone(), settings.signing_keys_dir(), settings.seals_dir());
    let keys = out.join("keys");
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let jwt = data_dir.join("jwt.key");
        if jwt.is_file() {
            copy_private(&jwt, &keys.join("jwt.key"))?;
        }
        copy_dir(&signing, &keys.join("signing"))?;
        copy_dir(&seals, &keys.join("seals"))
    })
    .await??;

    // The manifest, of everything else.
    let root = out.to_path_buf();
    let files = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<ManifestFile>> {
        walk(&root)?
            .into_iter()
            .map(|path| {
                let (size, sha256) = hash_file(&root.join(&path))?;
                Ok(ManifestFile { path, size, sha256 })
            })
            .collect()
    })
    .await??;
    let manifest = Manifest {
        format: FORMAT,
        tongban_version: env!("CARGO_PKG_VERSION").into(),
        migration,
        database: kind_name(kind).into(),
        storage: storage.backend().into(),
        created_at: Utc::now(),
        objects: objects.len() as u64,
        jwt_secret_configured: settings.jwt_secret.is_some(),
        files,
    };
    std::fs::write(out.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    let bytes = manifest.files.iter().map(|f| f.size).sum();

    // Recorded for `/metrics` (tongban_last_backup_timestamp_seconds) and the runbook's checks.
    let detail = serde_json::json!({ "at": manifest.created_at, "bytes": bytes, "objects": manifest.objects, "dir": out.display().to_string() });
    record_state(&db, "last_backup", detail).await?;
    db.close().await?;
    Ok(Outcome { manifest, bytes, seconds: started.elapsed().as_secs_f64() })
}

/// Write one `ops_state` row.
pub(crate) async fn record_state(db: &Db, key: &str, value: serde_json::Value) -> anyhow::Result<()> {
    use crate::entity::ops_state;
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{EntityTrait, Set};
    let txn = db.write().await?;
    ops_state::Entity::insert(ops_state::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(ops_state::Column::Key)
            .update_columns([ops_state::Column::Value, ops_state::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(&*txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Read and check a backup: the manifest, and every file's size and SHA-256. Nothing is changed.
pub async fn verify(from: &Path) -> anyhow::Result<Manifest> {
    let text = std::fs::read(from.join(MANIFEST))
        .with_context(|| format!("{} 不是备份目录 / {} has no manifest.json", from.display(), from.display()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).context("manifest.json 无法读取 / manifest.json is not valid")?;
    ensure!(
        manifest.format == FORMAT,
        "备份格式 {} 不受支持 / backup format {} is not supported",
        manifest.format,
        manifest.format
    );
    let root = from.to_path_buf();
    let m = manifest.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let listed: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        for f in &m.files {
            ensure!(
                !f.path.split('/').any(|p| p.is_empty() || p == "." || p == ".."),
                "manifest.json names an unsafe path {}",
                f.path
            );
            let (size, sha256) = hash_file(&root.join(&f.path))
                .with_context(|| format!("备份缺少文件 / the backup lacks {}", f.path))?;
            ensure!(
                size == f.size && sha256 == f.sha256,
                "校验失败，备份已损坏或被改动，未做任何恢复 / checksum mismatch: {} is {size} bytes with SHA-256 {sha256}, the manifest says {} bytes with {}; nothing was restored",
                f.path,
                f.size,
                f.sha256
            );
        }
        for p in walk(&root)? {
            ensure!(p == MANIFEST || listed.contains(p.as_str()), "备份中有清单之外的文件 / {p} is not in manifest.json");
        }
        Ok(())
    })
    .await??;
    let db_file = if manifest.database == "postgres" { PG_FILE } else { SQLITE_FILE };
    ensure!(manifest.files.iter().any(|f| f.path == db_file), "the backup has no {db_file}");
    Ok(manifest)
}

async fn database_is_empty(url: &str) -> anyhow::Result<bool> {
    let kind = kind_of(url)?;
    if kind == DatabaseBackend::Sqlite {
        let path = sqlite_path(url);
        if !path.exists() || std::fs::metadata(&path)?.len() == 0 {
            return Ok(true);
        }
    }
    let db = Db::connect(url, 1).await?;
    let sql = match kind {
        DatabaseBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()"
        }
        _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
    };
    let row = db.conn().query_one_raw(Statement::from_string(kind, sql)).await?;
    let n: i64 = row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or_default();
    db.close().await?;
    Ok(n == 0)
}

/// Restore the backup in `from` into the database, object store and data directory of
/// `settings`: checksums first, then (refusing a target that is not empty unless `force`) the
/// database, the objects and the keys, then the migrations.
pub async fn restore(settings: &Settings, from: &Path, force: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let manifest = verify(from).await?;
    let url = settings.database_url();
    let kind = kind_of(&url)?;
    ensure!(
        manifest.database == kind_name(kind),
        "备份来自 {}，目标数据库是 {} / the backup is of a {} database, the target is {}",
        manifest.database,
        kind_name(kind),
        manifest.database,
        kind_name(kind)
    );
    std::fs::create_dir_all(&settings.data_dir)?;
    let storage = Storage::from_settings(settings)?;
    if !force {
        ensure!(
            database_is_empty(&url).await?,
            "目标数据库不是空的，未做任何恢复（确需覆盖请加 --force）/ the target database is not empty; nothing was restored (--force overwrites it)"
        );
        ensure!(
            storage.list().await.map_err(|e| anyhow::anyhow!("{e:?}"))?.is_empty(),
            "目标文件存储不是空的，未做任何恢复（确需覆盖请加 --force）/ the target object store is not empty; nothing was restored (--force overwrites it)"
        );
        let signing = settings.signing_keys_dir();
        let keys_exist = settings.data_dir.join("jwt.key").exists()
            || (signing.is_dir() && std::fs::read_dir(&signing)?.next().is_some());
        ensure!(
            !keys_exist,
            "目标数据目录中已有密钥，未做任何恢复（确需覆盖请加 --force）/ the target data directory holds keys already; nothing was restored (--force overwrites them)"
        );
    }

    // The database.
    match kind {
        DatabaseBackend::Postgres => {
            let mut cmd = pg_command(settings, "pg_restore", &url);
            cmd.arg("--no-owner").arg("--no-privileges").arg("--exit-on-error");
            if force {
                cmd.arg("--clean").arg("--if-exists");
            }
            cmd.arg(from.join(PG_FILE));
            run(cmd, "pg_restore").await?;
        }
        _ => {
            let path = sqlite_path(&url);
            if let Some(p) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(p)?;
            }
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", path.display()));
                if side.exists() {
                    std::fs::remove_file(side)?;
                }
            }
            std::fs::copy(from.join(SQLITE_FILE), &path)?;
        }
    }

    // The objects.
    let mut objects = 0u64;
    for f in manifest.files.iter().filter(|f| f.path.starts_with("objects/")) {
        let key = &f.path["objects/".len()..];
        storage.put_path(key, &from.join(&f.path)).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        objects += 1;
    }
    ensure!(objects == manifest.objects, "the manifest counts {} objects but lists {objects}", manifest.objects);

    // The keys.
    let (root, data_dir, signing, seals) =
        (from.to_path_buf(), settings.data_dir.clone(), settings.signing_keys_dir(), settings.seals_dir());
    let paths: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        for p in paths {
            let src = root.join(&p);
            if p == "keys/jwt.key" {
                copy_private(&src, &data_dir.join("jwt.key"))?;
            } else if let Some(rest) = p.strip_prefix("keys/signing/") {
                copy_private(&src, &signing.join(rest))?;
            } else if let Some(rest) = p.strip_prefix("keys/seals/") {
                let dest = seals.join(rest);
                if let Some(d) = dest.parent() {
                    std::fs::create_dir_all(d)?;
                }
                std::fs::copy(&src, dest)?;
            }
        }
        Ok(())
    })
    .await??;

    // A backup of an older release is brought up to this one.
    let db = Db::connect(&url, 2).await?;
    db.migrate().await?;
    db.close().await?;
    let bytes = manifest.files.iter().map(|f| f.size).sum();
    Ok(Outcome { manifest, bytes, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        let (url, pw) = pg_url_and_password("postgres://tongban:p%40ss%3Aw0rd@db:5432/tongban?sslmode=require");
        assert_eq!(url, "postgres://tongban@db:5432/tongban?sslmode=require");
        assert_eq!(pw.as_deref(), Some("p@ss:w0rd"));
        let (url, pw) = pg_url_and_password("postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(pw, None);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://./data/tongban.db?mode=rwc"), PathBuf::from("./data/tongban.db"));
        assert_eq!(sqlite_path("sqlite:/var/lib/t.db"), PathBuf::from("/var/lib/t.db"));
    }
}
