//! The rows a turn writes before its answer streams, in one transaction: the conversation (new,
//! or its activity time and first title), the question, and the answer's empty `streaming` row.
//!
//! One transaction instead of four statements: the turn runs it while Ollama is being called,
//! and either every row is there or none is. A turn that starts a conversation may also leave
//! its account's check to it: the rows are then written only if the account is still usable,
//! read in the same transaction, which saves the first token a separate read.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Backend, Db, stamp};
use crate::{error::AppError, model::ConversationSummary};

/// The conversation the turn belongs to.
pub enum TurnConversation<'a> {
    /// Started by this turn; `summary` was built by [`new_conversation`].
    New {
        user_id: &'a str,
        summary: &'a ConversationSummary,
        /// Set when the account has not been read yet: when its access token was issued (ms).
        /// The rows are then written only if the account exists, is active and has not ended
        /// its sessions since; otherwise nothing is written and the store is `Unauthorized`.
        token_issued_at: Option<i64>,
    },
    /// Already stored (owner checked): its activity time moves, and an untitled one is named.
    Existing { id: &'a str, title: &'a str },
}

impl TurnConversation<'_> {
    fn id(&self) -> &str {
        match self {
            TurnConversation::New { summary, .. } => &summary.id,
            TurnConversation::Existing { id, .. } => id,
        }
    }
}

/// What one turn stores.
pub struct TurnRows<'a> {
    pub conversation: TurnConversation<'a>,
    pub question_id: &'a str,
    pub question: &'a str,
    pub answer_id: &'a str,
    /// The instance generating the answer (several instances on PostgreSQL).
    pub instance_id: Option<&'a str>,
    /// When the turn was asked.
    pub at: DateTime<Utc>,
}

/// A conversation a turn starts, not yet stored.
pub fn new_conversation(
    id: String,
    title: String,
    model: String,
    system_prompt: Option<String>,
    at: DateTime<Utc>,
) -> ConversationSummary {
    ConversationSummary {
        id,
        title,
        status: "open".into(),
        model,
        system_prompt,
        created_at: stamp(at),
        updated_at: stamp(at),
    }
}

/// The question and the answer's empty row. Arguments `$1`..`$7`: question id, conversation
/// id, question, asked at, answer id, answered at, instance.
const MESSAGES: &str = "insert into messages \
     (id, conversation_id, role, content, status, meta, created_at, updated_at, instance_id) \
     values ($1, $2, 'user', $3, 'complete', '{}', $4, $4, null), \
            ($5, $2, 'assistant', '', 'streaming', '{}', $6, $6, $7)";

/// The condition under which an account not yet read may store a turn: arguments `$8` (its
/// id) and `$12` (when its token was issued, ms), as `Caller` checks it.
const ACCOUNT_USABLE: &str = "exists (select 1 from users \
     where id = $8 and active = 1 and sessions_valid_after <= $12)";

/// Writes the turn's rows, all or none.
pub async fn store(db: &Db, rows: &TurnRows<'_>) -> Result<(), AppError> {
    let asked = stamp(rows.at);
    // The answer sorts after its question even when both land in the same microsecond.
    let answered = stamp(rows.at + Duration::microseconds(1));
    match db.backend {
        Backend::Sqlite => store_on_sqlite(db, rows, &asked, &answered).await,
        Backend::Postgres => {
            let checks_account = matches!(
                rows.conversation,
                TurnConversation::New {
                    token_issued_at: Some(_),
                    ..
                }
            );
            let mut tx = db.pool.begin().await?;
            let conversation = match &rows.conversation {
                TurnConversation::New {
                    user_id,
                    summary,
                    token_issued_at,
                } => sqlx::query(
                    "insert into conversations \
                     (id, user_id, title, status, model, system_prompt, created_at, updated_at) \
                     select $1, $2, $3, 'open', $4, $5, $6, $6 where $7 is null or exists \
                     (select 1 from users where id = $2 and active = 1 \
                      and sessions_valid_after <= $7)",
                )
                .bind(&summary.id)
                .bind(*user_id)
                .bind(&summary.title)
                .bind(&summary.model)
                .bind(summary.system_prompt.as_deref())
                .bind(&asked)
                .bind(*token_issued_at),
                TurnConversation::Existing { id, title } => sqlx::query(
                    "update conversations set updated_at = $1, \
                     title = case when title = '' then $2 else title end where id = $3",
                )
                .bind(&asked)
                .bind(*title)
                .bind(*id),
            };
            let written = conversation.execute(&mut *tx).await?.rows_affected();
            if checks_account && written == 0 {
                // The account is not usable: nothing is written (the transaction is rolled
                // back when dropped).
                return Err(AppError::Unauthorized);
            }
            sqlx::query(MESSAGES)
                .bind(rows.question_id)
                .bind(rows.conversation.id())
                .bind(rows.question)
                .bind(&asked)
                .bind(rows.answer_id)
                .bind(&answered)
                .bind(rows.instance_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// SQLite: the same rows in one trip to the connection's thread instead of four (begin, two
/// statements, commit), which is most of what the first token would wait for. SQLite gives
/// `$n` the same argument in every statement of a text, so the statements share theirs; the
/// transaction is part of the text, and is rolled back here if a statement fails. An account
/// check guards each statement: in one write transaction they all see the same account.
async fn store_on_sqlite(
    db: &Db,
    rows: &TurnRows<'_>,
    asked: &str,
    answered: &str,
) -> Result<(), AppError> {
    let (sql, extra, issued_at) = match &rows.conversation {
        TurnConversation::New {
            user_id,
            summary,
            token_issued_at,
        } => {
            let extra = vec![
                Some(*user_id),
                Some(summary.title.as_str()),
                Some(summary.model.as_str()),
                summary.system_prompt.as_deref(),
            ];
            let conversation = "insert into conversations \
                 (id, user_id, title, status, model, system_prompt, created_at, updated_at) \
                 select $2, $8, $9, 'open', $10, $11, $4, $4";
            let sql = match token_issued_at {
                None => format!("begin; {conversation}; {MESSAGES}; commit;"),
                Some(_) => format!(
                    "begin; {conversation} where {ACCOUNT_USABLE}; \
                     insert into messages (id, conversation_id, role, content, status, meta, \
                     created_at, updated_at, instance_id) \
                     select $1, $2, 'user', $3, 'complete', '{{}}', $4, $4, null \
                     where {ACCOUNT_USABLE} \
                     union all select $5, $2, 'assistant', '', 'streaming', '{{}}', $6, $6, $7 \
                     where {ACCOUNT_USABLE}; select changes() as written; commit;"
                ),
            };
            (sql, extra, *token_issued_at)
        }
        TurnConversation::Existing { title, .. } => (
            format!(
                "begin; update conversations set updated_at = $4, \
                 title = case when title = '' then $8 else title end where id = $2; \
                 {MESSAGES}; commit;"
            ),
            vec![Some(*title)],
            None,
        ),
    };
    let mut query = sqlx::query(&sql)
        .bind(rows.question_id)
        .bind(rows.conversation.id())
        .bind(rows.question)
        .bind(asked)
        .bind(rows.answer_id)
        .bind(answered)
        .bind(rows.instance_id);
    for value in extra {
        query = query.bind(value);
    }
    if issued_at.is_some() {
        query = query.bind(issued_at);
    }
    let mut conn = db.pool.acquire().await?;
    // Every statement runs (`fetch_all`); a guarded text also reads how many messages its
    // last insert wrote (the driver's count of affected rows is not reset by `begin`).
    match query.fetch_all(&mut *conn).await {
        Ok(written) => {
            let refused = match written.first() {
                Some(row) => row.try_get::<i64, _>("written")? == 0,
                None => false,
            };
            if refused {
                return Err(AppError::Unauthorized);
            }
            Ok(())
        }
        Err(err) => {
            // A statement that failed left the transaction open on this connection.
            let _ = sqlx::query("rollback").execute(&mut *conn).await;
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_as_text_in_time_order() {
        let at = "2026-11-25T23:59:59.999999Z"
            .parse::<DateTime<Utc>>()
            .unwrap();
        let (asked, answered) = (stamp(at), stamp(at + Duration::microseconds(1)));
        assert_eq!(asked, "2026-11-25T23:59:59.999999Z");
        assert_eq!(answered, "2026-11-26T00:00:00.000000Z");
        assert!(asked < answered);
    }
}
