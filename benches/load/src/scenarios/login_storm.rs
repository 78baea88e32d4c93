//! Scenario 5, login storm: concurrent logins (bcrypt at the configured cost) while streams run; how
//! many logins per second, and how much the streams' p99 gap between tokens grows.

use std::time::{Duration, Instant};

use super::Bench;
use crate::{
    api::{self, App, Streamed},
    drive::{self, Batch},
    error::{BenchError, Result},
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::{Goal, Report},
    stats::Sample,
};

const S: &str = "login";
const STREAMS: usize = 100;
const LOGINS: usize = 50;

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    let config = ServerConfig::default();
    let (server, _) = Server::start(&bench.build, &bench.sim, &config).await?;
    let result = measure(&server, &config, report).await;
    server.stop().await;
    result
}

async fn run_streams(app: &App) -> Batch {
    // 400 tokens 20 ms apart: 8 s, longer than the storm.
    let prompt = "Cuéntame la historia [sim tokens=400 delay_ms=20]";
    drive::streams(
        STREAMS,
        Duration::from_millis(500),
        Duration::from_secs(120),
        |_| {
            let app = app.clone();
            async move { app.chat(prompt, true).await }
        },
    )
    .await
}

fn gaps_within(streams: &[Streamed], from: Instant, to: Instant) -> Sample {
    Sample::of_ms(
        streams
            .iter()
            .flat_map(|s| s.gaps.iter())
            .filter(|(at, _)| *at >= from && *at <= to)
            .map(|(_, gap)| *gap),
    )
}

async fn measure(server: &Server, config: &ServerConfig, report: &mut Report) -> Result<()> {
    let http = api::http_client();
    let app = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;

    // Baseline: the streams alone; gaps between 1 s and 7 s after the start.
    let t0 = Instant::now();
    let calm = run_streams(&app).await;
    let calm_gaps = gaps_within(
        &calm.ok,
        t0 + Duration::from_secs(1),
        t0 + Duration::from_secs(7),
    );

    // The same streams, with the logins fired all at once 1 s in.
    let storm_app = app.clone();
    let streams = tokio::spawn(async move { run_streams(&storm_app).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let storm_start = Instant::now();
    let logins: Vec<_> = (0..LOGINS)
        .map(|_| {
            let (http, base) = (http.clone(), server.base.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                api::login(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD)
                    .await
                    .map(|_| t.elapsed())
            })
        })
        .collect();
    let mut login_times = Vec::new();
    let mut login_errors = 0;
    for l in logins {
        match l.await {
            Ok(Ok(t)) => login_times.push(t),
            _ => login_errors += 1,
        }
    }
    let storm_end = Instant::now();
    let storm = streams
        .await
        .map_err(|e| BenchError::Protocol(e.to_string()))?;
    let storm_gaps = gaps_within(&storm.ok, storm_start, storm_end);
    let storm_secs = (storm_end - storm_start).as_secs_f64();

    report.add(
        S,
        &format!("{LOGINS} concurrent logins: logins per second"),
        login_times.len() as f64 / storm_secs,
        "/s",
        None,
    );
    report.add(
        S,
        "login time p50 during the storm",
        Sample::of_ms(login_times.iter().copied()).p50(),
        "ms",
        None,
    );
    report.add(
        S,
        &format!("{STREAMS} streams: p99 gap between tokens, calm"),
        calm_gaps.p99(),
        "ms",
        None,
    );
    report.add(
        S,
        &format!("{STREAMS} streams: p99 gap between tokens, during the storm"),
        storm_gaps.p99(),
        "ms",
        None,
    );
    report.add(
        S,
        "p99 gap growth",
        storm_gaps.p99() - calm_gaps.p99(),
        "ms",
        Some(Goal::AtMost(5.0)),
    );
    report.add(
        S,
        "login and stream errors",
        (login_errors + calm.errors.len() + storm.errors.len()) as f64,
        "",
        Some(Goal::AtMost(0.0)),
    );
    report.note(S, format!("bcrypt cost {}; streams of 400 tokens 20 ms apart; the storm lasted {storm_secs:.2} s ({} gaps in it)", config.bcrypt_cost, storm_gaps.len()));
    Ok(())
}
