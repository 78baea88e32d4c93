//! Accounts: list, create, activate/deactivate, change role, reset password.

use serde_json::json;

use super::{Actor, Target, page_limit};
use crate::{
    admin_model::{AdminUser, CreatedUser, UserFilter, UserPage},
    error::AppError,
    model::Role,
    server::{
        auth::password,
        bootstrap::random_password,
        db::{
            Cursor,
            conversations::escape_like,
            users::{self, UserQuery, UserRow, UserSort},
        },
        state::AppState,
    },
};

pub async fn list(state: &AppState, filter: &UserFilter) -> Result<UserPage, AppError> {
    let limit = page_limit(filter.limit)?;
    let sort = UserSort::parse(filter.sort.as_deref())
        .ok_or_else(|| AppError::validation("sort", "must be created, email or last_login"))?;
    let like = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
    let month_start = super::month_start();
    let query = UserQuery {
        role: filter.role,
        active: filter.active,
        email_like: like.as_deref(),
        sort,
        month_start: &month_start,
        id: None,
    };
    let after = Cursor::param(filter.cursor.as_deref())?;
    // The conversation and token counts include every answer announced as ended.
    state.settling.all_settled().await;
    let (items, next) = users::admin_page(&state.db, &query, after.as_ref(), limit).await?;
    Ok(UserPage {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
}

/// One user as the table shows it.
pub async fn get(state: &AppState, id: &str) -> Result<AdminUser, AppError> {
    state.settling.all_settled().await;
    let month_start = super::month_start();
    let query = UserQuery {
        role: None,
        active: None,
        email_like: None,
        sort: UserSort::Created,
        month_start: &month_start,
        id: Some(id),
    };
    let (mut items, _) = users::admin_page(&state.db, &query, None, 1).await?;
    items.pop().ok_or_else(|| AppError::NotFound("user".into()))
}

fn access(user: &UserRow) -> serde_json::Value {
    json!({ "active": user.active, "role": user.role.as_str() })
}

/// Activates/deactivates an account and/or changes its role. An admin cannot lock themself
/// out, and the last active admin always stays.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: &str,
    active: Option<bool>,
    role: Option<Role>,
) -> Result<AdminUser, AppError> {
    let target = users::find_by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("user".into()))?;
    let loses_admin = target.role == Role::Admin
        && target.active
        && (active == Some(false) || role == Some(Role::User));
    if loses_admin && target.id == actor.user.id {
        return Err(AppError::Conflict(
            "you cannot deactivate or demote yourself".into(),
        ));
    }
    if loses_admin && users::count_active_admins(&state.db).await? <= 1 {
        return Err(AppError::Conflict(
            "the last active admin cannot be deactivated or demoted".into(),
        ));
    }
    users::update_access(&state.db, id, active, role).await?;
    let updated = users::find_by_id(&state.db, id)
        .await?
        .ok_or(AppError::Internal)?;
    let mut actions = Vec::new();
    if updated.active != target.active {
        actions.push(if updated.active {
            "user.activated"
        } else {
            "user.deactivated"
        });
    }
    if updated.role != target.role {
        actions.push("user.role_changed");
    }
    for action in actions {
        record(
            state,
            actor,
            action,
            &updated,
            Some(access(&target)),
            Some(access(&updated)),
        )
        .await?;
    }
    get(state, id).await
}

async fn record(
    state: &AppState,
    actor: &Actor,
    action: &str,
    target: &UserRow,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let target = Target {
        kind: "user",
        id: &target.id,
        label: &target.email,
    };
    actor.audit(state, action, target, before, after).await
}

fn check_email(email: &str) -> Result<&str, AppError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(char::is_whitespace);
    if !valid {
        return Err(AppError::validation("email", "is not an email address"));
    }
    Ok(email)
}

/// Creates an account; without a password one is generated and returned once.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    email: &str,
    role: Role,
    initial_password: Option<&str>,
) -> Result<CreatedUser, AppError> {
    let email = check_email(email)?;
    let given = initial_password.filter(|p| !p.is_empty());
    if let Some(p) = given {
        password::check_rule(p)?;
    }
    let generated = given.is_none().then(random_password);
    let secret = given.or(generated.as_deref()).unwrap_or_default();
    let hash = password::hash(secret, state.settings.auth.bcrypt_cost).await?;
    let row = users::create(&state.db, email, &hash, role).await?;
    record(state, actor, "user.created", &row, None, Some(access(&row))).await?;
    Ok(CreatedUser {
        user: get(state, &row.id).await?,
        generated_password: generated,
    })
}

/// Sets a new password (given, or generated and returned once) and ends every session.
pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    id: &str,
    new_password: Option<&str>,
) -> Result<Option<String>, AppError> {
    let target = users::find_by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("user".into()))?;
    let given = new_password.filter(|p| !p.is_empty());
    if let Some(p) = given {
        password::check_rule(p)?;
    }
    let generated = given.is_none().then(random_password);
    let secret = given.or(generated.as_deref()).unwrap_or_default();
    let hash = password::hash(secret, state.settings.auth.bcrypt_cost).await?;
    users::set_password(&state.db, id, &hash).await?;
    users::end_sessions(&state.db, id).await?;
    record(state, actor, "user.password_reset", &target, None, None).await?;
    Ok(generated)
}
