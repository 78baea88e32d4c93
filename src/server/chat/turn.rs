//! Accepting a turn: validate, store the question, open the Ollama stream, hand over to the
//! generation task.

use tokio::sync::mpsc;

use super::{generate, history};
use crate::{
    error::AppError,
    model::{MessageRole, MessageStatus},
    server::{
        auth::AuthUser,
        db::{conversations, messages},
        ollama::wire::{ChatOptions, ChatRequest},
        state::AppState,
    },
    stream_events::{MetaEvent, StreamEvent},
};

/// What the person asked.
pub struct TurnRequest {
    pub conversation_id: Option<String>,
    pub message: String,
    pub model: Option<String>,
}

/// An accepted turn: its ids, and the events of the answer as they come.
pub struct Turn {
    pub meta: MetaEvent,
    pub events: mpsc::Receiver<StreamEvent>,
}

/// Events buffered between the generation task and a slow client.
const EVENT_BUFFER: usize = 256;

pub async fn start_turn(
    state: &AppState,
    user: &AuthUser,
    request: TurnRequest,
) -> Result<Turn, AppError> {
    let settings = &state.settings;
    let text = request.message.trim_end();
    if text.trim().is_empty() {
        return Err(AppError::validation("message", "must not be empty"));
    }
    if text.chars().count() > settings.chat.max_message_chars {
        return Err(AppError::validation(
            "message",
            format!(
                "must be at most {} characters",
                settings.chat.max_message_chars
            ),
        ));
    }
    let model = request
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if model.is_some_and(|m| m.len() > 200) {
        return Err(AppError::validation("model", "is too long"));
    }

    let conversation = match &request.conversation_id {
        Some(id) => conversations::get(&state.db, &user.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound("conversation".into()))?,
        None => {
            let title = conversations::title_from_message(text);
            let model = model.unwrap_or(&settings.ollama.model);
            conversations::create(&state.db, &user.id, &title, model).await?
        }
    };
    if conversation.summary.status == "closed" {
        return Err(AppError::Conflict("this conversation is closed".into()));
    }
    let model = model
        .map(str::to_string)
        .unwrap_or_else(|| conversation.summary.model.clone());
    let conversation_id = conversation.summary.id.clone();
    let slot = state.generations.claim(&conversation_id)?;

    let mut past = messages::latest(&state.db, &conversation_id, history::MAX_HISTORY).await?;
    let user_message_id = messages::insert(
        &state.db,
        &conversation_id,
        MessageRole::User,
        text,
        MessageStatus::Complete,
    )
    .await?;
    conversations::touch(&state.db, &conversation_id).await?;
    past.push(crate::model::MessageView {
        id: user_message_id.clone(),
        role: MessageRole::User,
        content: text.to_string(),
        status: MessageStatus::Complete,
        created_at: String::new(),
    });

    let system_prompt = conversation
        .system_prompt
        .as_deref()
        .unwrap_or(&settings.chat.system_prompt);
    let ollama_request = ChatRequest {
        model: model.clone(),
        messages: history::to_ollama(system_prompt, &past),
        stream: true,
        options: ChatOptions {
            temperature: settings.ollama.temperature,
            top_p: settings.ollama.top_p,
            num_ctx: settings.ollama.num_ctx,
        },
        keep_alive: settings.ollama.keep_alive.clone(),
    };
    let upstream = state.ollama.chat(&ollama_request).await.map_err(|e| {
        tracing::warn!(error = %e, conversation = %conversation_id, "could not start an answer");
        AppError::from(e)
    })?;

    let assistant_message_id = messages::insert(
        &state.db,
        &conversation_id,
        MessageRole::Assistant,
        "",
        MessageStatus::Streaming,
    )
    .await?;
    let meta = MetaEvent {
        conversation_id,
        user_message_id,
        assistant_message_id,
        model,
    };
    let (tx, events) = mpsc::channel(EVENT_BUFFER);
    let _ = tx.try_send(StreamEvent::Meta(meta.clone()));
    tokio::spawn(generate::run(
        state.clone(),
        upstream,
        slot,
        meta.clone(),
        tx,
    ));
    Ok(Turn { meta, events })
}
