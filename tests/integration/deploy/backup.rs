//! `backup` while answers stream, then `restore` into a fresh directory: the restored database
//! opens, passes the checks and holds every answer completed before the backup. Restores are
//! refused without `--force` over an existing database, and for files that are not energyapp
//! databases.

use std::{net::SocketAddr, time::Duration};

use sqlx::Row;

use super::process::{AppProcess, cli};
use crate::common::{Events, fast_sim, within_time_limit};
use energyapp_llm::{
    server::{
        db::Db,
        ollama_sim::{self, SimOptions, Simulator},
    },
    stream_events::StreamEvent,
};

async fn finish(mut events: Events) -> String {
    let mut text = String::new();
    while let Some(event) = events.next().await {
        match event {
            StreamEvent::Token(t) => text.push_str(&t.content),
            StreamEvent::Done(done) => assert_eq!(done.status.as_str(), "complete"),
            StreamEvent::Error(e) => panic!("{e:?}"),
            _ => {}
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_streaming_then_restore_elsewhere() {
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
        let app = AppProcess::start(dir.path(), sim_addr, &[]).await;
        let token = AppProcess::token_via(&app.base).await;

        // Three answers completed before the backup.
        let mut completed = Vec::new();
        for i in 0..3 {
            let (meta, events) =
                AppProcess::start_answer(&app.base, &token, &format!("pregunta {i}")).await;
            completed.push((meta.assistant_message_id, finish(events).await));
        }
        // Two answers streaming while the backup is taken.
        let mut streaming = Vec::new();
        for i in 0..2 {
            let (meta, mut events) =
                AppProcess::start_answer(&app.base, &token, &format!("en curso {i}")).await;
            assert!(matches!(events.next().await, Some(StreamEvent::Token(_))));
            streaming.push((meta.assistant_message_id, events));
        }
        let metrics = app.metrics().await;
        for gauge in ["energyapp_active_streams 2\n", "energyapp_generating 2\n"] {
            assert!(metrics.contains(gauge), "{gauge} not in {metrics}");
        }
        let backup = dir.path().join("backups/energyapp.db");
        let (ok, out) = cli(
            dir.path(),
            &app.database_url,
            &["backup", "--to", backup.to_str().unwrap()],
        );
        assert!(ok, "{out}");
        assert!(out.contains("backup written"), "{out}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&backup).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "the backup is private");
        let (ok, out) = cli(
            dir.path(),
            &app.database_url,
            &["backup", "--to", backup.to_str().unwrap()],
        );
        assert!(!ok && out.contains("--force"), "{out}");
        // An upgrade migrates while the old server still serves: that must not touch the
        // answers in flight (they stay `streaming` and keep being checkpointed).
        let (ok, out) = cli(dir.path(), &app.database_url, &["migrate"]);
        assert!(ok, "{out}");
        for (id, _) in &streaming {
            let db = Db::connect(&app.database_url, 1).await.unwrap();
            let status: String = sqlx::query("select status from messages where id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .get(0);
            assert_eq!(status, "streaming");
            db.pool.close().await;
        }
        // The answers in flight were not disturbed by the backup.
        for (_, events) in streaming.drain(..) {
            assert!(!finish(events).await.is_empty());
        }
        app.terminate().await;

        // Restore on a "new machine": a fresh directory.
        let fresh = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/app.db", fresh.path().display());
        let from = backup.to_str().unwrap();
        let (ok, out) = cli(fresh.path(), &url, &["restore", "--from", from]);
        assert!(ok, "{out}");
        let (ok, out) = cli(fresh.path(), &url, &["restore", "--from", from]);
        assert!(!ok && out.contains("--force"), "{out}");
        let (ok, out) = cli(fresh.path(), &url, &["restore", "--from", from, "--force"]);
        assert!(ok, "{out}");

        let db = Db::connect(&url, 1).await.unwrap();
        db.migrate().await.unwrap();
        for (id, text) in &completed {
            let row = sqlx::query("select status, content from messages where id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(row.get::<String, _>(0), "complete");
            assert_eq!(&row.get::<String, _>(1), text);
        }
        let users: i64 = sqlx::query("select count(*) from users")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(users, 1);
        db.pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn restore_refuses_what_is_not_an_energyapp_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database at all, just some text").unwrap();
    let (ok, out) = cli(
        dir.path(),
        &url,
        &["restore", "--from", garbage.to_str().unwrap()],
    );
    assert!(!ok && out.contains("not a usable backup"), "{out}");

    let other = dir.path().join("other.db");
    let db = Db::connect(&format!("sqlite://{}", other.display()), 1)
        .await
        .unwrap();
    sqlx::query("create table notes (id integer primary key)")
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
    let (ok, out) = cli(
        dir.path(),
        &url,
        &["restore", "--from", other.to_str().unwrap()],
    );
    assert!(
        !ok && out.contains("not an energyapp-llm database"),
        "{out}"
    );

    let future = dir.path().join("future.db");
    let db = Db::connect(&format!("sqlite://{}", future.display()), 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time) \
         values (99990101000000, 'from the future', true, x'00', 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    db.pool.close().await;
    let (ok, out) = cli(
        dir.path(),
        &url,
        &["restore", "--from", future.to_str().unwrap()],
    );
    assert!(!ok && out.contains("newer energyapp-llm"), "{out}");
    // A rolled-back binary still runs on a database a newer release migrated.
    let future_url = format!("sqlite://{}", future.display());
    let (ok, out) = cli(dir.path(), &future_url, &["migrate"]);
    assert!(ok, "{out}");
    assert!(!dir.path().join("app.db").exists());

    let (ok, out) = cli(
        dir.path(),
        "postgres://energyapp@127.0.0.1:5432/energyapp",
        &["backup", "--to", "x.dump"],
    );
    assert!(!ok && out.contains("pg_dump"), "{out}");
}
