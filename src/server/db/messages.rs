//! Queries on `messages`. Callers check conversation ownership first.

use sqlx::Row;

use super::{Backend, Db, no_flush_wait, now};
use crate::{
    error::AppError,
    model::{MessageRole, MessageStatus, MessageView},
    stream_events::Usage,
};

fn from_row(row: &sqlx::any::AnyRow) -> Result<MessageView, sqlx::Error> {
    let role: String = row.try_get("role")?;
    let status: String = row.try_get("status")?;
    Ok(MessageView {
        id: row.try_get("id")?,
        role: MessageRole::parse(&role).unwrap_or(MessageRole::User),
        content: row.try_get("content")?,
        status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Failed),
        created_at: row.try_get("created_at")?,
        meta: parse_meta(&row.try_get::<String, _>("meta")?),
    })
}

/// Stored metadata; an empty object reads as none.
fn parse_meta(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .filter(|v| v.as_object().is_none_or(|o| !o.is_empty()))
}

/// Removes an answer that never started (Ollama could not be asked).
pub async fn delete_streaming(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("delete from messages where id = $1 and status = 'streaming'")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Whether an answer of the conversation is still being generated (by any instance).
pub async fn streaming_in(db: &Db, conversation_id: &str) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "select cast(count(*) as bigint) from messages where conversation_id = $1 and status = 'streaming'",
    )
    .bind(conversation_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Saves the text so far of many streaming messages (id -> text): one statement per 500,
/// so that the rows are locked only while it runs (an answer's final write waits for nothing
/// longer) and it is one round trip.
pub async fn checkpoint_many(
    db: &Db,
    texts: &std::collections::HashMap<String, String>,
) -> Result<(), AppError> {
    const PER_STATEMENT: usize = 500;
    let at = now();
    let texts: Vec<(&String, &String)> = texts.iter().collect();
    for chunk in texts.chunks(PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        // `values` names its columns column1, column2 on both databases. A checkpoint is only
        // a copy of an answer in progress: with quick commits it does not wait for the disk.
        let (with, from) = if db.quick_commits() {
            (concat!("with ", no_flush_wait!(), " "), ", no_flush_wait")
        } else {
            ("", "")
        };
        let sql = format!(
            "{with}update messages set content = v.column2, updated_at = $1 \
             from (values {}) as v{from} \
             where messages.id = v.column1 and messages.status = 'streaming'",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).persistent(false).bind(&at);
        for (id, content) in chunk {
            query = query.bind(id.as_str()).bind(content.as_str());
        }
        query.execute(&db.pool).await?;
    }
    Ok(())
}

/// How an answer ended, as stored.
pub struct Ended<'a> {
    pub conversation_id: &'a str,
    pub message_id: &'a str,
    pub content: &'a str,
    pub status: MessageStatus,
    /// Metadata (JSON): the model, and Ollama's counts or why it ended.
    pub meta: &'a serde_json::Value,
    pub usage: &'a Usage,
    /// When its client was told, not when this write lands.
    pub at: &'a str,
}

/// Stores an answer as it ended, and marks its conversation active at that time (the lists
/// order by it), both or neither: one write per answer instead of two. On PostgreSQL one
/// statement (a data-modifying `with`), so one round trip with its commit.
pub async fn finish(db: &Db, ended: &Ended<'_>) -> Result<(), AppError> {
    match db.backend {
        Backend::Postgres => {
            let quick = db.quick_commits();
            finish_on_postgres(&mut *db.pool.acquire().await?, ended, quick).await
        }
        Backend::Sqlite => {
            let mut tx = db.pool.begin().await?;
            ended_answer(ANSWER, ended).execute(&mut *tx).await?;
            super::conversations::touch(&mut *tx, ended.conversation_id, ended.at).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// [`finish`] on PostgreSQL, on a given connection (one that holds the answer's end, see
/// `cluster::endings`); `quick`: its commit does not wait for the log's flush
/// ([`Db::quick_commits`]).
pub async fn finish_on_postgres(
    connection: &mut sqlx::AnyConnection,
    ended: &Ended<'_>,
    quick: bool,
) -> Result<(), AppError> {
    let sql = if quick {
        QUICK_ANSWER_AND_CONVERSATION
    } else {
        ANSWER_AND_CONVERSATION
    };
    ended_answer(sql, ended)
        .bind(ended.conversation_id)
        .execute(connection)
        .await?;
    Ok(())
}

macro_rules! answer {
    ($from:expr) => {
        concat!(
            "update messages set content = $1, status = $2, meta = $3, prompt_tokens = $4, \
             completion_tokens = $5, generation_ms = $6, updated_at = $7 ",
            $from,
            "where id = $8"
        )
    };
}

/// The answer's row as it ended: arguments `$1`..`$8` of [`ended_answer`].
const ANSWER: &str = answer!("");
/// The same and its conversation's activity time (`$9`: its id), in one statement.
const ANSWER_AND_CONVERSATION: &str = concat!(
    "with answer as (",
    answer!(""),
    ") update conversations set updated_at = $7 where id = $9 and updated_at < $7"
);
/// [`ANSWER_AND_CONVERSATION`] with a commit that does not wait for the log's flush. The
/// answer's update reads [`no_flush_wait!`], so the setting is made whenever the answer is
/// written, whether or not the conversation's time moves.
const QUICK_ANSWER_AND_CONVERSATION: &str = concat!(
    "with ",
    no_flush_wait!(),
    ", answer as (",
    answer!("from no_flush_wait "),
    ") update conversations set updated_at = $7 where id = $9 and updated_at < $7"
);

fn ended_answer<'q>(
    sql: &'q str,
    ended: &'q Ended<'q>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(ended.content)
        .bind(ended.status.as_str())
        .bind(ended.meta.to_string())
        .bind(ended.usage.prompt_tokens as i64)
        .bind(ended.usage.completion_tokens as i64)
        .bind(ended.usage.total_duration_ms.round() as i64)
        .bind(ended.at)
        .bind(ended.message_id)
}

/// The latest `limit` messages of a conversation, oldest first.
pub async fn latest(
    db: &Db,
    conversation_id: &str,
    limit: i64,
) -> Result<Vec<MessageView>, AppError> {
    Ok(page(db, conversation_id, None, limit)
        .await?
        .map(|(messages, _)| messages)
        .unwrap_or_default())
}

/// Up to `limit` messages just before the message `before` (or the latest ones), oldest
/// first, and whether older ones remain. `None` when `before` is not in this conversation.
pub async fn page(
    db: &Db,
    conversation_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Option<(Vec<MessageView>, bool)>, AppError> {
    let boundary = match before {
        None => None,
        Some(id) => {
            let row = sqlx::query(
                "select created_at from messages where id = $1 and conversation_id = $2",
            )
            .bind(id)
            .bind(conversation_id)
            .fetch_optional(&db.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Some((row.try_get::<String, _>("created_at")?, id))
        }
    };
    // Two statements rather than one with "$2 is null or ...": a row-value bound is an index
    // range on (conversation_id, created_at, id) in both databases, where the "or" made
    // PostgreSQL's generic plan walk and filter every newer message of the conversation.
    let rows = match &boundary {
        Some((created_at, id)) => {
            sqlx::query(
                "select id, role, content, status, meta, created_at from messages \
                 where conversation_id = $1 and (created_at, id) < ($2, $3) \
                 order by created_at desc, id desc limit $4",
            )
            .bind(conversation_id)
            .bind(created_at.as_str())
            .bind(*id)
            .bind(limit + 1)
            .fetch_all(&db.pool)
            .await?
        }
        None => {
            sqlx::query(
                "select id, role, content, status, meta, created_at from messages \
                 where conversation_id = $1 order by created_at desc, id desc limit $2",
            )
            .bind(conversation_id)
            .bind(limit + 1)
            .fetch_all(&db.pool)
            .await?
        }
    };
    let mut messages = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let more = messages.len() as i64 > limit;
    messages.truncate(limit as usize);
    messages.reverse();
    Ok(Some((messages, more)))
}

/// Marks answers left `streaming` by a crash as `interrupted`, keeping their last checkpoint.
pub async fn recover_interrupted(db: &Db) -> Result<u64, AppError> {
    let done = sqlx::query(
        "update messages set status = 'interrupted', \
         meta = '{\"interrupted_by\":\"server_restart\"}', updated_at = $1 \
         where status = 'streaming'",
    )
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// The instances that answers still `streaming` belong to (`None`: not recorded).
pub async fn streaming_instances(db: &Db) -> Result<Vec<Option<String>>, AppError> {
    Ok(
        sqlx::query_scalar("select distinct instance_id from messages where status = 'streaming'")
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Like [`recover_interrupted`], for the answers of one instance that is gone (`None`: those
/// whose instance was not recorded).
pub async fn recover_interrupted_of(db: &Db, instance_id: Option<&str>) -> Result<u64, AppError> {
    let done = sqlx::query(
        "update messages set status = 'interrupted', \
         meta = '{\"interrupted_by\":\"server_restart\"}', updated_at = $1 \
         where status = 'streaming' and coalesce(instance_id, '') = $2",
    )
    .bind(now())
    .bind(instance_id.unwrap_or(""))
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// The answers an instance has `streaming`: (message id, conversation id).
pub async fn streaming_of(db: &Db, instance_id: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(sqlx::query_as(
        "select id, conversation_id from messages where status = 'streaming' and instance_id = $1",
    )
    .bind(instance_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Marks the given answers `interrupted`, with why, where they are still `streaming` (an end
/// written meanwhile stays as written, and one written later overwrites this).
pub async fn mark_interrupted(db: &Db, ids: &[String], reason: &str) -> Result<u64, AppError> {
    let meta = serde_json::json!({ "interrupted_by": reason }).to_string();
    let at = now();
    let mut marked = 0;
    for id in ids {
        let done = sqlx::query(
            "update messages set status = 'interrupted', meta = $1, updated_at = $2 \
             where id = $3 and status = 'streaming'",
        )
        .bind(&meta)
        .bind(&at)
        .bind(id)
        .execute(&db.pool)
        .await?;
        marked += done.rows_affected();
    }
    Ok(marked)
}

/// The stored metadata of one message (tests and admin views).
pub async fn meta(db: &Db, id: &str) -> Result<Option<serde_json::Value>, AppError> {
    let row = sqlx::query("select meta from messages where id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.try_get("meta")?;
    Ok(Some(
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// Every message of a conversation, oldest first (admins' read-only view).
pub async fn all(db: &Db, conversation_id: &str) -> Result<Vec<MessageView>, AppError> {
    let rows = sqlx::query(
        "select id, role, content, status, meta, created_at from messages \
         where conversation_id = $1 order by created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
}
