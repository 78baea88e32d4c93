use serde_json::Value;

use crate::{
    common::{Backend, TestApp},
    on_both_backends,
};

async fn health_reports_database_and_ollama(app: &TestApp) {
    let res = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], true);
    assert_eq!(body["ollama"]["reachable"], true);
    assert!(body["ollama"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["ollama"]["model"], "qwen2.5:3b-instruct");
    assert!(body["ollama"]["error"].is_null());
}

on_both_backends!(health_reports_database_and_ollama);

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("pragma journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("pragma foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("pragma busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), fk, busy), ("wal", 1, 5000));
    drop(conn);
    app.stop().await;
}

#[tokio::test]
async fn unreachable_ollama_is_reported_not_fatal() {
    // Port 9 (discard) on loopback: nothing listens there.
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.ollama.host = "http://127.0.0.1:9".into()
    })
    .await
    .unwrap();
    let body: Value = app.public_json("/health").await;
    assert_eq!(body["database"], true);
    assert_eq!(body["ollama"]["reachable"], false);
    assert!(
        body["ollama"]["error"]
            .as_str()
            .unwrap()
            .contains("not reachable")
    );

    // The chat page says so.
    let token = app.admin_token().await;
    let page = app
        .http
        .get(app.url("/"))
        .header("accept", "text/html")
        .header("cookie", format!("ea_access={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"ollama-banner\""),
        "the UI shows the Ollama banner"
    );

    // A chat turn then fails cleanly with 503 and the JSON error shape.
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            serde_json::json!({ "message": "hola" }),
        )
        .await;
    assert_eq!(
        crate::common::error_code(res, 503).await,
        "ollama_unavailable"
    );
    app.stop().await;
}

#[tokio::test]
async fn missing_model_is_reported() {
    let app = TestApp::start_with(Backend::Sqlite, |s| s.ollama.model = "nope:1b".into())
        .await
        .unwrap();
    let body: Value = app.public_json("/health").await;
    assert_eq!(body["ollama"]["reachable"], true);
    assert!(
        body["ollama"]["error"]
            .as_str()
            .unwrap()
            .contains("nope:1b")
    );
    app.stop().await;
}
