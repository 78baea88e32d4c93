//! Usage sums over messages, by day or by user, from the token and time columns stored with
//! every answer.

use sqlx::Row;

use super::Db;
use crate::{admin_model::UsageRow, error::AppError};

/// How to group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    User,
}

const SUMS: &str = "count(distinct c.user_id) as active_users, \
     count(distinct m.conversation_id) as conversations, count(*) as messages, \
     cast(coalesce(sum(m.prompt_tokens), 0) as bigint) as prompt_tokens, \
     cast(coalesce(sum(m.completion_tokens), 0) as bigint) as completion_tokens, \
     cast(coalesce(sum(m.generation_ms), 0) as bigint) as generation_ms, \
     cast(coalesce(sum(case when m.status = 'failed' then 1 else 0 end), 0) as bigint) as failed, \
     cast(coalesce(sum(case when m.status = 'interrupted' then 1 else 0 end), 0) as bigint) as interrupted";

fn from_row(row: &sqlx::any::AnyRow) -> Result<UsageRow, sqlx::Error> {
    Ok(UsageRow {
        key: row.try_get("key")?,
        label: row.try_get("label")?,
        active_users: row.try_get("active_users")?,
        conversations: row.try_get("conversations")?,
        messages: row.try_get("messages")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        generation_ms: row.try_get("generation_ms")?,
        failed: row.try_get("failed")?,
        interrupted: row.try_get("interrupted")?,
    })
}

/// Rows for messages created in `[from, to)` (RFC 3339 bounds), and the totals.
pub async fn report(
    db: &Db,
    from: &str,
    to: &str,
    group_by: GroupBy,
) -> Result<(Vec<UsageRow>, UsageRow), AppError> {
    let (key, label, join) = match group_by {
        GroupBy::Day => (
            "substr(m.created_at, 1, 10)",
            "substr(m.created_at, 1, 10)",
            "",
        ),
        GroupBy::User => ("c.user_id", "u.email", "join users u on u.id = c.user_id"),
    };
    let grouped = format!(
        "select {key} as key, {label} as label, {SUMS} from messages m \
         join conversations c on c.id = m.conversation_id {join} \
         where m.created_at >= $1 and m.created_at < $2 \
         group by {key}, {label} order by {key}"
    );
    let rows = sqlx::query(&grouped)
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await?;
    let rows = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let total = format!(
        "select 'total' as key, 'total' as label, {SUMS} from messages m \
         join conversations c on c.id = m.conversation_id \
         where m.created_at >= $1 and m.created_at < $2"
    );
    let totals = sqlx::query(&total)
        .bind(from)
        .bind(to)
        .fetch_one(&db.pool)
        .await?;
    Ok((rows, from_row(&totals)?))
}
