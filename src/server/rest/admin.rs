//! `/api/v1/admin/*`: for active admins only (403 for everyone else). Admins supervise:
//! accounts can be managed, conversations only read.

use axum::{
    Json,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json::{ApiJson, ApiQuery};
use crate::{
    admin_model::{
        AdminConversationDetail, AdminConversationPage, AdminUser, ApiKeyView, AuditFilter,
        AuditPage, ConversationFilter, CreatedApiKey, CreatedUser, NewApiKey, UsageReport,
        UserFilter, UserPage,
    },
    error::AppError,
    model::{MessageView, Role},
    server::{
        admin::{self, Actor},
        auth::{AdminUser as Admin, extract::client_ip},
        errors::ErrorBody,
        state::AppState,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(reset_password))
        .routes(routes!(list_conversations))
        .routes(routes!(get_conversation))
        .routes(routes!(conversation_messages))
        .routes(routes!(usage))
        .routes(routes!(audit))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(update_key, revoke_key))
}

/// The admin making the request, and their address (for the audit log).
struct AdminActor(Actor);

impl FromRequestParts<AppState> for AdminActor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Admin(user) = Admin::from_request_parts(parts, state).await?;
        let ip = Some(client_ip(state, parts).to_string());
        Ok(AdminActor(Actor { user, ip }))
    }
}

/// Users, filtered and sorted, a page at a time.
#[utoipa::path(get, path = "/admin/users", operation_id = "adminListUsers", tag = "admin",
    params(UserFilter),
    responses(
        (status = 200, body = UserPage),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an active admin", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(filter): ApiQuery<UserFilter>,
) -> Result<Json<UserPage>, AppError> {
    Ok(Json(admin::users::list(&state, &filter).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    /// `user` by default.
    role: Option<Role>,
    /// At least 10 characters; omitted: one is generated and returned once.
    password: Option<String>,
}

/// Create an account.
#[utoipa::path(post, path = "/admin/users", operation_id = "adminCreateUser", tag = "admin",
    request_body = NewUser,
    responses(
        (status = 201, body = CreatedUser),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_user(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>), AppError> {
    let created = admin::users::create(
        &state,
        &actor,
        &body.email,
        body.role.unwrap_or(Role::User),
        body.password.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One user.
#[utoipa::path(get, path = "/admin/users/{id}", operation_id = "adminGetUser", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUser),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminUser>, AppError> {
    Ok(Json(admin::users::get(&state, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    active: Option<bool>,
    role: Option<Role>,
}

/// Activate/deactivate an account or change its role.
///
/// An admin cannot deactivate or demote themself, and the last active admin always stays.
/// Deactivation takes effect on the person's very next request.
#[utoipa::path(patch, path = "/admin/users/{id}", operation_id = "adminUpdateUser", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    request_body = UserChange,
    responses(
        (status = 200, body = AdminUser),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Would lock out the caller or the last admin", body = ErrorBody),
    ))]
async fn update_user(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<Json<AdminUser>, AppError> {
    Ok(Json(
        admin::users::update(&state, &actor, &id, change.active, change.role).await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct PasswordReset {
    /// Omitted: one is generated and returned once.
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct PasswordResetResult {
    /// The generated password (only when none was given). Shown once.
    generated_password: Option<String>,
}

/// Reset a user's password; every session of theirs ends.
#[utoipa::path(post, path = "/admin/users/{id}/reset-password", operation_id = "adminResetPassword", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    request_body = PasswordReset,
    responses(
        (status = 200, body = PasswordResetResult),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn reset_password(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<PasswordResetResult>, AppError> {
    let body: PasswordReset = super::json::optional(&body)?.unwrap_or_default();
    let generated =
        admin::users::reset_password(&state, &actor, &id, body.password.as_deref()).await?;
    Ok(Json(PasswordResetResult {
        generated_password: generated,
    }))
}

/// Conversations of every user (deleted ones too), newest activity first.
#[utoipa::path(get, path = "/admin/conversations", operation_id = "adminListConversations", tag = "admin",
    params(ConversationFilter),
    responses(
        (status = 200, body = AdminConversationPage),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn list_conversations(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(filter): ApiQuery<ConversationFilter>,
) -> Result<Json<AdminConversationPage>, AppError> {
    Ok(Json(admin::conversations::list(&state, &filter).await?))
}

/// One conversation with all its messages and their metadata (read-only).
#[utoipa::path(get, path = "/admin/conversations/{id}", operation_id = "adminGetConversation", tag = "admin",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, body = AdminConversationDetail),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_conversation(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminConversationDetail>, AppError> {
    Ok(Json(admin::conversations::detail(&state, &id).await?))
}

#[derive(Serialize, ToSchema)]
struct AdminMessages {
    items: Vec<MessageView>,
}

/// Every message of a conversation, oldest first (read-only).
#[utoipa::path(get, path = "/admin/conversations/{id}/messages", operation_id = "adminConversationMessages", tag = "admin",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, body = AdminMessages),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn conversation_messages(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminMessages>, AppError> {
    let detail = admin::conversations::detail(&state, &id).await?;
    Ok(Json(AdminMessages {
        items: detail.messages,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UsageQuery {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    from: Option<String>,
    /// Last day, inclusive (default: today, UTC).
    to: Option<String>,
    /// `day` (default) or `user`.
    group_by: Option<String>,
}

/// Usage per day or per user: active users, conversations, messages, tokens, generation
/// time, failed and interrupted answers.
#[utoipa::path(get, path = "/admin/usage", operation_id = "adminUsage", tag = "admin",
    params(UsageQuery),
    responses(
        (status = 200, body = UsageReport),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn usage(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Json<UsageReport>, AppError> {
    Ok(Json(
        admin::usage::report(
            &state,
            query.from.as_deref(),
            query.to.as_deref(),
            query.group_by.as_deref(),
        )
        .await?,
    ))
}

/// The audit log of admin actions, newest first. It cannot be changed through the app.
#[utoipa::path(get, path = "/admin/audit", operation_id = "adminAudit", tag = "admin",
    params(AuditFilter),
    responses(
        (status = 200, body = AuditPage),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> Result<Json<AuditPage>, AppError> {
    Ok(Json(admin::audit::list(&state, &filter).await?))
}

#[derive(Serialize, ToSchema)]
struct ApiKeys {
    items: Vec<ApiKeyView>,
}

/// Every API key with its owner and this month's usage (never the secrets).
#[utoipa::path(get, path = "/admin/api-keys", operation_id = "adminListApiKeys", tag = "admin",
    responses(
        (status = 200, body = ApiKeys),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_keys(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<ApiKeys>, AppError> {
    Ok(Json(ApiKeys {
        items: admin::api_keys::list(&state).await?,
    }))
}

/// Create an API key for an application or a person; the secret is in the answer, once.
#[utoipa::path(post, path = "/admin/api-keys", operation_id = "adminCreateApiKey", tag = "admin",
    request_body = NewApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Bad name, owner, model, limit or expiry", body = ErrorBody),
    ))]
async fn create_key(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    ApiJson(new): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    let created = admin::api_keys::create(&state, &actor, &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct KeyChange {
    disabled: bool,
}

/// Disable or enable a key (takes effect on its next request).
#[utoipa::path(patch, path = "/admin/api-keys/{id}", operation_id = "adminUpdateApiKey", tag = "admin",
    params(("id" = String, Path, description = "Key id")),
    request_body = KeyChange,
    responses(
        (status = 200, body = ApiKeyView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody),
    ))]
async fn update_key(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<KeyChange>,
) -> Result<Json<ApiKeyView>, AppError> {
    Ok(Json(
        admin::api_keys::set_disabled(&state, &actor, &id, change.disabled).await?,
    ))
}

/// Revoke a key for good (takes effect on its next request).
#[utoipa::path(delete, path = "/admin/api-keys/{id}", operation_id = "adminRevokeApiKey", tag = "admin",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn revoke_key(
    State(state): State<AppState>,
    AdminActor(actor): AdminActor,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    admin::api_keys::revoke(&state, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
