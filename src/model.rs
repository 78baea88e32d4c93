//! Types shared by the server and the browser: what the API and server functions exchange.

use serde::{Deserialize, Serialize};

/// A person's role.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// The signed-in person, as the UI sees them.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
}

/// Where a chat message stands in its life.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Streaming,
    Complete,
    Stopped,
    Interrupted,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Streaming => "streaming",
            MessageStatus::Complete => "complete",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        Some(match s {
            "streaming" => MessageStatus::Streaming,
            "complete" => MessageStatus::Complete,
            "stopped" => MessageStatus::Stopped,
            "interrupted" => MessageStatus::Interrupted,
            "failed" => MessageStatus::Failed,
            _ => return None,
        })
    }
}

/// Who wrote a message.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    System,
    User,
    Assistant,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::System => "system",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<MessageRole> {
        Some(match s {
            "system" => MessageRole::System,
            "user" => MessageRole::User,
            "assistant" => MessageRole::Assistant,
            _ => return None,
        })
    }
}

/// A conversation as listed in the sidebar and the API.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: String,
    /// Empty until the first message names it.
    pub title: String,
    /// `open` or `closed` (read-only).
    pub status: String,
    pub model: String,
    /// `None`: the server's default system prompt.
    pub system_prompt: Option<String>,
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
}

/// One stored chat message.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub role: MessageRole,
    pub content: String,
    pub status: MessageStatus,
    pub created_at: String,
    /// How the answer was made or ended: model, token counts and durations, error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub meta: Option<serde_json::Value>,
}

/// A conversation with its messages, oldest first.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetail {
    pub conversation: ConversationSummary,
    /// The latest messages.
    pub messages: Vec<MessageView>,
    /// Whether older messages exist (`GET .../messages?before=<first id>`).
    pub has_more: bool,
}

/// What `/health` reports.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub status: String,
    pub version: String,
    pub database: bool,
    /// All backends together: reachable when any is healthy.
    pub ollama: OllamaHealth,
    /// Each Ollama backend (`ollama.hosts`), in order.
    pub backends: Vec<BackendHealth>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OllamaHealth {
    pub reachable: bool,
    pub latency_ms: Option<f64>,
    pub model: String,
    pub error: Option<String>,
}

/// The models a person can choose for a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelChoices {
    /// Installed in Ollama.
    pub names: Vec<String>,
    /// The server's default model.
    pub default: String,
}

/// One Ollama backend, as its last health check and its queue show it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendHealth {
    pub url: String,
    /// `healthy`, `unhealthy` (taken out until it recovers) or `unknown` (not checked yet).
    pub state: String,
    /// Answers generating on it now.
    pub in_flight: usize,
    /// Requests waiting in its line.
    pub queued: usize,
    pub max_parallel: usize,
    /// Its installed models, as last listed.
    pub models: Vec<String>,
    /// How long its last successful check took.
    pub latency_ms: Option<f64>,
    /// Why it is unhealthy.
    pub error: Option<String>,
}

/// Body of `POST /api/v1/chat`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Absent: a new conversation is created (named after the message).
    pub conversation_id: Option<String>,
    pub message: String,
    /// For a new conversation, its model; for an existing one, the model of this answer only.
    pub model: Option<String>,
    /// Only when creating a conversation: its system prompt (absent or empty: the default).
    /// To change an existing conversation's, `PATCH /conversations/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
}

/// Body of `POST /api/v1/conversations/{id}/messages`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PostMessage {
    pub content: String,
}
