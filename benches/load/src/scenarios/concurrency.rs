//! Scenario 2, concurrency: thousands of streaming chats at once (100 tokens, 20 ms apart): all
//! complete, no error, every answer stored whole; the server's peak resident memory.

use std::time::Duration;

use super::Bench;
use crate::{
    api::{self, App},
    drive,
    error::Result,
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::{Goal, Report},
    stats::Sample,
    stored,
};

const S: &str = "concurrency";

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let (mut server, _) = Server::start(&bench.build, &bench.sim, &ServerConfig::default()).await?;
    let result = measure(bench, &mut server, report).await;
    if result.is_err() {
        eprintln!("{}", server.log_tail());
    }
    server.stop().await;
    result
}

async fn measure(bench: &Bench, server: &mut Server, report: &mut Report) -> Result<()> {
    let http = api::http_client();
    let app = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let n = bench.pick(2000, 300);
    let prompt = "Resume mi consumo [sim tokens=100 delay_ms=20]";
    let cpu_before = server.cpu_time();
    let batch = drive::streams(n, Duration::ZERO, Duration::from_secs(180), |_| {
        let app = app.clone();
        async move { app.chat(prompt, false).await }
    })
    .await;
    let cpu = server.cpu_time() - cpu_before;
    let (_, hwm) = server.memory_kib();
    // What is in the database once the server has stopped, as an operator would stop it.
    server.terminate().await?;
    let check = stored::check(&server.database_url, &batch.ok).await?;
    let completed = batch
        .ok
        .iter()
        .filter(|s| s.completion_tokens == 100)
        .count();
    report.add(
        S,
        &format!("{n} streams: completed with 100 tokens"),
        completed as f64,
        "",
        Some(Goal::AtLeast(n as f64)),
    );
    report.add(
        S,
        &format!("{n} streams: errors"),
        batch.errors.len() as f64,
        "",
        Some(Goal::AtMost(0.0)),
    );
    report.add(
        S,
        &format!("{n} streams: stored whole (status complete, same text)"),
        check.whole as f64,
        "",
        Some(Goal::AtLeast(n as f64)),
    );
    report.add(
        S,
        "peak streams between first token and end at once",
        batch.peak_concurrent() as f64,
        "",
        None,
    );
    report.add(
        S,
        "server peak RSS (VmHWM)",
        hwm as f64 / 1024.0,
        "MiB",
        Some(Goal::AtMost(150.0)),
    );
    let first = Sample::of_ms(batch.ok.iter().map(|s| s.first_token));
    report.add(S, "TTFT p50", first.p50(), "ms", None);
    report.add(S, "TTFT p99", first.p99(), "ms", None);
    report.add(
        S,
        "wall time of the batch",
        batch.elapsed.as_secs_f64(),
        "s",
        None,
    );
    report.add(S, "server CPU time", cpu.as_secs_f64(), "s", None);
    if !batch.errors.is_empty() {
        report.note(S, format!("errors: {}", batch.error_summary()));
    }
    if check.missing + check.wrong_status + check.wrong_text > 0 {
        report.note(
            S,
            format!(
                "stored: {} missing, {} not complete, {} with other text",
                check.missing, check.wrong_status, check.wrong_text
            ),
        );
    }
    Ok(())
}
