//! A new PostgreSQL database for one scenario's server, dropped afterwards.

use crate::{
    error::{BenchError, Result},
    stored,
};

pub struct ScratchDatabase {
    /// The server's URL (its `postgres` database), where the scratch one is created and dropped.
    base: String,
    name: String,
    /// The scratch database's own URL, for the server under test.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates `energyapp_bench_<pid>` on the server of `base` (dropping a leftover one first).
    pub async fn create(base: &str) -> Result<ScratchDatabase> {
        let name = format!("energyapp_bench_{}", std::process::id());
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => return Err(BenchError::Usage(format!("not a PostgreSQL URL: {base}"))),
        };
        let pool = stored::connect(base).await?;
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&pool)
            .await?;
        sqlx::query(&format!("create database {name}"))
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok(ScratchDatabase {
            base: base.to_owned(),
            name,
            url,
        })
    }

    pub async fn drop(self) -> Result<()> {
        let pool = stored::connect(&self.base).await?;
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .execute(&pool)
        .await?;
        pool.close().await;
        Ok(())
    }
}
