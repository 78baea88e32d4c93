//! The generation task: relays Ollama's chunks to the client as they come, checkpoints the
//! answer, and stores how it ended. It owns the upstream stream, so returning (or being told
//! the client left) drops it, which cancels the generation in Ollama.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::registry::Slot;

use crate::{
    model::MessageStatus,
    server::{
        db::messages,
        ollama::{ChatStream, OllamaError, wire::ChatChunk},
        state::AppState,
    },
    stream_events::{DoneEvent, ErrorEvent, MetaEvent, StreamEvent, TokenEvent, Usage},
};

/// How a generation ended.
enum Ending {
    Complete(ChatChunk),
    Stopped,
    ClientGone,
    ShuttingDown,
    Failed(OllamaError),
}

pub async fn run(
    state: AppState,
    mut upstream: ChatStream,
    mut slot: Slot,
    meta: MetaEvent,
    tx: mpsc::Sender<StreamEvent>,
) {
    let checkpoint_every = state.settings.chat.checkpoint_tokens.max(1);
    let checkpoint_interval = Duration::from_millis(state.settings.chat.checkpoint_ms);
    let mut shutdown = state.shutdown.clone();
    let mut content = String::new();
    let (mut since_checkpoint, mut last_checkpoint) = (0usize, Instant::now());

    let ending = loop {
        let next = tokio::select! {
            next = upstream.next() => next,
            _ = tx.closed() => break Ending::ClientGone,
            _ = slot.stop.wait_for(|stop| *stop) => break Ending::Stopped,
            _ = shutdown.wait_for(|abort| *abort) => break Ending::ShuttingDown,
        };
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break Ending::Failed(OllamaError::ConnectionCut),
            Err(err) => break Ending::Failed(err),
        };
        let token = chunk
            .message
            .as_ref()
            .map(|m| m.content.as_str())
            .unwrap_or("");
        if !token.is_empty() {
            content.push_str(token);
            since_checkpoint += 1;
            let event = StreamEvent::Token(TokenEvent {
                content: token.to_string(),
            });
            if tx.send(event).await.is_err() {
                break Ending::ClientGone;
            }
        }
        if chunk.done {
            break Ending::Complete(chunk);
        }
        if since_checkpoint >= checkpoint_every || last_checkpoint.elapsed() >= checkpoint_interval
        {
            if let Err(err) =
                messages::checkpoint(&state.db, &meta.assistant_message_id, &content).await
            {
                tracing::error!(error = %err, "checkpoint failed");
            }
            (since_checkpoint, last_checkpoint) = (0, Instant::now());
        }
    };
    drop(upstream); // closes the connection: Ollama stops generating

    let id = meta.assistant_message_id.clone();
    let (status, meta_json, event) = match ending {
        Ending::Complete(last) => {
            let usage = usage_of(&last);
            let json = serde_json::json!({ "model": meta.model, "done_reason": last.done_reason, "usage": usage });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Complete,
                done_reason: last.done_reason,
                usage,
            };
            (MessageStatus::Complete, json, Some(StreamEvent::Done(done)))
        }
        Ending::Stopped => {
            let json = serde_json::json!({ "model": meta.model, "stopped_by": "user" });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Stopped,
                done_reason: None,
                usage: Usage::default(),
            };
            (MessageStatus::Stopped, json, Some(StreamEvent::Done(done)))
        }
        Ending::ClientGone | Ending::ShuttingDown => {
            let reason = if matches!(ending, Ending::ClientGone) {
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
            (
                MessageStatus::Interrupted,
                json,
                Some(StreamEvent::Error(error)),
            )
        }
        Ending::Failed(err) => {
            tracing::warn!(error = %err, message = %id, "answer failed");
            let json = serde_json::json!({ "model": meta.model, "error": { "code": err.code(), "message": err.to_string() } });
            let error = ErrorEvent {
                code: err.code().into(),
                message: err.to_string(),
                message_id: Some(id.clone()),
            };
            (MessageStatus::Failed, json, Some(StreamEvent::Error(error)))
        }
    };
    if let Err(err) = messages::finish(&state.db, &id, &content, status, &meta_json).await {
        tracing::error!(error = %err, message = %id, "could not store the answer");
    }
    let _ = crate::server::db::conversations::touch(&state.db, &meta.conversation_id).await;
    drop(slot); // the conversation can take its next question
    if let Some(event) = event {
        let _ = tx.send(event).await;
    }
}

fn usage_of(last: &ChatChunk) -> Usage {
    let ms = |ns: Option<u64>| ns.unwrap_or(0) as f64 / 1e6;
    Usage {
        prompt_tokens: last.prompt_eval_count.unwrap_or(0),
        completion_tokens: last.eval_count.unwrap_or(0),
        total_duration_ms: ms(last.total_duration),
        load_duration_ms: ms(last.load_duration),
        prompt_eval_duration_ms: ms(last.prompt_eval_duration),
        eval_duration_ms: ms(last.eval_duration),
    }
}
