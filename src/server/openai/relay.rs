//! Relaying an Ollama stream as OpenAI `chat.completion` (whole) or `chat.completion.chunk`
//! events (streamed, ending with `data: [DONE]`), and accounting for it: usage per key, and
//! the exchange stored as a conversation when the key says so.
//!
//! The response owns the upstream stream and the queue permit: a client that goes away drops
//! them, which cancels the generation in Ollama and lets the next request in.

use std::convert::Infallible;

use axum::{
    Json,
    body::Body,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures::stream;
use serde_json::{Value, json};

use super::OpenAiError;
use crate::{
    model::MessageStatus,
    server::{
        auth::AuthUser,
        chat::{queue::Permit, settling::Subject},
        db::{
            api_keys, messages, new_id,
            turns::{self, TurnConversation, TurnRows},
        },
        ollama::{ChatStream, wire::ChatChunk},
        state::AppState,
    },
    stream_events::Usage,
};

/// Records how a request ended, once; a request dropped unfinished counts as cancelled.
///
/// The key's usage is written by a task of its own; until it lands, the key's limits on this
/// instance wait for it (`Settling`), so the key's next request counts this one. With several
/// instances the next request may reach another one: there the response ends (its last
/// event, or the whole answer) only once the usage is written ([`Accounting::recorded`]).
pub struct Accounting {
    state: AppState,
    key: Option<(String, String, bool)>,
    user_id: String,
    model: String,
    question: String,
    end_user: Option<String>,
    content: String,
    done: bool,
    /// Closed once the usage of the ended request is written.
    recording: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Accounting {
    pub fn new(
        state: &AppState,
        user: &AuthUser,
        model: &str,
        question: String,
        end_user: Option<String>,
    ) -> Accounting {
        Accounting {
            state: state.clone(),
            key: user
                .key
                .as_ref()
                .map(|k| (k.id.clone(), k.name.clone(), k.store_conversations)),
            user_id: user.id.clone(),
            model: model.to_string(),
            question,
            end_user,
            content: String::new(),
            done: false,
            recording: None,
        }
    }

    /// Waits, with several instances, until the usage of the ended request is written.
    async fn recorded(&mut self) {
        if self.state.cluster.is_none() {
            return;
        }
        if let Some(recording) = self.recording.take() {
            // Closed, not sent to: the usage was written (or could not be, which is logged).
            let _ = recording.await;
        }
    }

    fn push(&mut self, token: &str) {
        self.content.push_str(token);
    }

    fn finish(&mut self, usage: Usage, status: MessageStatus) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let state = self.state.clone();
        let key = self.key.clone();
        let (user_id, model) = (self.user_id.clone(), self.model.clone());
        let (question, content) = (
            std::mem::take(&mut self.question),
            std::mem::take(&mut self.content),
        );
        let end_user = self.end_user.take();
        let Some((key_id, key_name, store)) = key else {
            return;
        };
        let writing = state.settling.begin(&[Subject::Key(&key_id)]);
        let (written, recording) = tokio::sync::oneshot::channel::<()>();
        self.recording = Some(recording);
        tokio::spawn(async move {
            let recorded = api_keys::record_usage(
                &state.db,
                &key_id,
                &model,
                usage.prompt_tokens as i64,
                usage.completion_tokens as i64,
                status.as_str(),
            )
            .await;
            if let Err(err) = recorded {
                tracing::error!(error = %err, "could not record the key's usage");
            }
            drop((writing, written));
            if store {
                let stored = store_exchange(
                    &state,
                    &user_id,
                    &key_name,
                    &model,
                    &question,
                    &content,
                    &usage,
                    status,
                    end_user.as_deref(),
                )
                .await;
                if let Err(err) = stored {
                    tracing::error!(error = %err, "could not store the API exchange");
                }
            }
        });
    }
}

impl Drop for Accounting {
    fn drop(&mut self) {
        if !self.done {
            // The client went away mid-answer: what Ollama produced was not counted by it.
            let completion = self.content.chars().count().div_ceil(4) as u64;
            self.finish(
                Usage {
                    completion_tokens: completion,
                    ..Usage::default()
                },
                MessageStatus::Interrupted,
            );
        }
    }
}

/// Keeps the exchange as a conversation of the key's owner, for supervision.
#[allow(clippy::too_many_arguments)]
async fn store_exchange(
    state: &AppState,
    user_id: &str,
    key_name: &str,
    model: &str,
    question: &str,
    answer: &str,
    usage: &Usage,
    status: MessageStatus,
    end_user: Option<&str>,
) -> Result<(), crate::error::AppError> {
    let at = chrono::Utc::now();
    let title = format!("API · {key_name}");
    let conversation = turns::new_conversation(new_id(), title, model.to_string(), None, at);
    let (question_id, answer_id) = (new_id(), new_id());
    let rows = TurnRows {
        conversation: TurnConversation::New {
            user_id,
            summary: &conversation,
            token_issued_at: None,
        },
        question_id: &question_id,
        question,
        answer_id: &answer_id,
        instance_id: None,
        at,
    };
    state.turns.store(&rows).await?;
    let meta = json!({ "model": model, "usage": usage, "via": "openai_api", "api_key": key_name, "end_user": end_user });
    let ended_at = crate::server::db::now();
    let ended = messages::Ended {
        conversation_id: &conversation.id,
        message_id: &answer_id,
        content: answer,
        status,
        meta: &meta,
        usage,
        at: &ended_at,
    };
    messages::finish(&state.db, &ended).await
}

fn openai_usage(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    })
}

fn finish_reason(last: &ChatChunk) -> &'static str {
    match last.done_reason.as_deref() {
        Some("length") => "length",
        _ => "stop",
    }
}

fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The whole answer as one `chat.completion` object.
pub async fn collect(
    mut upstream: ChatStream,
    permit: Permit,
    mut accounting: Accounting,
    model: &str,
) -> Result<Response, OpenAiError> {
    let last = loop {
        match upstream.next().await {
            Ok(Some(chunk)) => {
                if let Some(m) = &chunk.message {
                    accounting.push(&m.content);
                }
                if chunk.done {
                    break chunk;
                }
            }
            Ok(None) => {
                return Err(crate::error::AppError::OllamaUnavailable(
                    "the model stopped answering".into(),
                )
                .into());
            }
            Err(err) => {
                accounting.finish(Usage::default(), MessageStatus::Failed);
                return Err(crate::error::AppError::OllamaUnavailable(err.to_string()).into());
            }
        }
    };
    drop(upstream);
    drop(permit);
    let usage = last.usage();
    let content = accounting.content.clone();
    accounting.finish(usage.clone(), MessageStatus::Complete);
    accounting.recorded().await;
    Ok(Json(json!({
        "id": completion_id(),
        "object": "chat.completion",
        "created": now_secs(),
        "model": model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "logprobs": null,
            "finish_reason": finish_reason(&last),
        }],
        "usage": openai_usage(&usage),
    }))
    .into_response())
}

/// Where the streamed relay stands.
struct Relay {
    upstream: Option<ChatStream>,
    permit: Option<Permit>,
    accounting: Accounting,
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    /// Events to send before reading more from Ollama.
    pending: std::collections::VecDeque<String>,
    ended: bool,
}

impl Relay {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        format!("data: {chunk}\n\n")
    }

    /// Reads Ollama until there is something to send; `None` once everything was sent.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            let upstream = self.upstream.as_mut()?;
            match upstream.next().await {
                Ok(Some(chunk)) => {
                    let token = chunk
                        .message
                        .as_ref()
                        .map(|m| m.content.as_str())
                        .unwrap_or("");
                    if !token.is_empty() {
                        self.accounting.push(token);
                        let event = self.chunk(json!({ "content": token }), None);
                        self.pending.push_back(event);
                    }
                    if chunk.done {
                        self.upstream = None;
                        self.permit = None;
                        let usage = chunk.usage();
                        self.pending
                            .push_back(self.chunk(json!({}), Some(finish_reason(&chunk))));
                        if self.include_usage {
                            let last = json!({
                                "id": self.id,
                                "object": "chat.completion.chunk",
                                "created": self.created,
                                "model": self.model,
                                "system_fingerprint": null,
                                "choices": [],
                                "usage": openai_usage(&usage),
                            });
                            self.pending.push_back(format!("data: {last}\n\n"));
                        }
                        self.accounting.finish(usage, MessageStatus::Complete);
                        self.accounting.recorded().await;
                        self.pending.push_back("data: [DONE]\n\n".into());
                        self.ended = true;
                    }
                }
                Ok(None) | Err(_) => {
                    self.upstream = None;
                    self.permit = None;
                    let error = json!({ "error": {
                        "message": "The model stopped answering.",
                        "type": "server_error",
                        "param": null,
                        "code": "backend_error",
                    }});
                    self.pending.push_back(format!("data: {error}\n\n"));
                    self.accounting
                        .finish(Usage::default(), MessageStatus::Failed);
                    self.ended = true;
                }
            }
        }
    }
}

/// The answer as `chat.completion.chunk` server-sent events, as Ollama produces it.
pub fn stream(
    upstream: ChatStream,
    permit: Permit,
    accounting: Accounting,
    model: &str,
    include_usage: bool,
) -> Response {
    let mut relay = Relay {
        upstream: Some(upstream),
        permit: Some(permit),
        accounting,
        id: completion_id(),
        created: now_secs(),
        model: model.to_string(),
        include_usage,
        pending: Default::default(),
        ended: false,
    };
    let first = relay.chunk(json!({ "role": "assistant", "content": "" }), None);
    relay.pending.push_back(first);
    let events = stream::unfold(relay, |mut relay| async move {
        let event = relay.next().await?;
        Some((Ok::<_, Infallible>(event), relay))
    });
    let mut response = Body::from_stream(events).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
