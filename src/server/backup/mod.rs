//! `backup` and `restore` for a SQLite database. A backup is taken online (`VACUUM INTO`: one
//! consistent snapshot, the service keeps serving) and checked; a restore checks the file
//! first and never overwrites without `--force`. PostgreSQL uses pg_dump / pg_restore.

mod check;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub use check::{Summary, inspect};

use super::db::{Db, sqlite_path};

const POSTGRES_BACKUP: &str = "database.url is PostgreSQL: back it up with pg_dump, e.g. \
     `pg_dump -Fc -d energyapp -f energyapp.dump` (docs/DEPLOY.md, Backups)";
const POSTGRES_RESTORE: &str = "database.url is PostgreSQL: restore with pg_restore, e.g. \
     `pg_restore --clean --if-exists -d energyapp energyapp.dump` (docs/DEPLOY.md, Backups)";

fn sqlite_file(url: &str, postgres_hint: &str) -> anyhow::Result<PathBuf> {
    if url.starts_with("postgres") {
        bail!("{postgres_hint}");
    }
    sqlite_path(url).with_context(|| format!("database.url {url} names no database file"))
}

/// Copies the live database to `to` (a new file unless `force`), then checks the copy.
pub async fn backup(url: &str, to: &Path, force: bool) -> anyhow::Result<Summary> {
    let source = sqlite_file(url, POSTGRES_BACKUP)?;
    if !source.exists() {
        bail!("no database at {} (database.url)", source.display());
    }
    if to.exists() && !force {
        bail!("{} exists; pass --force to replace it", to.display());
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let partial = with_suffix(to, ".partial");
    let _ = std::fs::remove_file(&partial);
    let db = Db::connect(url, 1)
        .await
        .context("cannot open the database")?;
    sqlx::query("vacuum into $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&db.pool)
        .await
        .with_context(|| format!("cannot write the backup to {}", partial.display()))?;
    db.pool.close().await;
    // Password hashes and every conversation: readable by the owner only.
    #[cfg(unix)]
    std::fs::set_permissions(
        &partial,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    let summary = inspect(&partial)
        .await
        .context("the backup does not check out")?;
    std::fs::rename(&partial, to)?;
    Ok(summary)
}

/// Puts a backup in place of the configured database (the service must be stopped). The file
/// is checked first; an existing database is only replaced with `force`, and is kept beside
/// it as `<name>.replaced-<time>`.
pub async fn restore(url: &str, from: &Path, force: bool) -> anyhow::Result<(Summary, PathBuf)> {
    let target = sqlite_file(url, POSTGRES_RESTORE)?;
    let summary = inspect(from)
        .await
        .with_context(|| format!("{} is not a usable backup", from.display()))?;
    if target.exists() {
        if !force {
            bail!(
                "{} exists; stop the service and pass --force to replace it",
                target.display()
            );
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let kept = with_suffix(&target, &format!(".replaced-{stamp}"));
        std::fs::rename(&target, &kept)?;
        for side in ["-wal", "-shm"] {
            let file = with_suffix(&target, side);
            if file.exists() {
                std::fs::rename(&file, with_suffix(&kept, side))?;
            }
        }
    } else if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let partial = with_suffix(&target, ".partial");
    std::fs::copy(from, &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &target)?;
    Ok((summary, target))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}
