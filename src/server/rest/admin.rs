//! `/api/v1/admin/*`: for active admins only (403 for everyone else).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::json::ApiJson;
use crate::{
    error::AppError,
    model::Role,
    server::{
        auth::AdminUser,
        db::users::{self, UserRow},
        errors::ErrorBody,
        state::AppState,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user))
}

#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
struct UserPage {
    items: Vec<AdminUserView>,
}

/// Every account (admins only).
#[utoipa::path(get, path = "/admin/users", operation_id = "adminListUsers", tag = "admin",
    responses(
        (status = 200, body = UserPage),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an active admin", body = ErrorBody),
    ))]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    active: Option<bool>,
    role: Option<Role>,
}

/// Activate/deactivate an account or change its role (admins only).
///
/// An admin cannot deactivate or demote themself, and the last active admin always stays.
#[utoipa::path(patch, path = "/admin/users/{id}", operation_id = "adminUpdateUser", tag = "admin",
    params(("id" = String, Path, description = "User id")),
    request_body = UserChange,
    responses(
        (status = 200, body = AdminUserView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Would lock out the caller or the last admin", body = ErrorBody),
    ))]
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
