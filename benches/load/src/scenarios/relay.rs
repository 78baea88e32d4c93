//! Scenario 1, relay overhead: time to first token and total time of a 200-token answer through the
//! app, minus the same asked straight from the simulator; p50 of one stream at a time, p99 of
//! many concurrent streams. On SQLite, then on PostgreSQL (where the server works as one of
//! several instances would: its waiting line and slots are shared through the database).

use std::time::Duration;

use super::Bench;
use crate::{
    api::{self, App},
    drive,
    error::{BenchError, Result},
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::{Goal, Report},
    scratch_db::ScratchDatabase,
    stats::Sample,
};

const S: &str = "relay";

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    run_on(bench, report, "SQLite", None).await?;
    match &bench.postgres {
        Some(base) => {
            let scratch = ScratchDatabase::create(base).await?;
            let result = run_on(bench, report, "PostgreSQL", Some(scratch.url.clone())).await;
            scratch.drop().await?;
            result
        }
        None => {
            report.note(S, "PostgreSQL skipped (no --postgres URL)");
            Ok(())
        }
    }
}

async fn run_on(
    bench: &Bench,
    report: &mut Report,
    db: &str,
    database_url: Option<String>,
) -> Result<()> {
    let config = ServerConfig {
        database_url,
        ..ServerConfig::default()
    };
    let (server, _) = Server::start(&bench.build, &bench.sim, &config).await?;
    let result = measure(bench, &server, report, db).await;
    server.stop().await;
    result
}

async fn measure(bench: &Bench, server: &Server, report: &mut Report, db: &str) -> Result<()> {
    let http = api::http_client();
    let app = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let sim = bench.sim.url.clone();

    // One stream at a time: 200 tokens, 5 ms apart. Direct and relayed runs alternate.
    let single = "Explica la tarifa [sim tokens=200 delay_ms=5]";
    for _ in 0..3 {
        api::simulator_chat(&http, &sim, single).await?;
        app.chat(single, false).await?;
    }
    let runs = bench.pick(30, 8);
    let (mut direct, mut relayed) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        direct.push(api::simulator_chat(&http, &sim, single).await?);
        relayed.push(app.chat(single, false).await?);
    }
    let first = |v: &[api::Streamed]| Sample::of_ms(v.iter().map(|s| s.first_token));
    let total = |v: &[api::Streamed]| Sample::of_ms(v.iter().map(|s| s.total));
    let (d_first, r_first) = (first(&direct), first(&relayed));
    let (d_total, r_total) = (total(&direct), total(&relayed));
    report.add(
        S,
        &format!("{db}: 1 stream: TTFT p50, simulator direct"),
        d_first.p50(),
        "ms",
        None,
    );
    report.add(
        S,
        &format!("{db}: 1 stream: TTFT p50, through the app"),
        r_first.p50(),
        "ms",
        None,
    );
    report.add(
        S,
        &format!("{db}: 1 stream: TTFT p50 added by the app"),
        r_first.p50() - d_first.p50(),
        "ms",
        Some(Goal::AtMost(1.0)),
    );
    report.add(
        S,
        &format!("{db}: 1 stream: 200-token total p50 added by the app"),
        r_total.p50() - d_total.p50(),
        "ms",
        Some(Goal::AtMost(1.0)),
    );
    report.note(
        S,
        format!(
            "{db}: 1 stream: {runs} runs each way, 200 tokens 5 ms apart; simulator total p50 {:.1} ms",
            d_total.p50()
        ),
    );

    // For information (no goal): a model evaluates the prompt before its first token (with a
    // real model, hundreds of ms on CPU), and the app stores the turn meanwhile. The simulator
    // waits 50 ms before the first token here; the goal above is judged without that wait.
    let model_like = "Explica la tarifa [sim tokens=20 delay_ms=5 first_ms=50]";
    let runs = bench.pick(15, 4);
    let (mut direct, mut relayed) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        direct.push(api::simulator_chat(&http, &sim, model_like).await?);
        relayed.push(app.chat(model_like, false).await?);
    }
    report.add(
        S,
        &format!("{db}: 1 stream, first token after 50 ms: TTFT p50 added by the app"),
        first(&relayed).p50() - first(&direct).p50(),
        "ms",
        None,
    );

    // Many at once: 200 tokens, 20 ms apart, starts spread over 2 s. A p99 of one batch moves
    // by several ms with whatever else the two cores do at that moment, on either side of the
    // subtraction, so batches direct and through the app alternate for a few rounds, and the
    // median of the rounds' differences is reported (each round's is in the notes).
    let n = bench.pick(500, 100);
    let rounds = bench.pick(3, 1);
    let many = "Compara dos facturas [sim tokens=200 delay_ms=20]";
    let spread = Duration::from_secs(2);
    let timeout = Duration::from_secs(120);
    let label = |what: &str| format!("{db}: {n} streams: {what}");
    let mut measured = Vec::new();
    let mut errors = 0;
    for round in 1..=rounds {
        let direct = drive::streams(n, spread, timeout, |_| {
            let (http, sim) = (http.clone(), sim.clone());
            async move { api::simulator_chat(&http, &sim, many).await }
        })
        .await;
        let relayed = drive::streams(n, spread, timeout, |_| {
            let app = app.clone();
            async move { app.chat(many, false).await }
        })
        .await;
        for (who, batch) in [("simulator", &direct), ("app", &relayed)] {
            if !batch.errors.is_empty() {
                report.note(
                    S,
                    format!(
                        "{db}: {n} streams via {who}, round {round}: {} errors: {}",
                        batch.errors.len(),
                        batch.error_summary()
                    ),
                );
            }
        }
        if relayed.ok.is_empty() || direct.ok.is_empty() {
            return Err(BenchError::Protocol(
                "no concurrent stream completed".into(),
            ));
        }
        errors += relayed.errors.len();
        measured.push(Round {
            direct_first: first(&direct.ok).p99(),
            app_first: first(&relayed.ok).p99(),
            direct_total: total(&direct.ok).p99(),
            app_total: total(&relayed.ok).p99(),
            peaks: (relayed.peak_concurrent(), direct.peak_concurrent()),
        });
    }
    let median = |f: fn(&Round) -> f64| Sample::new(measured.iter().map(f).collect()).p50();
    report.add(
        S,
        &label("TTFT p99, simulator direct"),
        median(|r| r.direct_first),
        "ms",
        None,
    );
    report.add(
        S,
        &label("TTFT p99, through the app"),
        median(|r| r.app_first),
        "ms",
        None,
    );
    report.add(
        S,
        &label("TTFT p99 added by the app"),
        median(|r| r.app_first - r.direct_first),
        "ms",
        Some(Goal::AtMost(10.0)),
    );
    report.add(
        S,
        &label("200-token total p99, simulator direct"),
        median(|r| r.direct_total),
        "ms",
        None,
    );
    report.add(
        S,
        &label("200-token total p99 added by the app"),
        median(|r| r.app_total - r.direct_total),
        "ms",
        Some(Goal::AtMost(10.0)),
    );
    // The first round opens the connections (generator to app, app to simulator) that the
    // later ones reuse: shown apart, as for a burst after a quiet spell.
    let cold = &measured[0];
    report.add(
        S,
        &label("TTFT p99 added by the app, first round"),
        cold.app_first - cold.direct_first,
        "ms",
        None,
    );
    report.add(
        S,
        &label("200-token total p99 added by the app, first round"),
        cold.app_total - cold.direct_total,
        "ms",
        None,
    );
    report.add(
        S,
        &label("errors"),
        errors as f64,
        "",
        Some(Goal::AtMost(0.0)),
    );
    let each = |f: fn(&Round) -> f64| {
        measured
            .iter()
            .map(|r| format!("{:+.2}", f(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let peaks = measured
        .iter()
        .map(|r| format!("{}/{}", r.peaks.0, r.peaks.1))
        .collect::<Vec<_>>()
        .join(", ");
    report.note(
        S,
        format!(
            "{db}: {n} streams: 200 tokens 20 ms apart, starts spread over {} s; {rounds} rounds \
             (direct, then through the app), medians reported; added by the app at p99 in each \
             round, first token: {} ms, total: {} ms; peak concurrent (app/direct): {peaks}",
            spread.as_secs(),
            each(|r| r.app_first - r.direct_first),
            each(|r| r.app_total - r.direct_total),
        ),
    );
    Ok(())
}

/// One round of many streams: p99s in ms, and the peak concurrency through the app and direct.
struct Round {
    direct_first: f64,
    app_first: f64,
    direct_total: f64,
    app_total: f64,
    peaks: (usize, usize),
}
