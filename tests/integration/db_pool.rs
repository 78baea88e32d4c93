//! The PostgreSQL pool skips its check of connections used moments ago, but a connection the
//! database server dropped while it sat idle is still replaced before a request uses it: the
//! requests after a restart of the database's sessions succeed. SQLite's log is copied into
//! the database file by a task, not inside commits.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::common::{Backend, TestApp, read_events, streamed_text, within_time_limit};
use energyapp_llm::{
    server::{db::Db, ollama_sim::reply_tokens},
    stream_events::StreamEvent,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_the_server_dropped_are_replaced_before_use() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    within_time_limit(async {
        let token = app.user_token("ines@test.local").await;
        // Several connections in the pool.
        let lists = (0..6).map(|_| app.get("/api/v1/conversations", &token));
        for response in futures::future::join_all(lists).await {
            assert_eq!(response.status(), 200);
        }

        // The database ends every session of this database but the one asking.
        let mut admin = sqlx::PgConnection::connect(&app.state.settings.database.url)
            .await
            .unwrap();
        let ended: i64 = sqlx::query_scalar(
            "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity \
             where datname = current_database() and pid <> pg_backend_pid()) ended",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
        assert!(ended >= 2, "only {ended} sessions were ended");
        tokio::time::sleep(Duration::from_millis(800)).await;

        for _ in 0..10 {
            let response = app.get("/api/v1/conversations", &token).await;
            assert_eq!(
                response.status(),
                200,
                "a dropped connection failed a request"
            );
        }
        let question = "¿Sigue ahí la base de datos?";
        let events = read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": question }))
                .await,
        )
        .await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "the answer did not end well: {events:?}"
        );
        assert_eq!(streamed_text(&events), reply_tokens(question, 12).concat());
    })
    .await;
    app.stop().await;
}

/// SQLite's log is copied into the database file by the pool's own task, never inside a commit
/// (`server::db::wal`): the pool's connections have SQLite's automatic copy turned off, and
/// the rows still reach the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_is_copied_by_its_own_task_not_by_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let db = Db::connect(&format!("sqlite://{}", path.display()), 2)
        .await
        .unwrap();
    within_time_limit(async {
        for _ in 0..2 {
            let pages: i64 = sqlx::query_scalar("pragma wal_autocheckpoint")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(pages, 0, "a commit would copy the log");
        }
        sqlx::query("create table filler (body text not null)")
            .execute(&db.pool)
            .await
            .unwrap();
        // 8 MB through the log: SQLite's default copies it every 1,000 pages (4 MB).
        let body = "x".repeat(4_000);
        for _ in 0..20 {
            let mut tx = db.pool.begin().await.unwrap();
            for _ in 0..100 {
                sqlx::query("insert into filler (body) values ($1)")
                    .bind(&body)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
        // The task copies every 500 ms.
        loop {
            let size = std::fs::metadata(&path).unwrap().len();
            if size >= 8_000_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
