//! Accepting a turn: validate, store the question, take a place on a backend (its queue), open
//! the Ollama stream (or wait for it), and hand over to the generation task.

use std::sync::Arc;

use super::{
    attempt::{self, Retry},
    generate, history,
    live::{Listener, Live},
    settled_reads,
};
use crate::{
    error::AppError,
    model::{MessageRole, MessageStatus, MessageView},
    server::{
        auth::Caller,
        db::{
            conversations, messages, new_id,
            turns::{self, TurnConversation, TurnRows},
        },
        ollama::wire::{ChatOptions, ChatRequest},
        state::AppState,
    },
    stream_events::MetaEvent,
};

/// What the person asked.
pub struct TurnRequest {
    pub conversation_id: Option<String>,
    pub message: String,
    pub model: Option<String>,
    /// Only for a turn that creates its conversation.
    pub system_prompt: Option<String>,
}

/// An accepted turn, as its first listener sees it.
pub struct Turn {
    pub meta: MetaEvent,
    pub events: Listener,
}

/// Starts a turn for `caller`. The account is checked while Ollama is being called, before
/// anything is sent and before or as anything is stored (a new conversation's rows check it in
/// their own transaction): a refused account gets 401 whatever else was wrong, nothing is
/// stored, and its call to Ollama is dropped (which cancels it).
pub async fn start_turn(
    state: &AppState,
    mut caller: Caller,
    request: TurnRequest,
) -> Result<Turn, AppError> {
    let started = accept(state, &mut caller, request).await;
    if started.is_err() && !caller.is_checked() {
        caller.check(state).await?;
    }
    started
}

async fn accept(
    state: &AppState,
    caller: &mut Caller,
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
    let requested_model = match request.model.as_deref().map(str::trim) {
        Some(m) if m.len() > 200 => return Err(AppError::validation("model", "is too long")),
        Some(m) if !m.is_empty() => Some(state.models.resolve(m).await?),
        _ => None,
    };

    let system_prompt = request
        .system_prompt
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(crate::server::conversations_service::check_system_prompt)
        .transpose()?;
    if system_prompt.is_some() && request.conversation_id.is_some() {
        return Err(AppError::validation(
            "system_prompt",
            "only when starting a conversation; PATCH the conversation to change it",
        ));
    }
    // A conversation started here exists only in memory until the turn's rows are written,
    // which happens while Ollama is being called: nothing is written before the first token.
    let asked_at = chrono::Utc::now();
    let title = conversations::title_from_message(text);
    let (conversation, created) = match &request.conversation_id {
        Some(id) => {
            // The account is read alongside: the conversation's history is read next.
            let user_id = caller.user_id().to_string();
            let (checked, found) = tokio::join!(
                caller.check(state),
                conversations::get(&state.db, &user_id, id)
            );
            checked?;
            let found = found?.ok_or_else(|| AppError::NotFound("conversation".into()))?;
            (found.summary, false)
        }
        None => {
            let model = requested_model.as_deref().unwrap_or(&settings.ollama.model);
            let summary = turns::new_conversation(
                new_id(),
                title.clone(),
                model.to_string(),
                system_prompt.map(str::to_string),
                asked_at,
            );
            (summary, true)
        }
    };
    if conversation.status == "closed" {
        return Err(AppError::Conflict("this conversation is closed".into()));
    }
    let model = requested_model.unwrap_or_else(|| conversation.model.clone());
    if let Some(grant) = caller.key() {
        crate::server::auth::key_limits::admit(state, grant, &model).await?;
    }
    let conversation_id = conversation.id.clone();
    let slot = state.generations.claim(&conversation_id)?;
    if !created && state.cluster.is_some() {
        // Being answered on another instance? (Not if its end was announced already.)
        let (db, id) = (&state.db, conversation_id.as_str());
        let answering = move || messages::streaming_in(db, id);
        if settled_reads::read(state, &conversation_id, answering).await? {
            return Err(AppError::Conflict(
                "an answer is already being generated in this conversation".into(),
            ));
        }
    }
    let placement = attempt::place(&state.backends, state.cluster.as_ref(), &model, None).await?;

    let mut past = if created {
        Vec::new()
    } else {
        // The previous answer may have ended a moment ago: its text is part of the history.
        let (db, id) = (&state.db, conversation_id.as_str());
        let latest = move || messages::latest(db, id, history::MAX_HISTORY);
        settled_reads::read(state, &conversation_id, latest).await?
    };
    let user_message_id = new_id();
    past.push(MessageView {
        id: user_message_id.clone(),
        role: MessageRole::User,
        content: text.to_string(),
        status: MessageStatus::Complete,
        created_at: String::new(),
        meta: None,
    });

    let system_prompt = conversation
        .system_prompt
        .as_deref()
        .unwrap_or(&settings.chat.system_prompt);
    let ollama_request = ChatRequest {
        model: model.clone(),
        messages: history::to_ollama(system_prompt, &past, settings.context_budget_tokens()),
        stream: true,
        options: ChatOptions {
            temperature: settings.ollama.temperature,
            top_p: settings.ollama.top_p,
            num_ctx: settings.ollama.num_ctx,
            ..ChatOptions::default()
        },
        keep_alive: settings.ollama.keep_alive.clone(),
    };

    // Call Ollama now (on another backend if that one fails), so that an unreachable Ollama
    // is a plain 503, while the turn's rows are written: the two waits overlap, and the first
    // token is not held back by the database. If Ollama cannot be reached the answer's row
    // goes again (the question stays, as asked), so no answer is half-written.
    let mut retry = Retry::new(state.cluster.clone());
    let connect = attempt::connect(
        &state.backends,
        state.cluster.as_ref().map(|c| &c.slots),
        &ollama_request,
        placement,
        &mut retry,
    );
    let assistant_message_id = new_id();
    let user_id = caller.user_id().to_string();
    let rows = TurnRows {
        conversation: if created {
            // The transaction checks the account itself: one trip to the database fewer
            // before the first token.
            TurnConversation::New {
                user_id: &user_id,
                summary: &conversation,
                token_issued_at: caller.unread_token_issued_at(),
            }
        } else {
            TurnConversation::Existing {
                id: &conversation_id,
                title: &title,
            }
        },
        question_id: &user_message_id,
        question: text,
        answer_id: &assistant_message_id,
        instance_id: state.cluster.as_ref().map(|c| c.instance_id.as_str()),
        at: asked_at,
    };
    let store = async {
        if !created {
            caller.check(state).await?;
        }
        state.turns.store(&rows).await
    };
    let (connected, stored) = tokio::join!(connect, store);
    let start = match connected {
        Ok(start) => start,
        Err(e) => {
            tracing::warn!(error = %e, conversation = %conversation_id, "could not start an answer");
            if stored.is_ok() {
                messages::delete_streaming(&state.db, &assistant_message_id).await?;
            }
            return Err(AppError::from(e));
        }
    };
    // The rows could not be written: the request to Ollama ends with `start`, unused.
    stored?;
    let queued = start.position();
    let meta = MetaEvent {
        conversation_id,
        user_message_id,
        assistant_message_id,
        model,
    };
    let live = Live::new(meta.clone(), queued);
    let events = live.listen();
    slot.publish(&live);
    let key_id = caller.key().map(|k| k.id.clone());
    tokio::spawn(generate::run(
        state.clone(),
        start,
        ollama_request,
        retry,
        slot,
        Arc::clone(&live),
        key_id,
    ));
    Ok(Turn { meta, events })
}
