//! Queries on `conversations`; every read and write is scoped to its owner.

use sqlx::Row;

use super::{Backend, Cursor, Db, new_id, now};
use crate::{error::AppError, model::ConversationSummary};

const COLUMNS: &str = "id, title, status, model, system_prompt, created_at, updated_at";

/// A stored conversation (owner already checked).
#[derive(Clone, Debug)]
pub struct ConversationRow {
    pub summary: ConversationSummary,
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
            system_prompt: row.try_get("system_prompt")?,
        },
    })
}

/// A new open conversation; an empty title is filled from its first message.
pub async fn create(
    db: &Db,
    user_id: &str,
    title: &str,
    model: &str,
    system_prompt: Option<&str>,
) -> Result<ConversationRow, AppError> {
    let (id, at) = (new_id(), now());
    sqlx::query(
        "insert into conversations \
         (id, user_id, title, status, model, system_prompt, created_at, updated_at) \
         values ($1, $2, $3, 'open', $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(title)
    .bind(model)
    .bind(system_prompt)
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

/// Which of the caller's conversations to list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// `open` or `closed`.
    pub status: Option<String>,
    /// Text the title contains (case-insensitive).
    pub text: Option<String>,
}

/// One page of the caller's conversations, most recent activity first, and the cursor of the
/// next page. Keyset pagination: conversations created meanwhile never shift a page.
pub async fn list_page(
    db: &Db,
    user_id: &str,
    filter: &ListFilter,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<ConversationSummary>, Option<Cursor>), AppError> {
    let sql = format!(
        "select {COLUMNS} from conversations where user_id = $1 and deleted_at is null \
         and ($2 is null or status = $2) \
         and ($3 is null or lower(title) like $3 escape '\\') \
         and ($4 is null or updated_at < $4 or (updated_at = $4 and id < $5)) \
         order by updated_at desc, id desc limit $6"
    );
    let pattern = filter
        .text
        .as_deref()
        .map(|t| format!("%{}%", escape_like(&t.to_lowercase())));
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(filter.status.as_deref())
        .bind(pattern)
        .bind(after.map(|c| c.key.as_str()))
        .bind(after.map(|c| c.id.as_str()))
        .bind(limit + 1)
        .fetch_all(&db.pool)
        .await?;
    let mut items = rows
        .iter()
        .map(|r| from_row(r).map(|c| c.summary))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| Cursor::new(&c.updated_at, &c.id))
    } else {
        None
    };
    Ok((items, next))
}

/// `%`, `_` and `\` match themselves.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Marks a conversation active at `at` (never moving its activity time back): the lists
/// order by it.
pub async fn touch(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
    at: &str,
) -> Result<(), AppError> {
    sqlx::query("update conversations set updated_at = $1 where id = $2 and updated_at < $1")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A change to a conversation; `None` fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct Change<'a> {
    pub title: Option<&'a str>,
    pub status: Option<&'a str>,
    pub model: Option<&'a str>,
    /// `Some(None)` goes back to the default system prompt.
    pub system_prompt: Option<Option<&'a str>>,
}

/// Changes the caller's conversation; `false` when it is not theirs (or deleted).
pub async fn update(
    db: &Db,
    user_id: &str,
    id: &str,
    change: &Change<'_>,
) -> Result<bool, AppError> {
    let done = sqlx::query(
        "update conversations set title = coalesce($1, title), status = coalesce($2, status), \
         model = coalesce($3, model), \
         system_prompt = case when $4 = 1 then $5 else system_prompt end, \
         updated_at = $6 where id = $7 and user_id = $8 and deleted_at is null",
    )
    .bind(change.title)
    .bind(change.status)
    .bind(change.model)
    .bind(i64::from(change.system_prompt.is_some()))
    .bind(change.system_prompt.flatten())
    .bind(now())
    .bind(id)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the caller's conversation (softly: admins still see it, marked deleted).
pub async fn soft_delete(db: &Db, user_id: &str, id: &str) -> Result<bool, AppError> {
    let done = sqlx::query(
        "update conversations set deleted_at = $1 \
         where id = $2 and user_id = $3 and deleted_at is null",
    )
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
    use super::{escape_like, title_from_message};

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

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

/// The conversations of the messages whose text is like the pattern `like` (a parameter, a
/// `%text%` that is lowercased and escaped). On PostgreSQL the trigram index covers only the
/// messages no longer being written (`migrations/postgres/20261127120000_search_index_settled.sql`):
/// those are found with it, and the answers in progress, a few rows, by their status. SQLite
/// reads every message either way, and faster in one pass.
pub fn messages_matching(db: &Db, like: &str) -> String {
    let content = db.lower_ascii("m.content");
    let matching = format!("{content} like {like} escape '\\'");
    match db.backend {
        Backend::Sqlite => format!("select m.conversation_id from messages m where {matching}"),
        Backend::Postgres => format!(
            "select m.conversation_id from messages m where m.status <> 'streaming' and {matching} \
             union all \
             select m.conversation_id from messages m where m.status = 'streaming' and {matching}"
        ),
    }
}

/// Filters of the admins' conversations table (already checked).
#[derive(Default)]
pub struct AdminQuery<'a> {
    pub user_id: Option<&'a str>,
    /// `open`, `closed` or `deleted`.
    pub status: Option<&'a str>,
    /// Last activity bounds (RFC 3339), `[from, to)`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `%text%`, lowercased and escaped: in the title or any message.
    pub like: Option<String>,
}

const ADMIN_COLUMNS: &str = "c.id, c.user_id, u.email as owner_email, c.title, \
    case when c.deleted_at is not null then 'deleted' else c.status end as status, c.model, \
    c.system_prompt, c.created_at, c.updated_at, \
    (select count(*) from messages m where m.conversation_id = c.id) as messages";

fn admin_from_row(
    row: &sqlx::any::AnyRow,
) -> Result<crate::admin_model::AdminConversation, sqlx::Error> {
    Ok(crate::admin_model::AdminConversation {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        owner_email: row.try_get("owner_email")?,
        title: row.try_get("title")?,
        status: row.try_get("status")?,
        model: row.try_get("model")?,
        messages: row.try_get("messages")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Conversations of every user (deleted ones included), most recent activity first.
pub async fn admin_page(
    db: &Db,
    query: &AdminQuery<'_>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<crate::admin_model::AdminConversation>, Option<Cursor>), AppError> {
    // Only the filters given become conditions, so each combination gets its own plan: an
    // always-present `($n is null or …)` hides from PostgreSQL's generic plan which ones
    // apply, and the text search could not use its trigram index.
    let mut binds: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut param = |value: &str| {
        binds.push(value.to_string());
        format!("${}", binds.len())
    };
    if let Some(user_id) = query.user_id {
        conditions.push(format!("c.user_id = {}", param(user_id)));
    }
    if let Some(status) = query.status {
        conditions.push(format!(
            "(case when c.deleted_at is not null then 'deleted' else c.status end) = {}",
            param(status)
        ));
    }
    if let Some(from) = query.from.as_deref() {
        conditions.push(format!("c.updated_at >= {}", param(from)));
    }
    if let Some(to) = query.to.as_deref() {
        conditions.push(format!("c.updated_at < {}", param(to)));
    }
    if let Some(like) = query.like.as_deref() {
        // The matching messages are found once (with the trigram index on PostgreSQL), not
        // once per conversation.
        let like = param(like);
        conditions.push(format!(
            "({title} like {like} escape '\\' or c.id in ({messages}))",
            title = db.lower_ascii("c.title"),
            messages = messages_matching(db, &like),
        ));
    }
    if let Some(after) = after {
        let (key, id) = (param(&after.key), param(&after.id));
        conditions.push(format!(
            "(c.updated_at < {key} or (c.updated_at = {key} and c.id < {id}))"
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    };
    let sql = format!(
        "select {ADMIN_COLUMNS} from conversations c join users u on u.id = c.user_id {filter} \
         order by c.updated_at desc, c.id desc limit ${}",
        binds.len() + 1
    );
    let mut statement = sqlx::query(&sql);
    for value in binds {
        statement = statement.bind(value);
    }
    let rows = statement.bind(limit + 1).fetch_all(&db.pool).await?;
    let mut items = rows
        .iter()
        .map(admin_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| Cursor::new(&c.updated_at, &c.id))
    } else {
        None
    };
    Ok((items, next))
}

/// Any conversation, deleted or not, with its system prompt (admins).
pub async fn admin_get(
    db: &Db,
    id: &str,
) -> Result<Option<(crate::admin_model::AdminConversation, Option<String>)>, AppError> {
    let sql = format!(
        "select {ADMIN_COLUMNS} from conversations c join users u on u.id = c.user_id \
         where c.id = $1"
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((admin_from_row(&row)?, row.try_get("system_prompt")?)))
}
