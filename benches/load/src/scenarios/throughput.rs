//! Scenario 3, throughput: tokens relayed per second with a simulator that does not wait between
//! tokens, and the server's CPU time per relayed token (from `/proc/<pid>/stat`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::Bench;
use crate::{
    api::{self, App},
    error::{BenchError, Result},
    proc_stats,
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::{Goal, Report},
};

const S: &str = "throughput";

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let (server, _) = Server::start(&bench.build, &bench.sim, &ServerConfig::default()).await?;
    let result = measure(bench, &server, report).await;
    server.stop().await;
    result
}

async fn measure(bench: &Bench, server: &Server, report: &mut Report) -> Result<()> {
    let http = api::http_client();
    let app = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let prompt = "Dame el informe completo [sim tokens=2000 delay_ms=0]";
    app.chat(prompt, false).await?; // warm-up
    let workers = 32;
    let duration = bench.pick(Duration::from_secs(10), Duration::from_secs(4));
    let tokens = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let sim_pid = bench.sim.pid().unwrap_or_default();
    let cpu = || {
        (
            server.cpu_time(),
            proc_stats::cpu_time(sim_pid).unwrap_or_default(),
            proc_stats::own_cpu_time().unwrap_or_default(),
        )
    };
    let before = cpu();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (app, tokens, errors) = (app.clone(), tokens.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match app.chat(prompt, false).await {
                    Ok(s) => tokens.fetch_add(s.completion_tokens, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| BenchError::Protocol(e.to_string()))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = cpu();
    let tokens = tokens.load(Ordering::Relaxed) as f64;
    let server_cpu = (after.0 - before.0).as_secs_f64();
    report.add(
        S,
        "tokens relayed per second",
        tokens / elapsed,
        "tok/s",
        Some(Goal::AtLeast(100_000.0)),
    );
    report.add(
        S,
        "server CPU time per relayed token",
        server_cpu / tokens.max(1.0) * 1e6,
        "us",
        None,
    );
    report.add(
        S,
        "server CPU use (of one core)",
        server_cpu / elapsed * 100.0,
        "%",
        None,
    );
    report.add(
        S,
        "simulator CPU use (of one core)",
        (after.1 - before.1).as_secs_f64() / elapsed * 100.0,
        "%",
        None,
    );
    report.add(
        S,
        "load generator CPU use (of one core)",
        (after.2 - before.2).as_secs_f64() / elapsed * 100.0,
        "%",
        None,
    );
    report.add(
        S,
        "errors",
        errors.load(Ordering::Relaxed) as f64,
        "",
        Some(Goal::AtMost(0.0)),
    );
    report.note(S, format!("{workers} streams at a time, answers of 2000 tokens with no delay, for {elapsed:.1} s; the simulator and the generator share the same cores"));
    Ok(())
}
