//! Streams an answer from `POST /api/v1/chat` into the page: reads the response body as it
//! arrives, parses the SSE frames and applies each event to the live turn.

use std::rc::Rc;

use futures::StreamExt;
use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::JsCast;

use crate::{
    client::token_batch::TokenBatch,
    components::chat_state::ChatState,
    i18n,
    model::{ChatRequest, MessageStatus},
    sse_parser::SseParser,
    stream_events::StreamEvent,
};

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
}

pub async fn stream_answer(chat: ChatState, request: ChatRequest, on_new: Rc<dyn Fn(String)>) {
    if let Err(message) = run(chat, request, &on_new).await {
        fail(chat, MessageStatus::Failed, message);
    }
}

async fn run(
    chat: ChatState,
    body: ChatRequest,
    on_new: &Rc<dyn Fn(String)>,
) -> Result<(), String> {
    let post = || async {
        gloo_net::http::Request::post("/api/v1/chat")
            .header("Accept", "text/event-stream")
            .json(&body)
            .map_err(|_| i18n::answer_error("connection_lost").to_string())?
            .send()
            .await
            .map_err(|_| i18n::answer_error("connection_lost").to_string())
    };
    let mut response = post().await?;
    if response.status() == 401 {
        if !super::session::refresh().await {
            super::session::go_to_login();
            return Err(crate::i18n::t().session_expired.to_string());
        }
        response = post().await?;
    }
    if !response.ok() {
        let code = match response.json::<ErrorBody>().await {
            Ok(body) => body.error.code,
            Err(_) => String::new(),
        };
        return Err(i18n::answer_error(&code).to_string());
    }
    follow(chat, response, on_new).await
}

/// Re-attaches to the answer in flight in a conversation (`GET .../stream`).
pub async fn attach(chat: ChatState, conversation_id: String) {
    let url = format!("/api/v1/conversations/{conversation_id}/stream");
    let get = || async {
        gloo_net::http::Request::get(&url)
            .header("Accept", "text/event-stream")
            .send()
            .await
    };
    let mut response = get().await;
    if matches!(&response, Ok(r) if r.status() == 401) && super::session::refresh().await {
        response = get().await;
    }
    let on_new: Rc<dyn Fn(String)> = Rc::new(|_| {});
    let result = match response {
        // The answer ended meanwhile: show it as stored.
        Ok(r) if r.status() == 204 => {
            chat.live.set(None);
            chat.list_version.update(|v| *v += 1);
            Ok(())
        }
        Ok(r) if r.ok() => follow(chat, r, &on_new).await,
        _ => Err(i18n::answer_error("connection_lost").to_string()),
    };
    if let Err(message) = result {
        fail(chat, MessageStatus::Interrupted, message);
    }
}

/// Reads an answer's event stream to its end, applying each event.
async fn follow(
    chat: ChatState,
    response: gloo_net::http::Response,
    on_new: &Rc<dyn Fn(String)>,
) -> Result<(), String> {
    let body = response.body().ok_or("empty response")?;
    let mut chunks = wasm_streams::ReadableStream::from_raw(body.unchecked_into()).into_stream();
    let mut parser = SseParser::new();
    let batch = TokenBatch::new(chat);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| i18n::answer_error("connection_lost").to_string())?;
        let bytes = js_sys::Uint8Array::new(&chunk).to_vec();
        for frame in parser.push(&bytes) {
            match StreamEvent::parse(&frame.event, &frame.data) {
                Some(Ok(StreamEvent::Token(token))) => batch.push(&token.content),
                Some(Ok(event)) => {
                    batch.flush();
                    if apply(chat, event, on_new) {
                        return Ok(());
                    }
                }
                Some(Err(_)) => {
                    batch.flush();
                    return Err(i18n::answer_error("protocol").to_string());
                }
                None => {}
            }
        }
    }
    batch.flush();
    fail(
        chat,
        MessageStatus::Interrupted,
        i18n::answer_error("connection_lost").into(),
    );
    Ok(())
}

/// Applies one event; returns true when the turn has ended.
fn apply(chat: ChatState, event: StreamEvent, on_new: &Rc<dyn Fn(String)>) -> bool {
    match event {
        StreamEvent::Meta(meta) => {
            let mut created = None;
            chat.live.update(|live| {
                if let Some(turn) = live {
                    if turn.conversation_id.is_none() {
                        created = Some(meta.conversation_id.clone());
                    }
                    turn.conversation_id = Some(meta.conversation_id);
                    turn.user_message_id = Some(meta.user_message_id);
                    turn.assistant_message_id = Some(meta.assistant_message_id);
                }
            });
            if let Some(id) = created {
                chat.list_version.update(|v| *v += 1);
                on_new(id);
            }
            false
        }
        StreamEvent::Queued(queued) => {
            chat.live.update(|live| {
                if let Some(turn) = live {
                    turn.queued = Some(queued.position);
                }
            });
            false
        }
        StreamEvent::Token(token) => {
            // Normally gathered per frame by `follow`; applied directly if one comes here.
            chat.live.update(|live| {
                if let Some(turn) = live {
                    turn.queued = None;
                    turn.answer.push_str(&token.content);
                }
            });
            false
        }
        StreamEvent::Done(done) => {
            chat.live.update(|live| {
                if let Some(turn) = live {
                    turn.queued = None;
                    turn.status = done.status;
                }
            });
            chat.list_version.update(|v| *v += 1);
            true
        }
        StreamEvent::Error(error) => {
            let status = match error.code.as_str() {
                "client_disconnected" | "server_shutdown" => MessageStatus::Interrupted,
                _ => MessageStatus::Failed,
            };
            fail(chat, status, i18n::answer_error(&error.code).into());
            true
        }
    }
}

fn fail(chat: ChatState, status: MessageStatus, message: String) {
    chat.live.update(|live| {
        if let Some(turn) = live {
            turn.queued = None;
            turn.status = status;
            turn.error = Some(message);
        }
    });
}

/// `POST /api/v1/conversations/{id}/stop`; the stream then ends with a `done` (stopped) event.
pub async fn stop(conversation_id: String) {
    let url = format!("/api/v1/conversations/{conversation_id}/stop");
    let mut response = gloo_net::http::Request::post(&url).send().await;
    if matches!(&response, Ok(r) if r.status() == 401) && super::session::refresh().await {
        response = gloo_net::http::Request::post(&url).send().await;
    }
    if let Err(err) = response {
        leptos::logging::warn!("stop failed: {err}");
    }
}
