//! Queries on `conversations`; every read and write is scoped to its owner.

use sqlx::Row;

use super::{Db, new_id, now};
use crate::{error::AppError, model::ConversationSummary};

const COLUMNS: &str = "id, title, status, model, system_prompt, created_at, updated_at";

/// A stored conversation (owner already checked).
#[derive(Clone, Debug)]
pub struct ConversationRow {
    pub summary: ConversationSummary,
    pub system_prompt: Option<String>,
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<ConversationRow, sqlx::Error> {
    Ok(ConversationRow {
        summary: ConversationSummary {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            status: row.try_get("status")?,
            model: row.try_get("model")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
        system_prompt: row.try_get("system_prompt")?,
    })
}

pub async fn create(
    db: &Db,
    user_id: &str,
    title: &str,
    model: &str,
) -> Result<ConversationRow, AppError> {
    let (id, at) = (new_id(), now());
    sqlx::query(
        "insert into conversations (id, user_id, title, status, model, created_at, updated_at) \
         values ($1, $2, $3, 'open', $4, $5, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(title)
    .bind(model)
    .bind(&at)
    .execute(&db.pool)
    .await?;
    get(db, user_id, &id).await?.ok_or(AppError::Internal)
}

/// The caller's conversation, or `None` when it is missing, deleted or someone else's.
pub async fn get(db: &Db, user_id: &str, id: &str) -> Result<Option<ConversationRow>, AppError> {
    let sql = format!(
        "select {COLUMNS} from conversations where id = $1 and user_id = $2 and deleted_at is null"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The caller's conversations, most recent activity first.
pub async fn list_for_user(
    db: &Db,
    user_id: &str,
    limit: i64,
) -> Result<Vec<ConversationSummary>, AppError> {
    let sql = format!(
        "select {COLUMNS} from conversations where user_id = $1 and deleted_at is null \
         order by updated_at desc, id desc limit $2"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| from_row(r).map(|c| c.summary))
        .collect::<Result<_, _>>()?)
}

/// Marks activity so the conversation sorts first.
pub async fn touch(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("update conversations set updated_at = $1 where id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Renames and/or opens/closes the caller's conversation; `false` when it is not theirs.
pub async fn update(
    db: &Db,
    user_id: &str,
    id: &str,
    title: Option<&str>,
    status: Option<&str>,
) -> Result<bool, AppError> {
    let done = sqlx::query(
        "update conversations set title = coalesce($1, title), status = coalesce($2, status), \
         updated_at = $3 where id = $4 and user_id = $5 and deleted_at is null",
    )
    .bind(title)
    .bind(status)
    .bind(now())
    .bind(id)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A short single-line title from the first message.
pub fn title_from_message(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Nueva conversación");
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title = title.trim_end().to_string();
        title.push('…');
    }
    title
}

#[cfg(test)]
mod tests {
    use super::title_from_message;

    #[test]
    fn title_is_first_non_empty_line_cut_to_60_chars() {
        assert_eq!(title_from_message("\n  Hola mundo \nmás"), "Hola mundo");
        let long = "é".repeat(100);
        let t = title_from_message(&long);
        assert_eq!(t.chars().count(), 61);
        assert!(t.ends_with('…'));
        assert_eq!(title_from_message("   "), "Nueva conversación");
    }
}
