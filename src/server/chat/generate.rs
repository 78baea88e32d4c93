//! The generation task: waits for its turn in the queue, relays Ollama's chunks to the
//! answer's listeners as they come, checkpoints the answer, and stores how it ended.
//!
//! It owns the upstream stream, so ending (Stop, nobody listening, shutdown) drops it, which
//! closes the connection and cancels the generation in Ollama.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    live::Live,
    queue::{Permit, Place, Ticket},
    registry::Slot,
};
use crate::{
    model::MessageStatus,
    server::{
        db::{conversations, messages},
        metrics,
        ollama::{ChatStream, OllamaError, wire::ChatChunk, wire::ChatRequest},
        state::AppState,
    },
    stream_events::{DoneEvent, ErrorEvent, StreamEvent, Usage},
};

/// How the generation begins.
pub enum Start {
    /// Ollama already answered (the common case: no wait).
    Connected {
        upstream: ChatStream,
        permit: Permit,
    },
    /// Waiting in line; Ollama is called once admitted.
    Queued {
        ticket: Ticket,
        request: ChatRequest,
    },
}

/// How a generation ended.
enum Ending {
    Complete(ChatChunk),
    Stopped,
    Abandoned,
    ShuttingDown,
    Failed(OllamaError),
}

/// `key_id`: the API key the answer was asked with, whose usage it counts towards.
pub async fn run(
    state: AppState,
    start: Start,
    slot: Slot,
    live: Arc<Live>,
    key_id: Option<String>,
) {
    let grace = Duration::from_millis(state.settings.chat.reattach_grace_ms);
    let abandoned = live.abandoned(grace);
    tokio::pin!(abandoned);
    let mut stop = slot.stop.clone();
    let mut shutdown = state.shutdown.clone();

    // Every wait below also ends on Stop, on nobody listening, and on shutdown.
    macro_rules! or_cancelled {
        ($label:lifetime, $future:expr) => {
            tokio::select! {
                value = $future => value,
                _ = &mut abandoned => break $label Ending::Abandoned,
                _ = stop.wait_for(|s| *s) => break $label Ending::Stopped,
                _ = shutdown.wait_for(|s| *s) => break $label Ending::ShuttingDown,
            }
        };
    }

    let ending = 'run: {
        let (mut upstream, _permit) = match start {
            Start::Connected { upstream, permit } => (upstream, permit),
            Start::Queued {
                mut ticket,
                request,
            } => {
                while let Place::Waiting(position) = ticket.place() {
                    live.set_queued(Some(position));
                    or_cancelled!('run, ticket.changed());
                }
                live.set_queued(None);
                let Some(permit) = ticket.into_permit() else {
                    break 'run Ending::Failed(OllamaError::ConnectionCut);
                };
                match or_cancelled!('run, state.ollama.chat(&request)) {
                    Ok(upstream) => (upstream, permit),
                    Err(err) => break 'run Ending::Failed(err),
                }
            }
        };

        let checkpoint_every = state.settings.chat.checkpoint_tokens.max(1);
        let checkpoint_interval = Duration::from_millis(state.settings.chat.checkpoint_ms);
        let (mut since_checkpoint, mut last_checkpoint) = (0usize, Instant::now());
        let mut relay = metrics::Relay::start();
        let id = live.meta_id();
        loop {
            let chunk = match or_cancelled!('run, upstream.next()) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break 'run Ending::Failed(OllamaError::ConnectionCut),
                Err(err) => break 'run Ending::Failed(err),
            };
            if let Some(token) = chunk.message.as_ref().map(|m| m.content.as_str())
                && !token.is_empty()
            {
                live.push(token);
                relay.token();
                since_checkpoint += 1;
            }
            if chunk.done {
                break 'run Ending::Complete(chunk);
            }
            if since_checkpoint >= checkpoint_every
                || last_checkpoint.elapsed() >= checkpoint_interval
            {
                // Written in a batch by the checkpoint writer: the relay never waits for it.
                state.checkpoints.save(&id, live.content());
                (since_checkpoint, last_checkpoint) = (0, Instant::now());
            }
        }
    };
    // The upstream connection and the queue permit are gone: Ollama stops, the next in line
    // starts.

    let meta = live.meta();
    let id = meta.assistant_message_id.clone();
    let content = live.content();
    let mut counted = Usage::default();
    let (status, meta_json, event) = match ending {
        Ending::Complete(last) => {
            let usage = last.usage();
            counted = usage.clone();
            let json = serde_json::json!({ "model": meta.model, "done_reason": last.done_reason, "usage": usage });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Complete,
                done_reason: last.done_reason,
                usage,
            };
            (MessageStatus::Complete, json, StreamEvent::Done(done))
        }
        Ending::Stopped => {
            let json = serde_json::json!({ "model": meta.model, "stopped_by": "user" });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Stopped,
                done_reason: None,
                usage: Usage::default(),
            };
            (MessageStatus::Stopped, json, StreamEvent::Done(done))
        }
        Ending::Abandoned | Ending::ShuttingDown => {
            let reason = if matches!(ending, Ending::Abandoned) {
                "client_disconnected"
            } else {
                "server_shutdown"
            };
            let json = serde_json::json!({ "model": meta.model, "interrupted_by": reason });
            let error = ErrorEvent {
                code: reason.into(),
                message: "the answer was interrupted".into(),
                message_id: Some(id.clone()),
            };
            (MessageStatus::Interrupted, json, StreamEvent::Error(error))
        }
        Ending::Failed(err) => {
            tracing::warn!(error = %err, message = %id, "answer failed");
            let json = serde_json::json!({ "model": meta.model, "error": { "code": err.code(), "message": err.to_string() } });
            let error = ErrorEvent {
                code: err.code().into(),
                message: err.to_string(),
                message_id: Some(id.clone()),
            };
            (MessageStatus::Failed, json, StreamEvent::Error(error))
        }
    };
    metrics::global().answer_finished(status.as_str());
    state.checkpoints.forget(&id);
    if let Err(err) = messages::finish(&state.db, &id, &content, status, &meta_json, &counted).await
    {
        tracing::error!(error = %err, message = %id, "could not store the answer");
    }
    let _ = conversations::touch(&state.db, &meta.conversation_id).await;
    if let Some(key_id) = key_id {
        let recorded = crate::server::db::api_keys::record_usage(
            &state.db,
            &key_id,
            &meta.model,
            counted.prompt_tokens as i64,
            counted.completion_tokens as i64,
            status.as_str(),
        )
        .await;
        if let Err(err) = recorded {
            tracing::error!(error = %err, "could not record the key's usage");
        }
    }
    live.end(event);
    drop(slot); // the conversation can take its next question
}
