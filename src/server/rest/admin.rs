//! `/api/v1/admin/*`: for active admins only (403 for everyone else).

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, patch},
};
use serde::{Deserialize, Serialize};

use super::json::ApiJson;
use crate::{
    error::AppError,
    model::Role,
    server::{
        auth::AdminUser,
        db::users::{self, UserRow},
        state::AppState,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users))
        .route("/admin/users/{id}", patch(update_user))
}

#[derive(Serialize)]
struct AdminUserView {
    id: String,
    email: String,
    role: Role,
    active: bool,
    created_at: String,
    last_login_at: Option<String>,
}

impl From<UserRow> for AdminUserView {
    fn from(u: UserRow) -> Self {
        AdminUserView {
            id: u.id,
            email: u.email,
            role: u.role,
            active: u.active,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

#[derive(Serialize)]
struct UserPage {
    items: Vec<AdminUserView>,
}

async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Json<UserPage>, AppError> {
    let items = users::list(&state.db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(UserPage { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    active: Option<bool>,
    role: Option<Role>,
}

/// Activates/deactivates an account or changes its role. An admin cannot lock themself out,
/// and the last active admin always stays.
async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<Json<AdminUserView>, AppError> {
    let target = users::find_by_id(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("user".into()))?;
    let loses_admin = target.role == Role::Admin
        && target.active
        && (change.active == Some(false) || change.role == Some(Role::User));
    if loses_admin && target.id == admin.id {
        return Err(AppError::Conflict(
            "you cannot deactivate or demote yourself".into(),
        ));
    }
    if loses_admin && users::count_active_admins(&state.db).await? <= 1 {
        return Err(AppError::Conflict(
            "the last active admin cannot be deactivated or demoted".into(),
        ));
    }
    users::update_access(&state.db, &id, change.active, change.role).await?;
    let updated = users::find_by_id(&state.db, &id)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(Json(updated.into()))
}
