//! Scenario 4, footprint: time from exec to a healthy `/health` (new and existing SQLite database) and
//! resident memory when idle.

use std::time::Duration;

use super::Bench;
use crate::{
    error::Result,
    procs::{Server, ServerConfig},
    report::{Goal, Report},
};

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    const S: &str = "footprint";
    let config = ServerConfig::default();
    let (server, cold) = Server::start(&bench.build, &bench.sim, &config).await?;
    let (server, warm) = server.restart(&bench.build, &bench.sim, &config).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, _) = server.memory_kib();
    server.stop().await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    report.add(
        S,
        "start -> healthy /health, new database",
        ms(cold),
        "ms",
        Some(Goal::AtMost(300.0)),
    );
    report.add(
        S,
        "start -> healthy /health, existing database",
        ms(warm),
        "ms",
        Some(Goal::AtMost(300.0)),
    );
    report.add(
        S,
        "idle RSS",
        rss as f64 / 1024.0,
        "MiB",
        Some(Goal::AtMost(20.0)),
    );
    report.note(
        S,
        format!(
            "a new database includes the migrations and hashing the bootstrap admin's password at bcrypt cost {}",
            config.bcrypt_cost
        ),
    );
    Ok(())
}
