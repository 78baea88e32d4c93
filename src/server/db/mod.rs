//! The database: one pool over SQLite or PostgreSQL, chosen by the URL.
//!
//! Queries use portable SQL (`$n` placeholders, text ids and timestamps) through sqlx's
//! `Any` driver, so nothing above this module knows which database it talks to.

pub mod api_keys;
pub mod audit;
pub mod conversations;
mod cursor;
pub mod login_failures;
pub mod messages;
pub mod refresh_tokens;
mod shown_url;
pub mod turns;
pub mod usage;
pub mod users;
mod wal;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
};

pub use cursor::{Cursor, page_size};
pub use shown_url::shown_url;

use crate::error::AppError;

/// Largest SQLite pool. SQLite takes one writer at a time; further connections only contend
/// for its lock, and a connection that finds it taken sleeps and retries (1, 2, 5, ... up to
/// 100 ms): with 16 connections and 500 answers streaming, answers ended up to 200 ms late.
/// Two let one connection read while the other writes.
pub const SQLITE_MAX_CONNECTIONS: u32 = 2;

/// A PostgreSQL connection idle for longer than this is pinged before it is used again.
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(500);

/// PostgreSQL: a `with` query that turns `synchronous_commit` off for the transaction of the
/// statement it belongs to, so that its commit does not wait for the log to reach the disk (the
/// setting ends with the transaction). The statement must read its row (`from no_flush_wait`),
/// or it is not evaluated.
macro_rules! no_flush_wait {
    () => {
        "no_flush_wait as (select set_config('synchronous_commit', 'off', true) as setting)"
    };
}
pub(crate) use no_flush_wait;

/// Which engine sits behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The shared connection pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// PostgreSQL: the turns' rows, the checkpoints and the answers' ends commit without
    /// waiting for the log's flush ([`no_flush_wait!`]).
    quick_commits: bool,
    /// An SQLite file's log copier ([`wal`]), for as long as a handle on the pool lives.
    _checkpointer: Option<Arc<wal::Checkpointer>>,
}

/// The embedded migrations. Forward-only and additive (see `migrations/README.md`), so that a
/// new release can migrate while the old one still serves, and a rolled-back binary can run
/// on a database that already has a newer migration (it ignores migrations it does not know).
static MIGRATOR: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| ignoring_unknown(sqlx::migrate!("./migrations")));

/// Migrations only PostgreSQL runs, after the shared ones: what SQLite has no counterpart for
/// (the admin search's trigram index). They share the migrations table and have their own
/// versions; each migrator ignores the other's, as it ignores a newer release's.
static POSTGRES_MIGRATOR: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| ignoring_unknown(sqlx::migrate!("./migrations/postgres")));

fn ignoring_unknown(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    migrator.set_ignore_missing(true);
    migrator
}

impl Db {
    /// Opens the pool; for SQLite, creates the file (and its folder) if missing and turns on
    /// WAL, a busy timeout and foreign keys on every connection.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        // A file's log is copied by a task of its own, not by commits (an in-memory database
        // has no log).
        let own_checkpoints = backend == Backend::Sqlite && sqlite_path(&url).is_some();
        let max_connections = match backend {
            Backend::Sqlite => max_connections.clamp(1, SQLITE_MAX_CONNECTIONS),
            Backend::Postgres => max_connections.max(1),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A connection to PostgreSQL that has been idle for a while is checked (a round
            // trip) before use, so that one the server dropped is replaced instead of failing
            // a request; one used moments ago is not, or every query would cost two round
            // trips under load (HikariCP skips its check the same way, within 500 ms). An
            // SQLite connection is a file handle in this process: never checked.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for > CHECK_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "pragma journal_mode = wal; pragma busy_timeout = 5000; \
                             pragma foreign_keys = on; pragma synchronous = normal;",
                        )
                        .await?;
                    }
                    if own_checkpoints {
                        conn.execute(wal::NO_AUTOCHECKPOINT).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await?;
        let checkpointer = if own_checkpoints {
            Some(wal::start(&options).await?)
        } else {
            None
        };
        Ok(Db {
            pool,
            backend,
            quick_commits: true,
            _checkpointer: checkpointer,
        })
    }

    /// Whether the turns' rows, the checkpoints and the answers' ends may commit without
    /// waiting for the log's flush (`database.quick_commits`).
    pub fn with_quick_commits(mut self, quick: bool) -> Db {
        self.quick_commits = quick;
        self
    }

    /// Whether the turns' rows, the checkpoints and the answers' ends commit without waiting
    /// for the log's flush:
    /// on PostgreSQL with quick commits on, through [`no_flush_wait!`]. (SQLite's commits never
    /// wait for the disk here: `synchronous = normal` in WAL mode.)
    pub fn quick_commits(&self) -> bool {
        self.backend == Backend::Postgres && self.quick_commits
    }

    /// Applies pending migrations (embedded in the binary).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await?;
        if self.backend == Backend::Postgres {
            POSTGRES_MIGRATOR.run(&self.pool).await?;
        }
        Ok(())
    }

    /// `lower(expr)` folding ASCII letters only, as SQLite's `lower()` does. On PostgreSQL
    /// that is `lower()` under the "C" collation: several times faster than the database
    /// locale's full Unicode folding, which made the admin text search over 100,000 messages
    /// take ~120 ms; and both backends then find the same rows.
    pub fn lower_ascii(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("lower({expr})"),
            Backend::Postgres => format!("lower({expr} collate \"C\")"),
        }
    }

    /// Cheap liveness probe.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }
}

/// Versions of the migrations this binary carries, oldest first.
pub fn known_migrations() -> Vec<i64> {
    let mut versions: Vec<i64> = MIGRATOR
        .iter()
        .chain(POSTGRES_MIGRATOR.iter())
        .map(|m| m.version)
        .collect();
    versions.sort_unstable();
    versions
}

/// The file behind a `sqlite:` URL; `None` for PostgreSQL or an in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// Adds `mode=rwc` and creates the parent folder, so a fresh checkout just works.
fn sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Current time in the stored format (RFC 3339, UTC, microseconds).
pub fn now() -> String {
    stamp(chrono::Utc::now())
}

/// A time as stored: RFC 3339 in UTC with microseconds (so stored times sort as text).
pub fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A fresh time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Logs a database error and hides it from the client.
pub fn internal(err: sqlx::Error) -> AppError {
    tracing::error!(error = %err, "database error");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upgrades migrate while the previous release still serves, and roll backs run the
    /// previous binary on the migrated schema: migrations only add (migrations/README.md).
    #[test]
    fn migrations_are_additive() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .chain(std::fs::read_dir(dir.join("postgres")).unwrap());
        let forbidden = [
            "drop ",
            "rename ",
            "alter column",
            "delete from",
            "truncate",
        ];
        for entry in files {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "sql") {
                continue;
            }
            let sql = std::fs::read_to_string(&path).unwrap().to_lowercase();
            let code: String = sql
                .lines()
                .map(|l| l.split("--").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
                // An index may be replaced: without it a query is slower, never wrong.
                .replace("drop index", "");
            for word in forbidden {
                assert!(
                    !code.contains(word),
                    "{}: `{word}` (migrations must be additive: add a column or table, \
                     drop it in a later release once no binary uses it)",
                    path.display()
                );
            }
            for added in code.split("add column").skip(1) {
                let column = added.split(';').next().unwrap_or("");
                assert!(
                    !column.contains("not null") || column.contains("default"),
                    "{}: a new not-null column needs a default",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn postgres_only_migrations_are_apart() {
        let shared: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        let postgres: Vec<i64> = POSTGRES_MIGRATOR.iter().map(|m| m.version).collect();
        assert!(!postgres.is_empty());
        assert!(postgres.iter().all(|v| !shared.contains(v)), "{postgres:?}");
        assert_eq!(known_migrations().len(), shared.len() + postgres.len());
    }

    #[test]
    fn sqlite_paths_come_from_urls() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/x/app.db?mode=rwc"),
            Some("/var/lib/x/app.db".into())
        );
        assert_eq!(sqlite_path("sqlite://data/a.db"), Some("data/a.db".into()));
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert!(!known_migrations().is_empty());
    }

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/x.db");
        let url = sqlite_url(&format!("sqlite://{}", file.display())).unwrap();
        assert!(url.ends_with("x.db?mode=rwc"), "{url}");
        assert!(file.parent().unwrap().is_dir());
        assert_eq!(
            sqlite_url("sqlite::memory:?cache=shared").unwrap(),
            "sqlite://:memory:?cache=shared&mode=rwc"
        );
    }
}
