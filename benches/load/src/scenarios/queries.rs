//! Scenario 6, pages and queries, on SQLite and on PostgreSQL: the chat page of a 200-message
//! conversation, a page of 50 messages of a 10,000-message conversation, and the admin text
//! search over 100,000 messages. Data is seeded in bulk with SQL.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::Bench;
use crate::{
    api::{self, App},
    error::{BenchError, Result},
    procs::{ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerConfig},
    report::{Goal, Report},
    scratch_db::ScratchDatabase,
    seed::{self, Dialect},
    stats::Sample,
    stored,
};

const S: &str = "queries";
const READER_EMAIL: &str = "reader@example.com";
const READER_PASSWORD: &str = "reader-password-123";

pub async fn run(bench: &Bench, report: &mut Report) -> Result<()> {
    run_on(bench, report, None).await?;
    match &bench.postgres {
        Some(base) => {
            let scratch = ScratchDatabase::create(base).await?;
            let result = run_on(bench, report, Some(scratch.url.clone())).await;
            scratch.drop().await?;
            result
        }
        None => {
            report.note(S, "PostgreSQL skipped (no --postgres URL)");
            Ok(())
        }
    }
}

#[derive(Deserialize)]
struct Me {
    id: String,
}

async fn run_on(bench: &Bench, report: &mut Report, database_url: Option<String>) -> Result<()> {
    let config = ServerConfig {
        database_url,
        ..ServerConfig::default()
    };
    let (server, _) = Server::start(&bench.build, &bench.sim, &config).await?;
    let result = measure(bench, &server, report).await;
    server.stop().await;
    result
}

async fn measure(bench: &Bench, server: &Server, report: &mut Report) -> Result<()> {
    let dialect = Dialect::of(&server.database_url);
    let db = match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    };
    let http = api::http_client();
    let admin = App::sign_in(&http, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let (me, _) = admin.get_timed("/api/v1/me").await?;
    let me: Me = serde_json::from_str(&me).map_err(|e| BenchError::Protocol(e.to_string()))?;
    // The measured conversations belong to an account with just those two; the admin owns
    // the other 898 (and searches everything).
    let reader_id = admin.create_user(READER_EMAIL, READER_PASSWORD).await?;
    let app = App::sign_in(&http, &server.base, READER_EMAIL, READER_PASSWORD).await?;

    let pool = stored::connect(&server.database_url).await?;
    let t = Instant::now();
    let seeded = seed::seed(&pool, dialect, &reader_id, &me.id).await?;
    pool.close().await;
    report.note(
        S,
        format!(
            "{db}: seeded {} messages in {:.1} s",
            seeded.total_messages,
            t.elapsed().as_secs_f64()
        ),
    );

    let runs = bench.pick(50, 10);
    let page = format!("/c/{}", seeded.page_conversation);
    let chat_page = timed(runs, |_| app.page_timed(&page)).await?;
    let ids = &seeded.long_message_ids;
    let app_ref = &app;
    let listing = timed(runs * 2, |i| {
        let path = format!(
            "/api/v1/conversations/{}/messages?limit=50&before={}",
            seeded.long_conversation,
            ids[i % ids.len()]
        );
        async move { app_ref.get_timed(&path).await }
    })
    .await?;
    let search_path = format!("/api/v1/admin/conversations?q={}", seeded.rare_word);
    let search = timed(runs.min(20), |_| admin.get_timed(&search_path)).await?;
    let busy_page = format!("/c/{}", seeded.small_conversation);
    let busy_sidebar = timed(runs, |_| admin.page_timed(&busy_page)).await?;

    report.add(
        S,
        &format!("{db}: chat page of a 200-message conversation, p50"),
        chat_page.p50(),
        "ms",
        Some(Goal::AtMost(5.0)),
    );
    report.add(
        S,
        &format!("{db}: 50 messages of a 10,000-message conversation, p50"),
        listing.p50(),
        "ms",
        Some(Goal::AtMost(2.0)),
    );
    report.add(
        S,
        &format!("{db}: admin text search over 100,000 messages, p50"),
        search.p50(),
        "ms",
        Some(Goal::AtMost(50.0)),
    );
    report.add(
        S,
        &format!("{db}: chat page, owner of 898 conversations, p50"),
        busy_sidebar.p50(),
        "ms",
        None,
    );
    Ok(())
}

/// Times `runs` requests one after another (after two untimed ones to warm up).
async fn timed<F, Fut>(runs: usize, request: F) -> Result<Sample>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(String, Duration)>>,
{
    for i in 0..2 {
        request(i).await?;
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        times.push(request(i).await?.1);
    }
    Ok(Sample::of_ms(times))
}
