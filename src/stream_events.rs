//! The chat streaming contract: the named server-sent events of a chat turn.
//!
//! Both the server (which emits them) and the browser (which parses them) use these types.

use serde::{Deserialize, Serialize};

use crate::model::MessageStatus;

/// Event `meta`: sent first, once the turn is accepted.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaEvent {
    pub conversation_id: String,
    pub user_message_id: String,
    pub assistant_message_id: String,
    pub model: String,
}

/// Event `queued`: the answer waits for a free slot of the model; 1 is next in line.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub position: usize,
}

/// Event `token`: a fragment of the answer, in order.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenEvent {
    pub content: String,
}

/// Token counts and durations reported by Ollama for one answer.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_duration_ms: f64,
    pub load_duration_ms: f64,
    pub prompt_eval_duration_ms: f64,
    pub eval_duration_ms: f64,
}

/// Event `done`: the answer ended and is stored.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoneEvent {
    pub message_id: String,
    pub status: MessageStatus,
    pub done_reason: Option<String>,
    pub usage: Usage,
}

/// Event `error`: the answer failed; what was produced so far is stored.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub code: String,
    pub message: String,
    pub message_id: Option<String>,
}

/// One event of a chat stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    Meta(MetaEvent),
    Queued(QueuedEvent),
    Token(TokenEvent),
    Done(DoneEvent),
    Error(ErrorEvent),
}

impl StreamEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Meta(_) => "meta",
            StreamEvent::Queued(_) => "queued",
            StreamEvent::Token(_) => "token",
            StreamEvent::Done(_) => "done",
            StreamEvent::Error(_) => "error",
        }
    }

    /// The SSE `data:` payload (JSON).
    pub fn data_json(&self) -> String {
        let result = match self {
            StreamEvent::Meta(e) => serde_json::to_string(e),
            StreamEvent::Queued(e) => serde_json::to_string(e),
            StreamEvent::Token(e) => serde_json::to_string(e),
            StreamEvent::Done(e) => serde_json::to_string(e),
            StreamEvent::Error(e) => serde_json::to_string(e),
        };
        result.unwrap_or_else(|_| "{}".to_string())
    }

    /// Builds an event from its SSE name and data; unknown names give `None`.
    pub fn parse(name: &str, data: &str) -> Option<Result<StreamEvent, serde_json::Error>> {
        Some(match name {
            "meta" => serde_json::from_str(data).map(StreamEvent::Meta),
            "queued" => serde_json::from_str(data).map(StreamEvent::Queued),
            "token" => serde_json::from_str(data).map(StreamEvent::Token),
            "done" => serde_json::from_str(data).map(StreamEvent::Done),
            "error" => serde_json::from_str(data).map(StreamEvent::Error),
            _ => return None,
        })
    }
}
