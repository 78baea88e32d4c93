//! Stop, and one answer at a time per conversation.

use energyapp_llm::{
    sse_parser::SseParser,
    stream_events::{MetaEvent, StreamEvent},
};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::{
    common::{TestApp, error_code},
    on_both_backends,
};

type Body = std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Starts a slow answer and reads until `tokens` tokens arrived; returns the open stream.
async fn start_slow_answer(
    app: &TestApp,
    token: &str,
    tokens: usize,
) -> (MetaEvent, Body, SseParser, String) {
    let res = app
        .post_json(
            "/api/v1/chat",
            token,
            json!({ "message": "larga [sim tokens=400 delay_ms=10]" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut body: Body = Box::pin(res.bytes_stream());
    let mut parser = SseParser::new();
    let (mut meta, mut text, mut seen) = (None, String::new(), 0);
    while seen < tokens {
        let chunk = body.next().await.unwrap().unwrap();
        for frame in parser.push(&chunk) {
            match StreamEvent::parse(&frame.event, &frame.data)
                .unwrap()
                .unwrap()
            {
                StreamEvent::Meta(m) => meta = Some(m),
                StreamEvent::Token(t) => {
                    text.push_str(&t.content);
                    seen += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    (meta.unwrap(), body, parser, text)
}

/// Reads the rest of a stream; returns the text and the last event.
async fn finish(mut body: Body, mut parser: SseParser, mut text: String) -> (String, StreamEvent) {
    let mut last = None;
    while let Some(chunk) = body.next().await {
        for frame in parser.push(&chunk.unwrap()) {
            let event = StreamEvent::parse(&frame.event, &frame.data)
                .unwrap()
                .unwrap();
            if let StreamEvent::Token(t) = &event {
                text.push_str(&t.content);
            }
            last = Some(event);
        }
    }
    (text, last.unwrap())
}

async fn stop_keeps_the_partial_and_cancels_ollama(app: &TestApp) {
    let token = app.admin_token().await;
    let (meta, body, parser, text) = start_slow_answer(app, &token, 5).await;
    let stop_path = format!("/api/v1/conversations/{}/stop", meta.conversation_id);
    let res: Value = app
        .post_json(&stop_path, &token, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["stopped"], true);

    let (text, last) = finish(body, parser, text).await;
    let StreamEvent::Done(done) = last else {
        panic!("ends with done: {last:?}")
    };
    assert_eq!(done.status.as_str(), "stopped");
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    let answer = &detail["messages"][1];
    assert_eq!(answer["status"], "stopped");
    assert_eq!(
        answer["content"],
        text.as_str(),
        "what was streamed is what is kept"
    );
    assert!(text.len() >= 5);

    let cancelled = app.wait_for_cancelled(1).await;
    assert_eq!(cancelled, 1, "Ollama's generation was cancelled");
    let again: Value = app
        .post_json(&stop_path, &token, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["stopped"], false);
}

async fn one_answer_at_a_time_per_conversation(app: &TestApp) {
    let token = app.admin_token().await;
    let (meta, body, parser, text) = start_slow_answer(app, &token, 2).await;
    let post_path = format!("/api/v1/conversations/{}/messages", meta.conversation_id);
    let res = app
        .post_json(&post_path, &token, json!({ "content": "otra" }))
        .await;
    assert_eq!(error_code(res, 409).await, "conflict");

    // Someone else cannot stop it (404, as for any id that is not theirs).
    let other = app.user_token("otro@test.local").await;
    let res = app.stop_answer(&meta.conversation_id, &other).await;
    assert_eq!(error_code(res, 404).await, "not_found");

    let res = app.stop_answer(&meta.conversation_id, &token).await;
    assert_eq!(res.status(), 200);
    let _ = finish(body, parser, text).await;
    // Once it ended, the conversation takes the next question.
    let res = app
        .post_json(&post_path, &token, json!({ "content": "ahora sí" }))
        .await;
    assert_eq!(res.status(), 200);
    let events = crate::common::read_events(res).await;
    assert!(matches!(events.last(), Some(StreamEvent::Done(_))));
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    let roles: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user", "assistant"],
        "the refused question was not stored"
    );
}

on_both_backends!(
    stop_keeps_the_partial_and_cancels_ollama,
    one_answer_at_a_time_per_conversation
);
