//! Is a file a sound energyapp database this binary can run?

use std::{path::Path, str::FromStr};

use anyhow::{Context, bail, ensure};
use sqlx::{Connection, Row, any::AnyConnectOptions};

use crate::server::db::known_migrations;

/// What a checked database holds.
#[derive(Debug)]
pub struct Summary {
    pub users: i64,
    pub conversations: i64,
    pub messages: i64,
    pub migration: i64,
    pub bytes: u64,
}

/// Opens the file read-only and checks: SQLite integrity, the energyapp tables, and migrations
/// no newer than this binary's.
pub async fn inspect(file: &Path) -> anyhow::Result<Summary> {
    ensure!(file.is_file(), "{} is not a file", file.display());
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = sqlx::AnyConnection::connect_with(&AnyConnectOptions::from_str(&url)?)
        .await
        .context("not a SQLite database")?;
    let integrity: String = sqlx::query("pragma integrity_check")
        .fetch_one(&mut conn)
        .await
        .context("not a SQLite database")?
        .try_get(0)?;
    ensure!(integrity == "ok", "integrity check failed: {integrity}");
    let tables: i64 = sqlx::query(
        "select count(*) from sqlite_master where type = 'table' \
         and name in ('users', 'conversations', 'messages', '_sqlx_migrations')",
    )
    .fetch_one(&mut conn)
    .await?
    .try_get(0)?;
    ensure!(
        tables == 4,
        "not an energyapp-llm database (its tables are missing)"
    );
    let applied: Vec<i64> = sqlx::query("select version from _sqlx_migrations order by version")
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let known = known_migrations();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        bail!(
            "it was written by a newer energyapp-llm (migration {newer} is unknown to this \
             binary): restore it with that version or later"
        );
    }
    let mut counts = [0i64; 3];
    for (slot, table) in counts
        .iter_mut()
        .zip(["users", "conversations", "messages"])
    {
        *slot = sqlx::query(&format!("select count(*) from {table}"))
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
    }
    conn.close().await?;
    let [users, conversations, messages] = counts;
    Ok(Summary {
        users,
        conversations,
        messages,
        migration: applied.last().copied().unwrap_or(0),
        bytes: std::fs::metadata(file)?.len(),
    })
}
