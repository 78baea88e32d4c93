//! Queries on `api_keys` and `api_key_usage`.

use sqlx::Row;

use super::{Db, new_id, now};
use crate::{admin_model::ApiKeyView, error::AppError};

/// A stored key, as the authentication path needs it.
#[derive(Clone, Debug)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub allowed_models: Option<Vec<String>>,
    pub rate_limit_per_min: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    pub store_conversations: bool,
    pub expires_at: Option<String>,
    pub disabled: bool,
    pub revoked_at: Option<String>,
}

fn models(text: Option<String>) -> Option<Vec<String>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// What to store for a new key.
pub struct NewKey<'a> {
    pub name: &'a str,
    pub owner_id: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub allowed_models: Option<&'a [String]>,
    pub rate_limit_per_min: Option<i64>,
    pub monthly_token_budget: Option<i64>,
    pub store_conversations: bool,
    pub expires_at: Option<&'a str>,
    pub created_by: &'a str,
}

pub async fn create(db: &Db, key: NewKey<'_>) -> Result<String, AppError> {
    let id = new_id();
    sqlx::query(
        "insert into api_keys (id, name, owner_id, prefix, key_hash, allowed_models, \
         rate_limit_per_min, monthly_token_budget, store_conversations, expires_at, disabled, \
         created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)",
    )
    .bind(&id)
    .bind(key.name)
    .bind(key.owner_id)
    .bind(key.prefix)
    .bind(key.key_hash)
    .bind(key.allowed_models.map(|m| serde_json::json!(m).to_string()))
    .bind(key.rate_limit_per_min)
    .bind(key.monthly_token_budget)
    .bind(i64::from(key.store_conversations))
    .bind(key.expires_at)
    .bind(key.created_by)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(id)
}

const KEY_COLUMNS: &str = "id, name, owner_id, allowed_models, rate_limit_per_min, \
    monthly_token_budget, store_conversations, expires_at, disabled, revoked_at";

fn key_from_row(row: &sqlx::any::AnyRow) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_id: row.try_get("owner_id")?,
        allowed_models: models(row.try_get("allowed_models")?),
        rate_limit_per_min: row.try_get("rate_limit_per_min")?,
        monthly_token_budget: row.try_get("monthly_token_budget")?,
        store_conversations: row.try_get::<i64, _>("store_conversations")? != 0,
        expires_at: row.try_get("expires_at")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub async fn find_by_hash(db: &Db, key_hash: &str) -> Result<Option<KeyRow>, AppError> {
    let sql = format!("select {KEY_COLUMNS} from api_keys where key_hash = $1");
    let row = sqlx::query(&sql)
        .bind(key_hash)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(key_from_row).transpose()?)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<KeyRow>, AppError> {
    let sql = format!("select {KEY_COLUMNS} from api_keys where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    Ok(row.as_ref().map(key_from_row).transpose()?)
}

pub async fn set_disabled(db: &Db, id: &str, disabled: bool) -> Result<(), AppError> {
    sqlx::query("update api_keys set disabled = $1 where id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn revoke(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("update api_keys set revoked_at = $1 where id = $2 and revoked_at is null")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn touch_used(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("update api_keys set last_used_at = $1 where id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records one request made with a key.
pub async fn record_usage(
    db: &Db,
    key_id: &str,
    model: &str,
    prompt_tokens: i64,
    completion_tokens: i64,
    status: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "insert into api_key_usage (id, key_id, model, prompt_tokens, completion_tokens, status, \
         created_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(key_id)
    .bind(model)
    .bind(prompt_tokens)
    .bind(completion_tokens)
    .bind(status)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Tokens used by a key since `since`.
pub async fn tokens_since(db: &Db, key_id: &str, since: &str) -> Result<i64, AppError> {
    let row = sqlx::query(
        "select cast(coalesce(sum(prompt_tokens + completion_tokens), 0) as bigint) as n \
         from api_key_usage where key_id = $1 and created_at >= $2",
    )
    .bind(key_id)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get("n")?)
}

/// Every key (newest first) with its owner and its usage since `month_start`.
pub async fn list(
    db: &Db,
    month_start: &str,
    id: Option<&str>,
) -> Result<Vec<ApiKeyView>, AppError> {
    let rows = sqlx::query(
        "select k.id, k.name, k.owner_id, u.email as owner_email, k.prefix, k.allowed_models, \
         k.rate_limit_per_min, k.monthly_token_budget, k.store_conversations, k.expires_at, \
         k.disabled, k.revoked_at, k.created_at, k.last_used_at, \
         (select count(*) from api_key_usage g where g.key_id = k.id and g.created_at >= $1) as requests, \
         (select cast(coalesce(sum(g.prompt_tokens), 0) as bigint) from api_key_usage g \
            where g.key_id = k.id and g.created_at >= $1) as prompt_tokens, \
         (select cast(coalesce(sum(g.completion_tokens), 0) as bigint) from api_key_usage g \
            where g.key_id = k.id and g.created_at >= $1) as completion_tokens \
         from api_keys k join users u on u.id = k.owner_id \
         where ($2 is null or k.id = $2) order by k.created_at desc, k.id desc",
    )
    .bind(month_start)
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiKeyView {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                owner_id: r.try_get("owner_id")?,
                owner_email: r.try_get("owner_email")?,
                prefix: r.try_get("prefix")?,
                allowed_models: models(r.try_get("allowed_models")?),
                rate_limit_per_min: r.try_get("rate_limit_per_min")?,
                monthly_token_budget: r.try_get("monthly_token_budget")?,
                store_conversations: r.try_get::<i64, _>("store_conversations")? != 0,
                expires_at: r.try_get("expires_at")?,
                disabled: r.try_get::<i64, _>("disabled")? != 0,
                revoked_at: r.try_get("revoked_at")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                requests_this_month: r.try_get("requests")?,
                prompt_tokens_this_month: r.try_get("prompt_tokens")?,
                completion_tokens_this_month: r.try_get("completion_tokens")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(Into::into)
}
