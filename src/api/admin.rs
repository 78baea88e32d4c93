//! Server functions of the admin views (the same services as `/api/v1/admin`).

use leptos::{prelude::*, server_fn::codec::Json};

use crate::{
    admin_model::{
        AdminConversationDetail, AdminConversationPage, AdminUser, ApiKeyView, AuditFilter,
        AuditPage, ConversationFilter, CreatedApiKey, CreatedUser, NewApiKey, UsageReport,
        UserFilter, UserPage,
    },
    error::AppError,
    model::Role,
};

#[server(endpoint = "admin_users", input = Json)]
pub async fn admin_users(filter: UserFilter) -> Result<UserPage, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::users::list(&cx.state, &filter).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_update_user", input = Json)]
pub async fn admin_update_user(
    id: String,
    active: Option<bool>,
    role: Option<Role>,
) -> Result<AdminUser, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::users::update(&cx.state, &actor, &id, active, role).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_create_user", input = Json)]
pub async fn admin_create_user(
    email: String,
    role: Role,
    password: Option<String>,
) -> Result<CreatedUser, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::users::create(&cx.state, &actor, &email, role, password.as_deref()).await
    }
    .await;
    cx.finish(result)
}

/// Returns the generated password (shown once).
#[server(endpoint = "admin_reset_password", input = Json)]
pub async fn admin_reset_password(id: String) -> Result<Option<String>, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::users::reset_password(&cx.state, &actor, &id, None).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_conversations", input = Json)]
pub async fn admin_conversations(
    filter: ConversationFilter,
) -> Result<AdminConversationPage, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::conversations::list(&cx.state, &filter).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_conversation", input = Json)]
pub async fn admin_conversation(id: String) -> Result<AdminConversationDetail, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::conversations::detail(&cx.state, &id).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_usage", input = Json)]
pub async fn admin_usage(
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
) -> Result<UsageReport, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::usage::report(
            &cx.state,
            from.as_deref(),
            to.as_deref(),
            group_by.as_deref(),
        )
        .await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_audit", input = Json)]
pub async fn admin_audit(filter: AuditFilter) -> Result<AuditPage, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::audit::list(&cx.state, &filter).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_api_keys", input = Json)]
pub async fn admin_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        admin::api_keys::list(&cx.state).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_create_api_key", input = Json)]
pub async fn admin_create_api_key(new: NewApiKey) -> Result<CreatedApiKey, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::api_keys::create(&cx.state, &actor, &new).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_set_api_key_disabled", input = Json)]
pub async fn admin_set_api_key_disabled(
    id: String,
    disabled: bool,
) -> Result<ApiKeyView, AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::api_keys::set_disabled(&cx.state, &actor, &id, disabled).await
    }
    .await;
    cx.finish(result)
}

#[server(endpoint = "admin_revoke_api_key", input = Json)]
pub async fn admin_revoke_api_key(id: String) -> Result<(), AppError> {
    use crate::server::{admin, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    let result = async {
        let actor = cx.admin().await?;
        admin::api_keys::revoke(&cx.state, &actor, &id).await
    }
    .await;
    cx.finish(result)
}

/// The Ollama backends: state, answers in flight, line, models.
#[server(endpoint = "admin_backends", input = Json)]
pub async fn admin_backends() -> Result<Vec<crate::model::BackendHealth>, AppError> {
    use crate::server::server_fn_context::ServerFnContext;
    let cx = ServerFnContext::get()?;
    let result = async {
        cx.admin().await?;
        cx.state.backends.check_unknown().await;
        Ok(cx.state.backends.reports())
    }
    .await;
    cx.finish(result)
}
