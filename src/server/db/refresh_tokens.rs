//! Queries on `refresh_tokens`.

use sqlx::Row;

use super::{Db, new_id, now};
use crate::error::AppError;

/// A stored refresh token.
#[derive(Clone, Debug)]
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked: bool,
}

pub async fn insert(
    db: &Db,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    expires_at: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(family_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn find_by_hash(db: &Db, token_hash: &str) -> Result<Option<RefreshRow>, AppError> {
    let row = sqlx::query(
        "select id, user_id, family_id, expires_at, used_at, revoked_at from refresh_tokens where token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(RefreshRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        family_id: row.try_get("family_id")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked: row.try_get::<Option<String>, _>("revoked_at")?.is_some(),
    }))
}

/// Marks a token used; `false` if it already was (a concurrent or repeated use).
pub async fn mark_used(db: &Db, id: &str) -> Result<bool, AppError> {
    let done = sqlx::query(
        "update refresh_tokens set used_at = $1 where id = $2 and used_at is null and revoked_at is null",
    )
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_family(db: &Db, family_id: &str) -> Result<(), AppError> {
    sqlx::query(
        "update refresh_tokens set revoked_at = $1 where family_id = $2 and revoked_at is null",
    )
    .bind(now())
    .bind(family_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn revoke_user(db: &Db, user_id: &str) -> Result<(), AppError> {
    sqlx::query(
        "update refresh_tokens set revoked_at = $1 where user_id = $2 and revoked_at is null",
    )
    .bind(now())
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
