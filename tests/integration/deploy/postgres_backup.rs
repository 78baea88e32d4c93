//! PostgreSQL: the `pg_dump` / `pg_restore` commands of docs/DEPLOY.md, taken while answers
//! stream, restore into a fresh database that holds every completed answer; and the CLI's
//! `backup` points at them.

use std::{net::SocketAddr, process::Command, time::Duration};

use sqlx::Row;

use super::{
    process::{AppProcess, cli},
    tools::available,
};
use crate::common::{
    Events, POSTGRES_ENV, create_postgres_database, drop_postgres_database, fast_sim,
    within_time_limit,
};
use energyapp_llm::{
    server::{
        db::Db,
        ollama_sim::{self, SimOptions, Simulator},
    },
    stream_events::StreamEvent,
};

async fn complete(mut events: Events) {
    while let Some(event) = events.next().await {
        if let StreamEvent::Error(e) = event {
            panic!("{e:?}");
        }
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_while_streaming_then_pg_restore_elsewhere() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("SKIPPED: PostgreSQL backup test (set {POSTGRES_ENV} to run it)");
        return;
    };
    if !available("pg_dump", "postgresql-client") {
        return;
    }
    let (url, name) = create_postgres_database(&base).await;
    let (fresh_url, fresh_name) = create_postgres_database(&base).await;
    within_time_limit(async {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::new(SimOptions {
            tokens: 30,
            token_delay: Duration::from_millis(40),
            ..fast_sim()
        });
        let (sim_addr, _) = ollama_sim::spawn(sim, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let app =
            AppProcess::start(dir.path(), sim_addr, &[("ENERGYAPP_DATABASE__URL", &url)]).await;
        let token = AppProcess::token_via(&app.base).await;
        let mut completed = Vec::new();
        for i in 0..2 {
            let (meta, events) =
                AppProcess::start_answer(&app.base, &token, &format!("pregunta {i}")).await;
            complete(events).await;
            completed.push(meta.assistant_message_id);
        }
        let (_, mut streaming) = AppProcess::start_answer(&app.base, &token, "en curso").await;
        assert!(matches!(
            streaming.next().await,
            Some(StreamEvent::Token(_))
        ));

        let (ok, out) = cli(dir.path(), &url, &["backup", "--to", "x.db"]);
        assert!(!ok && out.contains("pg_dump"), "{out}");
        let dump = dir.path().join("energyapp.dump");
        run("pg_dump", &["-Fc", "-f", dump.to_str().unwrap(), &url]);
        complete(streaming).await;
        app.terminate().await;

        run(
            "pg_restore",
            &["--no-owner", "-d", &fresh_url, dump.to_str().unwrap()],
        );
        let db = Db::connect(&fresh_url, 1).await.unwrap();
        db.migrate().await.unwrap();
        for id in &completed {
            let status: String = sqlx::query("select status from messages where id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(status, "complete");
        }
        db.pool.close().await;
    })
    .await;
    drop_postgres_database(&base, &name).await;
    drop_postgres_database(&base, &fresh_name).await;
}
