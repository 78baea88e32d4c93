//! Turning a turn's events into an HTTP response: SSE by default, plain text on request.

use std::convert::Infallible;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::stream;

use super::Turn;
use crate::stream_events::StreamEvent;

/// Streams the turn in the format the client asked for.
pub fn respond(turn: Turn, request_headers: &HeaderMap) -> Response {
    let wants_text = request_headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("text/plain") && !accept.contains("text/event-stream")
        });
    if wants_text {
        plain_text(turn)
    } else {
        event_stream(turn)
    }
}

fn event_stream(turn: Turn) -> Response {
    let events = stream::unfold(turn.events, |mut rx| async move {
        let event = rx.next().await?;
        let sse = Event::default().event(event.name()).data(event.data_json());
        Some((Ok::<_, Infallible>(sse), rx))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Tell reverse proxies (nginx, some Caddy setups) not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn plain_text(turn: Turn) -> Response {
    let meta = turn.meta;
    let chunks = stream::unfold(turn.events, |mut rx| async move {
        loop {
            match rx.next().await? {
                StreamEvent::Token(t) => return Some((Ok::<_, Infallible>(t.content), rx)),
                StreamEvent::Meta(_) | StreamEvent::Queued(_) | StreamEvent::Done(_) => continue,
                StreamEvent::Error(_) => return None,
            }
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    for (name, value) in [
        ("x-conversation-id", &meta.conversation_id),
        ("x-user-message-id", &meta.user_message_id),
        ("x-assistant-message-id", &meta.assistant_message_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    response
}
