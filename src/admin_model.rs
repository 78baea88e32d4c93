//! Types of the admin views, shared by the server (REST and server functions) and the browser.

use serde::{Deserialize, Serialize};

use crate::model::{MessageView, Role};

/// A row of the users table.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    /// Conversations started (deleted ones included).
    pub conversations: i64,
    /// Prompt + completion tokens of this calendar month (UTC).
    pub tokens_this_month: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPage {
    pub items: Vec<AdminUser>,
    pub next_cursor: Option<String>,
}

/// Which users to list.
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Text in the email.
    pub q: Option<String>,
    /// `created` (newest first, default), `email` (A-Z) or `last_login` (most recent first).
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A created account, with its password when the server generated it (shown once).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: AdminUser,
    pub generated_password: Option<String>,
}

/// A conversation as admins see it (any owner, deleted ones included).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminConversation {
    pub id: String,
    pub user_id: String,
    pub owner_email: String,
    pub title: String,
    /// `open`, `closed` or `deleted`.
    pub status: String,
    pub model: String,
    pub messages: i64,
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminConversationPage {
    pub items: Vec<AdminConversation>,
    pub next_cursor: Option<String>,
}

/// Which conversations to list.
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationFilter {
    pub user_id: Option<String>,
    /// `open`, `closed` or `deleted`.
    pub status: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC) of last activity.
    pub from: Option<String>,
    /// Last day (inclusive).
    pub to: Option<String>,
    /// Text in the title or in any message.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// One conversation with every message and its metadata (read-only).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminConversationDetail {
    pub conversation: AdminConversation,
    pub system_prompt: Option<String>,
    pub messages: Vec<MessageView>,
}

/// Usage of one day or one user.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The day (`YYYY-MM-DD`) or the user id.
    pub key: String,
    /// The day, or the user's email.
    pub label: String,
    pub active_users: i64,
    pub conversations: i64,
    /// Questions and answers.
    pub messages: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Time Ollama spent generating (its `total_duration`).
    pub generation_ms: i64,
    pub failed: i64,
    pub interrupted: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub from: String,
    pub to: String,
    /// `day` or `user`.
    pub group_by: String,
    pub rows: Vec<UsageRow>,
    /// Sums over the period (`active_users`: distinct users over the whole period).
    pub totals: UsageRow,
}

/// One admin action.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub actor_id: String,
    pub actor_email: String,
    /// `user.created`, `user.activated`, `user.deactivated`, `user.role_changed`,
    /// `user.password_reset`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub target_label: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub created_at: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// Which audit entries to list.
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An API key as admins see it (never its secret).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub owner_email: String,
    /// The first characters of the secret, to recognise it (`ea_1a2b3c4d`).
    pub prefix: String,
    /// `None`: every installed model.
    pub allowed_models: Option<Vec<String>>,
    pub rate_limit_per_min: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    /// Whether its chats are stored as conversations (for supervision).
    pub store_conversations: bool,
    pub expires_at: Option<String>,
    pub disabled: bool,
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// This calendar month (UTC).
    pub requests_this_month: i64,
    pub prompt_tokens_this_month: i64,
    pub completion_tokens_this_month: i64,
}

/// A new key: shown with its secret once.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    /// `ea_...`: give it to the application now; it cannot be shown again.
    pub secret: String,
}

/// What a new key may do.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// The account the key acts as (by id or email).
    pub owner: String,
    pub allowed_models: Option<Vec<String>>,
    pub rate_limit_per_min: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    #[serde(default)]
    pub store_conversations: bool,
    /// RFC 3339 instant or `YYYY-MM-DD` (end of that day, UTC); must be in the future.
    pub expires_at: Option<String>,
}
