//! PostgreSQL on the server's own machine, reached through its Unix socket (the URL's host is
//! the socket's folder, percent-encoded): every connection the server opens (its pool and the
//! cluster's) is the socket's, and a streamed answer is stored and read back through it. Runs
//! when `ENERGYAPP_TEST_POSTGRES_URL` names a server whose socket is on this machine.

use std::path::Path;

use serde_json::json;

use crate::common::{
    Backend, POSTGRES_ENV, TestApp, read_events, streamed_text, within_time_limit,
};
use energyapp_llm::stream_events::StreamEvent;

/// `postgres://user@127.0.0.1:5432/db` → `postgres://user@%2Fsocket%2Fdir:5432/db`.
fn through_socket(url: &str, socket_dir: &str, port: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, database) = rest.split_once('/').expect("a URL with a database");
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"))
        .unwrap_or_default();
    let host = socket_dir.replace('/', "%2F");
    format!("{scheme}://{user}{host}:{port}/{database}")
}

/// The folder of the server's socket, when the server has one this process can reach.
async fn socket_dir(base: &str) -> Option<(String, String)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .expect("PostgreSQL reachable");
    let dirs: String = sqlx::query_scalar("select current_setting('unix_socket_directories')")
        .fetch_one(&pool)
        .await
        .unwrap();
    let port: String = sqlx::query_scalar("select current_setting('port')")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    dirs.split(',')
        .map(str::trim)
        .find(|dir| Path::new(dir).join(format!(".s.PGSQL.{port}")).exists())
        .map(|dir| (dir.to_owned(), port))
}

#[test]
fn a_socket_url_keeps_the_user_and_the_database() {
    assert_eq!(
        through_socket(
            "postgres://postgres@127.0.0.1:5432/energyapp_test_1",
            "/var/run/postgresql",
            "5432"
        ),
        "postgres://postgres@%2Fvar%2Frun%2Fpostgresql:5432/energyapp_test_1"
    );
    assert_eq!(
        through_socket("postgres://localhost/db", "/tmp", "5433"),
        "postgres://%2Ftmp:5433/db"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_through_its_unix_socket() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("SKIPPED: PostgreSQL test (set {POSTGRES_ENV} to run it)");
        return;
    };
    let Some((dir, port)) = socket_dir(&base).await else {
        eprintln!("SKIPPED: the PostgreSQL server of {POSTGRES_ENV} has no socket on this machine");
        return;
    };
    let app = TestApp::start_with(Backend::Postgres, |settings| {
        settings.database.url = through_socket(&settings.database.url, &dir, &port);
    })
    .await
    .expect("PostgreSQL configured");
    within_time_limit(async {
        assert!(app.state.settings.database.url.contains("%2F"));
        let token = app.user_token("sofia@test.local").await;
        let question = "¿Llega la respuesta por el socket?";
        let events = read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": question }))
                .await,
        )
        .await;
        let Some(StreamEvent::Meta(meta)) = events.first() else {
            panic!("no meta first: {events:?}");
        };
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "{events:?}"
        );
        let stored = app.conversation(&meta.conversation_id, &token).await;
        let messages = stored["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{stored}");
        assert_eq!(messages[0]["content"], question);
        assert_eq!(messages[1]["content"], streamed_text(&events));
        assert_eq!(messages[1]["status"], "complete");

        // Every session of the server's database came through the socket (PostgreSQL shows
        // no client address for those), and there are some: the pool's and the cluster's.
        let (tcp, socket): (i64, i64) = sqlx::query_as(
            "select count(*) filter (where client_addr is not null), \
                    count(*) filter (where client_addr is null) \
             from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(tcp, 0, "sessions over TCP");
        assert!(socket >= 1, "no session through the socket");
        let own: bool = sqlx::query_scalar("select inet_server_addr() is null")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert!(own, "the pool's connection is not the socket's");
    })
    .await;
    app.stop().await;
}
