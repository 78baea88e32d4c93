//! The rows a turn writes before its answer streams, in one transaction: the conversation (new,
//! or its activity time and first title), the question, and the answer's empty `streaming` row.
//!
//! One transaction instead of four statements: the turn runs it while Ollama is being called,
//! and either every row is there or none is. A turn that starts a conversation may also leave
//! its account's check to it: the rows are then written only if the account is still usable,
//! read in the same transaction, which saves the first token a separate read. On SQLite the
//! turns that wait for the writer go together, one transaction for the group
//! ([`store_group`], used by `chat::turn_writer`).

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Backend, Db, no_flush_wait, stamp};
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
    match db.backend {
        Backend::Sqlite => store_on_sqlite(db, std::slice::from_ref(rows))
            .await?
            .pop()
            .unwrap_or(Err(AppError::Internal)),
        Backend::Postgres => store_on_postgres(db, rows).await,
    }
}

/// PostgreSQL: the turn's rows in one statement, so one round trip with its commit: the
/// conversation's row is written (or touched) in a data-modifying `with`, and the messages are
/// inserted only for the conversation it returns. A statement is all or nothing by itself.
/// With quick commits ([`no_flush_wait!`]) the commit does not wait for the log's flush: the
/// first token waits for these rows, and one stream's first token on PostgreSQL gains about
/// 0.4 ms (docs/BENCHMARKS.md, "2026-12-04, 12:45-14:00 UTC").
/// Arguments `$1`..`$7` as in [`MESSAGES`], then the conversation's (`$8`..`$11` for a new one,
/// `$8` the title for an existing one), then `$12`, when the token was issued, for a new one.
async fn store_on_postgres(db: &Db, rows: &TurnRows<'_>) -> Result<(), AppError> {
    macro_rules! turn {
        ($with:expr, $from:expr) => {
            (
                concat!(
                    "with ",
                    $with,
                    "conversation as (insert into conversations \
                     (id, user_id, title, status, model, system_prompt, created_at, updated_at) \
                     select $2, $8, $9, 'open', $10, $11, $4, $4 ",
                    $from,
                    "where $12 is null or exists \
                     (select 1 from users where id = $8 and active = 1 \
                      and sessions_valid_after <= $12) returning id) ",
                    turn!(messages)
                ),
                concat!(
                    "with ",
                    $with,
                    "conversation as (update conversations set updated_at = $4, \
                     title = case when title = '' then $8 else title end ",
                    $from,
                    "where id = $2 returning id) ",
                    turn!(messages)
                ),
            )
        };
        (messages) => {
            "insert into messages \
             (id, conversation_id, role, content, status, meta, created_at, updated_at, instance_id) \
             select m.id, c.id, m.role, m.content, m.status, '{}', m.at, m.at, m.instance \
             from conversation c, (values ($1, 'user', $3, 'complete', $4, null), \
                                          ($5, 'assistant', '', 'streaming', $6, $7)) \
                  as m (id, role, content, status, at, instance)"
        };
    }
    const DURABLE: (&str, &str) = turn!("", "");
    const QUICK: (&str, &str) = turn!(concat!(no_flush_wait!(), ", "), "from no_flush_wait ");
    let (new, existing) = if db.quick_commits() { QUICK } else { DURABLE };
    let (asked, answered) = stamps(rows);
    let sql = match &rows.conversation {
        TurnConversation::New { .. } => new,
        TurnConversation::Existing { .. } => existing,
    };
    let query = sqlx::query(sql)
        .bind(rows.question_id)
        .bind(rows.conversation.id())
        .bind(rows.question)
        .bind(&asked)
        .bind(rows.answer_id)
        .bind(&answered)
        .bind(rows.instance_id);
    let query = match &rows.conversation {
        TurnConversation::New {
            user_id,
            summary,
            token_issued_at,
        } => query
            .bind(*user_id)
            .bind(&summary.title)
            .bind(&summary.model)
            .bind(summary.system_prompt.as_deref())
            .bind(*token_issued_at),
        TurnConversation::Existing { title, .. } => query.bind(*title),
    };
    match query.execute(&db.pool).await?.rows_affected() {
        0 => match rows.conversation {
            // The account is not usable: nothing is written.
            TurnConversation::New { .. } => Err(AppError::Unauthorized),
            // Deleted meanwhile.
            TurnConversation::Existing { .. } => Err(AppError::NotFound("conversation".into())),
        },
        _ => Ok(()),
    }
}

/// Writes several turns' rows, each all or none, and says for each whether it was written.
///
/// On SQLite the group is one transaction, in one trip to the connection's thread: SQLite
/// takes one writer at a time, and the pages every turn touches (the messages table and its
/// indexes, the conversations) are written to the log once for the group instead of once per
/// turn. A turn whose account is refused writes nothing and gets `Unauthorized`; the others
/// are written. If a statement fails, the group is rolled back and each turn written alone,
/// so that only the turn at fault fails. On PostgreSQL the turns are written one by one.
pub async fn store_group(db: &Db, group: &[TurnRows<'_>]) -> Vec<Result<(), AppError>> {
    if let [rows] = group {
        return vec![store(db, rows).await];
    }
    if db.backend == Backend::Sqlite {
        match store_on_sqlite(db, group).await {
            Ok(results) => return results,
            Err(err) => {
                tracing::debug!(error = %err, turns = group.len(), "a group of turns failed; writing each alone");
            }
        }
    }
    let mut results = Vec::with_capacity(group.len());
    for rows in group {
        results.push(store(db, rows).await);
    }
    results
}

/// A value of a turn's SQLite text.
enum Arg<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

/// SQLite: the group's rows in one trip to the connection's thread instead of four per turn
/// (begin, two statements, commit), which is most of what the first token would wait for.
/// SQLite gives `$n` the same argument in every statement of a text, so a turn's statements
/// share theirs, numbered after the previous turn's; the transaction is part of the text, and
/// is rolled back here if a statement fails. An account check guards each statement of a
/// turn that needs one: in one write transaction they all see the same account, and the turn
/// then reads how many messages it wrote.
async fn store_on_sqlite(
    db: &Db,
    group: &[TurnRows<'_>],
) -> Result<Vec<Result<(), AppError>>, AppError> {
    let stamps: Vec<(String, String)> = group.iter().map(stamps).collect();
    let mut sql = String::from("begin; ");
    let mut args = Vec::new();
    for (index, (rows, (asked, answered))) in group.iter().zip(&stamps).enumerate() {
        let base = args.len();
        let (text, turn_args) = sqlite_turn(rows, index, asked, answered);
        sql.push_str(&renumbered(&text, base));
        args.extend(turn_args);
    }
    sql.push_str("commit;");
    // One turn's text is the same every time and worth keeping prepared; a group's is not.
    let mut query = sqlx::query(&sql).persistent(group.len() == 1);
    for arg in args {
        query = match arg {
            Arg::Text(value) => query.bind(value),
            Arg::Int(value) => query.bind(value),
        };
    }
    let mut conn = db.pool.acquire().await?;
    // Every statement runs (`fetch_all`); a guarded turn also reads how many messages its
    // last insert wrote (the driver's count of affected rows is not reset by `begin`).
    match query.fetch_all(&mut *conn).await {
        Ok(read) => {
            let mut results: Vec<Result<(), AppError>> = group.iter().map(|_| Ok(())).collect();
            for row in read {
                let turn = usize::try_from(row.try_get::<i64, _>("turn")?)
                    .map_err(|_| AppError::Internal)?;
                if row.try_get::<i64, _>("written")? == 0
                    && let Some(result) = results.get_mut(turn)
                {
                    *result = Err(AppError::Unauthorized);
                }
            }
            Ok(results)
        }
        Err(err) => {
            // A statement that failed left the transaction open on this connection.
            let _ = sqlx::query("rollback").execute(&mut *conn).await;
            Err(err.into())
        }
    }
}

/// When a turn's question was asked and its answer row started, as stored.
fn stamps(rows: &TurnRows<'_>) -> (String, String) {
    // The answer sorts after its question even when both land in the same microsecond.
    (stamp(rows.at), stamp(rows.at + Duration::microseconds(1)))
}

/// One turn's statements on SQLite, with arguments `$1`.. in the order returned: `$1`..`$7`
/// as in [`MESSAGES`], then the conversation's (`$8`..`$11` for a new one, `$8` the title
/// for an existing one), then `$12` when the account is checked.
fn sqlite_turn<'a>(
    rows: &'a TurnRows<'a>,
    index: usize,
    asked: &'a str,
    answered: &'a str,
) -> (String, Vec<Arg<'a>>) {
    let mut args = vec![
        Arg::Text(Some(rows.question_id)),
        Arg::Text(Some(rows.conversation.id())),
        Arg::Text(Some(rows.question)),
        Arg::Text(Some(asked)),
        Arg::Text(Some(rows.answer_id)),
        Arg::Text(Some(answered)),
        Arg::Text(rows.instance_id),
    ];
    let sql = match &rows.conversation {
        TurnConversation::New {
            user_id,
            summary,
            token_issued_at,
        } => {
            args.extend([
                Arg::Text(Some(*user_id)),
                Arg::Text(Some(summary.title.as_str())),
                Arg::Text(Some(summary.model.as_str())),
                Arg::Text(summary.system_prompt.as_deref()),
            ]);
            let conversation = "insert into conversations \
                 (id, user_id, title, status, model, system_prompt, created_at, updated_at) \
                 select $2, $8, $9, 'open', $10, $11, $4, $4";
            match token_issued_at {
                None => format!("{conversation}; {MESSAGES}; "),
                Some(issued_at) => {
                    args.push(Arg::Int(Some(*issued_at)));
                    format!(
                        "{conversation} where {ACCOUNT_USABLE}; \
                         insert into messages (id, conversation_id, role, content, status, \
                         meta, created_at, updated_at, instance_id) \
                         select $1, $2, 'user', $3, 'complete', '{{}}', $4, $4, null \
                         where {ACCOUNT_USABLE} \
                         union all select $5, $2, 'assistant', '', 'streaming', '{{}}', $6, $6, \
                         $7 where {ACCOUNT_USABLE}; \
                         select {index} as turn, changes() as written; "
                    )
                }
            }
        }
        TurnConversation::Existing { title, .. } => {
            args.push(Arg::Text(Some(*title)));
            format!(
                "update conversations set updated_at = $4, \
                 title = case when title = '' then $8 else title end where id = $2; \
                 {MESSAGES}; "
            )
        }
    };
    (sql, args)
}

/// `sql` with every `$n` made `$(n + base)`: a turn's statements after others' in one text.
fn renumbered(sql: &str, base: usize) -> String {
    if base == 0 {
        return sql.to_string();
    }
    let mut parts = sql.split('$');
    let mut out = String::with_capacity(sql.len() + sql.len() / 16);
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        match part[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}{}", n + base, &part[digits..])),
            Err(_) => {
                out.push('$');
                out.push_str(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_as_text_in_time_order() {
        let at = "2026-11-25T23:59:59.999999Z"
            .parse::<DateTime<Utc>>()
            .unwrap();
        let summary = new_conversation("c".into(), "t".into(), "m".into(), None, at);
        let rows = TurnRows {
            conversation: TurnConversation::New {
                user_id: "u",
                summary: &summary,
                token_issued_at: None,
            },
            question_id: "q",
            question: "?",
            answer_id: "a",
            instance_id: None,
            at,
        };
        let (asked, answered) = stamps(&rows);
        assert_eq!(asked, "2026-11-25T23:59:59.999999Z");
        assert_eq!(answered, "2026-11-26T00:00:00.000000Z");
        assert!(asked < answered);
    }

    #[test]
    fn renumbering_shifts_every_placeholder_and_nothing_else() {
        assert_eq!(
            renumbered("select $1, $12 where x = $2", 0),
            "select $1, $12 where x = $2"
        );
        assert_eq!(
            renumbered("select $1, $12, '{}' where x = $2;", 12),
            "select $13, $24, '{}' where x = $14;"
        );
        assert_eq!(renumbered("a $ b $x $9", 3), "a $ b $x $12");
    }

    #[test]
    fn each_turn_of_a_group_numbers_its_arguments_after_the_previous_ones() {
        let at = chrono::Utc::now();
        let summary = new_conversation("c".into(), "t".into(), "m".into(), None, at);
        let new = TurnRows {
            conversation: TurnConversation::New {
                user_id: "u",
                summary: &summary,
                token_issued_at: Some(1),
            },
            question_id: "q",
            question: "?",
            answer_id: "a",
            instance_id: None,
            at,
        };
        let existing = TurnRows {
            conversation: TurnConversation::Existing {
                id: "c",
                title: "t",
            },
            ..new
        };
        let highest = |sql: &str| {
            sql.split('$')
                .skip(1)
                .filter_map(|p| {
                    let digits = p.bytes().take_while(u8::is_ascii_digit).count();
                    p[..digits].parse::<usize>().ok()
                })
                .max()
                .unwrap()
        };
        let (sql, args) = sqlite_turn(&new, 4, "x", "y");
        assert_eq!((highest(&sql), args.len()), (12, 12), "{sql}");
        assert!(sql.contains("select 4 as turn"), "{sql}");
        let (sql, args) = sqlite_turn(&existing, 5, "x", "y");
        assert_eq!((highest(&sql), args.len()), (8, 8), "{sql}");
        assert!(!sql.contains("as turn"), "{sql}");
        assert_eq!(highest(&renumbered(&sql, 12)), 20);
    }
}
