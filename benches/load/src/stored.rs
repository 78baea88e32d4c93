//! Reading the server's database afterwards: are the answers stored whole?

use std::collections::HashMap;

use sqlx::{AnyPool, Row};

use crate::{api::Streamed, error::Result};

/// How many of `answers` are stored `complete` with exactly the streamed text.
pub struct Check {
    pub whole: usize,
    pub missing: usize,
    pub wrong_status: usize,
    pub wrong_text: usize,
}

pub async fn check(database_url: &str, answers: &[Streamed]) -> Result<Check> {
    let pool = connect(database_url).await?;
    let rows = sqlx::query("select id, status, content from messages where role = 'assistant'")
        .fetch_all(&pool)
        .await?;
    pool.close().await;
    let mut stored: HashMap<String, (String, String)> = HashMap::with_capacity(rows.len());
    for row in rows {
        stored.insert(
            row.try_get("id")?,
            (row.try_get("status")?, row.try_get("content")?),
        );
    }
    let mut check = Check {
        whole: 0,
        missing: 0,
        wrong_status: 0,
        wrong_text: 0,
    };
    for answer in answers {
        match stored.get(&answer.message_id) {
            None => check.missing += 1,
            Some((status, _)) if status != "complete" => check.wrong_status += 1,
            Some((_, content)) if *content != answer.text => check.wrong_text += 1,
            Some(_) => check.whole += 1,
        }
    }
    Ok(check)
}

/// A small pool on the server's database (SQLite file or PostgreSQL).
pub async fn connect(database_url: &str) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await?)
}
