//! Every way Ollama can fail ends in a documented status, with what was produced kept.

use std::time::Duration;

use energyapp_llm::{
    server::ollama_sim::reply_tokens, sse_parser::SseParser, stream_events::StreamEvent,
};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    common::{TestApp, error_code, read_events, streamed_text},
    on_both_backends,
};

/// Sends `message`, expects an `error` event with `code`, and checks the stored answer.
async fn expect_failure(app: &TestApp, message: &str, code: &str, kept_tokens: usize) {
    let token = app.admin_token().await;
    let events = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": message }))
            .await,
    )
    .await;
    let StreamEvent::Meta(meta) = &events[0] else {
        panic!("{events:?}")
    };
    let Some(StreamEvent::Error(error)) = events.last() else {
        panic!("ends with error: {events:?}")
    };
    assert_eq!(error.code, code, "{error:?}");
    assert_eq!(
        error.message_id.as_deref(),
        Some(meta.assistant_message_id.as_str())
    );
    let partial = streamed_text(&events);
    assert_eq!(partial, reply_tokens(message, 12)[..kept_tokens].concat());

    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    let answer = &detail["messages"][1];
    assert_eq!(answer["status"], "failed");
    assert_eq!(
        answer["content"],
        partial.as_str(),
        "the partial answer is kept"
    );
    let stored =
        energyapp_llm::server::db::messages::meta(&app.state.db, &meta.assistant_message_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored["error"]["code"], code);
}

async fn error_line_mid_stream_fails_and_keeps_partial(app: &TestApp) {
    expect_failure(app, "hola [sim fault=error_mid:3]", "ollama_error", 3).await;
}

async fn cut_connection_fails_and_keeps_partial(app: &TestApp) {
    expect_failure(app, "hola [sim fault=cut:5]", "ollama_disconnected", 5).await;
}

async fn stalled_model_times_out_and_keeps_partial(app: &TestApp) {
    // The test server's idle timeout is 2 s.
    expect_failure(app, "hola [sim fault=stall:2]", "ollama_timeout", 2).await;
}

async fn unknown_model_is_422_and_no_answer_is_half_written(app: &TestApp) {
    let token = app.admin_token().await;
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "hola", "model": "nope:1b" }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "unknown_model");
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "hola [sim fault=not_found]" }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "unknown_model");
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    for conversation in list["items"].as_array().unwrap() {
        let detail: Value = app
            .get_json(
                &format!(
                    "/api/v1/conversations/{}",
                    conversation["id"].as_str().unwrap()
                ),
                &token,
            )
            .await;
        let roles: Vec<&str> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["user"],
            "the question is kept, no empty answer is stored"
        );
    }
}

async fn ollama_500_is_503(app: &TestApp) {
    let token = app.admin_token().await;
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "hola [sim fault=500]" }),
        )
        .await;
    assert_eq!(error_code(res, 503).await, "ollama_unavailable");
}

async fn client_disconnect_cancels_ollama_and_keeps_partial(app: &TestApp) {
    let token = app.admin_token().await;
    let message = "larga [sim tokens=500 delay_ms=10]";
    let res = app
        .post_json("/api/v1/chat", &token, json!({ "message": message }))
        .await;
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut parser = SseParser::new();
    let (mut meta, mut tokens) = (None, 0);
    while tokens < 5 {
        let chunk = body.next().await.unwrap().unwrap();
        for frame in parser.push(&chunk) {
            match StreamEvent::parse(&frame.event, &frame.data)
                .unwrap()
                .unwrap()
            {
                StreamEvent::Meta(m) => meta = Some(m),
                StreamEvent::Token(_) => tokens += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    drop(body); // the person closed the tab
    let meta = meta.unwrap();

    let mut answer = Value::Null;
    for _ in 0..100 {
        let detail: Value = app.conversation(&meta.conversation_id, &token).await;
        answer = detail["messages"][1].clone();
        if answer["status"] != "streaming" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer["status"], "interrupted");
    let kept = answer["content"].as_str().unwrap();
    let full = reply_tokens(message, 500).concat();
    assert!(
        kept.len() >= 5 && full.starts_with(kept) && kept.len() < full.len(),
        "partial kept: {kept:?}"
    );
    // The simulator saw its client go away: generation stopped upstream.
    let cancelled = app.wait_for_cancelled(1).await;
    assert_eq!(cancelled, 1);
    assert_eq!(app.sim.stats().in_flight, 0);
}

on_both_backends!(
    error_line_mid_stream_fails_and_keeps_partial,
    cut_connection_fails_and_keeps_partial,
    stalled_model_times_out_and_keeps_partial,
    unknown_model_is_422_and_no_answer_is_half_written,
    ollama_500_is_503,
    client_disconnect_cancels_ollama_and_keeps_partial,
);
