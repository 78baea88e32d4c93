//! The PostgreSQL pool skips its check of connections used moments ago, but a connection the
//! database server dropped while it sat idle is still replaced before a request uses it: the
//! requests after a restart of the database's sessions succeed.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::common::{Backend, TestApp, read_events, streamed_text, within_time_limit};
use energyapp_llm::{server::ollama_sim::reply_tokens, stream_events::StreamEvent};

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
