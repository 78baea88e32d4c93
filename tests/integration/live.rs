//! Answers in flight: re-attaching (reload, second tab), Stop from anywhere, and the queue in
//! front of a busy model.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    common::{Events, TestApp, error_code, streamed_text},
    on_both_backends,
};
use energyapp_llm::{
    server::{config::Settings, ollama_sim::reply_tokens},
    stream_events::{MetaEvent, StreamEvent},
};

mod reattach {
    use super::*;

    /// Long enough for a reload to come back.
    fn settings(s: &mut Settings) {
        s.chat.reattach_grace_ms = 3_000;
    }

    on_both_backends!(settings = super::settings;
        reattaching_replays_the_text_so_far_then_the_rest,
        a_reload_within_the_grace_period_keeps_the_answer_going,
        stop_from_another_tab_ends_every_listener,
        nothing_to_attach_is_204_and_others_conversations_404,
    );
}

mod queue {
    use super::*;

    /// One answer at a time, at most two waiting.
    fn settings(s: &mut Settings) {
        s.ollama.max_parallel = 1;
        s.ollama.max_queue = 2;
    }

    on_both_backends!(settings = super::settings;
        waiting_requests_learn_their_position_and_are_served_in_order,
        a_full_line_is_503_with_retry_after_and_stores_nothing,
        leaving_the_line_moves_the_others_up,
    );
}

/// Starts an answer in a new conversation and returns its stream once `meta` arrived.
async fn start(app: &TestApp, token: &str, message: &str) -> (MetaEvent, Events) {
    let res = app
        .post_json("/api/v1/chat", token, json!({ "message": message }))
        .await;
    let mut events = Events::new(res);
    let Some(StreamEvent::Meta(meta)) = events.next().await else {
        panic!("meta first")
    };
    (meta, events)
}

/// Reads until `n` bytes of answer arrived; returns the text read.
async fn read_text(events: &mut Events, n: usize) -> String {
    let mut text = String::new();
    while text.len() < n {
        match events.next().await {
            Some(StreamEvent::Token(t)) => text.push_str(&t.content),
            Some(StreamEvent::Queued(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    text
}

async fn attach(app: &TestApp, token: &str, conversation_id: &str) -> reqwest::Response {
    app.get(
        &format!("/api/v1/conversations/{conversation_id}/stream"),
        token,
    )
    .await
}

async fn stored_answer(app: &TestApp, token: &str, meta: &MetaEvent) -> Value {
    let detail = app.conversation(&meta.conversation_id, token).await;
    detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == meta.assistant_message_id.as_str())
        .cloned()
        .unwrap()
}

fn last_status(events: &[StreamEvent]) -> String {
    match events.last() {
        Some(StreamEvent::Done(d)) => d.status.as_str().to_string(),
        Some(StreamEvent::Error(e)) => format!("error:{}", e.code),
        other => panic!("no final event: {other:?}"),
    }
}

async fn reattaching_replays_the_text_so_far_then_the_rest(app: &TestApp) {
    let token = app.admin_token().await;
    let message = "larga 🌍 [sim tokens=60 delay_ms=15]";
    let (meta, mut first) = start(app, &token, message).await;
    let before = read_text(&mut first, 20).await;

    let second = Events::new(attach(app, &token, &meta.conversation_id).await);
    let replayed = second.rest().await;
    let StreamEvent::Meta(again) = &replayed[0] else {
        panic!("meta first")
    };
    assert_eq!(again, &meta, "the same ids");
    let StreamEvent::Token(replay) = &replayed[1] else {
        panic!("the text so far comes first: {:?}", replayed[1])
    };
    assert!(
        replay.content.starts_with(&before),
        "replay starts with what was streamed"
    );
    assert_eq!(last_status(&replayed), "complete");

    let rest = first.rest().await;
    let first_text = before + &streamed_text(&rest);
    let full = reply_tokens(message, 60).concat();
    assert_eq!(first_text, full);
    assert_eq!(
        streamed_text(&replayed),
        full,
        "replay + live = the whole answer"
    );
    let stored = stored_answer(app, &token, &meta).await;
    assert_eq!(stored["content"], full.as_str());
    assert_eq!(stored["status"], "complete");
}

async fn a_reload_within_the_grace_period_keeps_the_answer_going(app: &TestApp) {
    let token = app.admin_token().await;
    let message = "recarga [sim tokens=80 delay_ms=15]";
    let (meta, mut first) = start(app, &token, message).await;
    read_text(&mut first, 10).await;
    drop(first); // the page reloads: its stream closes
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = Events::new(attach(app, &token, &meta.conversation_id).await)
        .rest()
        .await;
    assert_eq!(last_status(&events), "complete");
    let full = reply_tokens(message, 80).concat();
    assert_eq!(streamed_text(&events), full);
    assert_eq!(app.sim.stats().cancelled, 0, "Ollama kept generating");
    assert_eq!(
        stored_answer(app, &token, &meta).await["content"],
        full.as_str()
    );

    // Nobody comes back: after the grace period the answer is cancelled and kept as is.
    let message = "abandonada [sim tokens=1000 delay_ms=10]";
    let (meta, mut first) = start(app, &token, message).await;
    read_text(&mut first, 10).await;
    drop(first);
    let mut stored = Value::Null;
    for _ in 0..200 {
        stored = stored_answer(app, &token, &meta).await;
        if stored["status"] != "streaming" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["meta"]["interrupted_by"], "client_disconnected");
    let kept = stored["content"].as_str().unwrap();
    assert!(reply_tokens(message, 1000).concat().starts_with(kept) && kept.len() >= 10);
    assert_eq!(app.wait_for_cancelled(1).await, 1);
}

async fn stop_from_another_tab_ends_every_listener(app: &TestApp) {
    let token = app.admin_token().await;
    let (meta, mut first) = start(app, &token, "parar [sim tokens=1000 delay_ms=10]").await;
    read_text(&mut first, 10).await;
    let mut second = Events::new(attach(app, &token, &meta.conversation_id).await);
    assert!(matches!(second.next().await, Some(StreamEvent::Meta(_))));

    let res = app.stop_answer(&meta.conversation_id, &token).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["stopped"], true);
    let (a, b) = (first.rest().await, second.rest().await);
    assert_eq!(last_status(&a), "stopped");
    assert_eq!(last_status(&b), "stopped");
    let stored = stored_answer(app, &token, &meta).await;
    assert_eq!(stored["status"], "stopped");
    assert!(!stored["content"].as_str().unwrap().is_empty());
    assert_eq!(app.wait_for_cancelled(1).await, 1);
}

async fn nothing_to_attach_is_204_and_others_conversations_404(app: &TestApp) {
    let token = app.admin_token().await;
    let (meta, first) = start(app, &token, "corta").await;
    first.rest().await;
    let res = attach(app, &token, &meta.conversation_id).await;
    assert_eq!(res.status(), 204);

    let (meta, _first) = start(app, &token, "ajena [sim tokens=500 delay_ms=10]").await;
    let other = app.user_token("mirona@test.local").await;
    let res = attach(app, &other, &meta.conversation_id).await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = attach(app, &token, "no-such-conversation").await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app.stop_answer(&meta.conversation_id, &other).await;
    assert_eq!(error_code(res, 404).await, "not_found");
}

/// Reads a queued answer to its end: the positions it was told, and its text.
async fn positions_and_text(mut events: Events) -> (Vec<usize>, String, String) {
    let mut positions = Vec::new();
    let mut all = Vec::new();
    while let Some(event) = events.next().await {
        if let StreamEvent::Queued(q) = &event {
            positions.push(q.position);
        }
        all.push(event);
    }
    (positions, streamed_text(&all), last_status(&all))
}

async fn waiting_requests_learn_their_position_and_are_served_in_order(app: &TestApp) {
    let token = app.admin_token().await;
    let (_, mut a) = start(app, &token, "primera [sim tokens=30 delay_ms=15]").await;
    read_text(&mut a, 1).await; // generating: the model's only slot is taken
    // b generates for a while (10 ms a token), so that c is seen at position 1 meanwhile.
    let (b_meta, mut b) = start(app, &token, "segunda [sim tokens=5 delay_ms=10]").await;
    assert!(matches!(b.next().await, Some(StreamEvent::Queued(q)) if q.position == 1));
    let (c_meta, c) = start(app, &token, "tercera [sim tokens=5]").await;

    let (a_events, (b_positions, b_text, b_end), (c_positions, c_text, c_end)) =
        tokio::join!(a.rest(), positions_and_text(b), positions_and_text(c));
    assert_eq!(last_status(&a_events), "complete");
    assert!(
        b_positions.is_empty(),
        "b was told 1 already: {b_positions:?}"
    );
    assert_eq!(c_positions, [2, 1], "c moved up when a finished");
    assert_eq!((b_end.as_str(), c_end.as_str()), ("complete", "complete"));
    assert_eq!(
        b_text,
        reply_tokens("segunda [sim tokens=5 delay_ms=10]", 5).concat()
    );
    assert_eq!(c_text, reply_tokens("tercera [sim tokens=5]", 5).concat());

    // Served first come, first served: b's answer was stored before c's began.
    let b_row = stored_answer(app, &token, &b_meta).await;
    let c_row = stored_answer(app, &token, &c_meta).await;
    assert!(b_row["created_at"].as_str() < c_row["created_at"].as_str());
    let sim = app.sim.stats();
    assert_eq!((sim.requests, sim.completed, sim.in_flight), (3, 3, 0));
}

async fn a_full_line_is_503_with_retry_after_and_stores_nothing(app: &TestApp) {
    let token = app.admin_token().await;
    let (_, mut a) = start(app, &token, "ocupa [sim tokens=400 delay_ms=10]").await;
    read_text(&mut a, 1).await;
    let (_, _b) = start(app, &token, "espera 1").await;
    let (_, _c) = start(app, &token, "espera 2").await;

    let conversation = app
        .post_json("/api/v1/conversations", &token, json!({ "title": "llena" }))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = conversation["id"].as_str().unwrap();
    let res = app
        .post_json(
            &format!("/api/v1/conversations/{id}/messages"),
            &token,
            json!({ "content": "no cabe" }),
        )
        .await;
    assert_eq!(res.headers()["retry-after"], "10");
    assert_eq!(error_code(res, 503).await, "server_busy");
    let detail = app.conversation(id, &token).await;
    assert!(
        detail["messages"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );
    // Only a, b and c hold their conversations: the refused one is free for the next try.
    assert_eq!(app.state.generations.in_flight(), 3);
}

async fn leaving_the_line_moves_the_others_up(app: &TestApp) {
    let token = app.admin_token().await;
    let (_, mut a) = start(app, &token, "ocupa [sim tokens=60 delay_ms=15]").await;
    read_text(&mut a, 1).await;
    let (b_meta, mut b) = start(app, &token, "me voy").await;
    assert!(matches!(b.next().await, Some(StreamEvent::Queued(q)) if q.position == 1));
    let (_, mut c) = start(app, &token, "me quedo [sim tokens=3]").await;
    assert!(matches!(c.next().await, Some(StreamEvent::Queued(q)) if q.position == 2));
    drop(b); // b's person closed the tab while waiting
    assert!(
        matches!(c.next().await, Some(StreamEvent::Queued(q)) if q.position == 1),
        "c moved up without waiting for a"
    );
    let (_, (_, c_text, c_end)) = tokio::join!(a.rest(), positions_and_text(c));
    assert_eq!(c_end, "complete");
    assert_eq!(c_text, reply_tokens("me quedo [sim tokens=3]", 3).concat());
    let b_row = stored_answer(app, &token, &b_meta).await;
    assert_eq!(b_row["status"], "interrupted");
    assert_eq!(b_row["content"], "");
    assert_eq!(app.sim.stats().requests, 2, "b never reached Ollama");
}
