//! Bulk test data written straight into the server's database with a few set-based SQL
//! statements (a recursive CTE on SQLite, `generate_series` on PostgreSQL): 100,000 messages
//! in seconds, in the app's own formats (text ids, RFC 3339 timestamps with microseconds).

use sqlx::AnyPool;

use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(url: &str) -> Dialect {
        if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }

    /// `insert_head select_body` over `i` = 1..=n.
    fn insert_series(self, n: usize, insert_head: &str, select_body: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "with recursive s(i) as (select 1 union all select i + 1 from s where i < {n}) \
                 {insert_head} {select_body} from s"
            ),
            Dialect::Postgres => {
                format!("{insert_head} {select_body} from generate_series(1, {n}) as s(i)")
            }
        }
    }

    /// An RFC 3339 timestamp `seconds` after 2026-01-01 (an SQL expression).
    fn timestamp(self, seconds: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "(strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01 00:00:00', '+' || ({seconds}) || ' seconds') || '.000000Z')"
            ),
            Dialect::Postgres => format!(
                "(to_char(timestamp '2026-01-01 00:00:00' + ({seconds}) * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000000Z')"
            ),
        }
    }

    /// `number` left-padded with zeros to 6 digits.
    fn pad(self, number: &str) -> String {
        match self {
            Dialect::Sqlite => format!("printf('%06d', {number})"),
            Dialect::Postgres => format!("lpad(({number})::text, 6, '0')"),
        }
    }
}

/// What was seeded.
pub struct Seeded {
    /// A conversation of 200 messages.
    pub page_conversation: String,
    /// A conversation of 10,000 messages, and the ids of some of them (to page before).
    pub long_conversation: String,
    pub long_message_ids: Vec<String>,
    /// One of the small conversations (100 messages; its owner has hundreds).
    pub small_conversation: String,
    pub total_messages: usize,
    /// A word that appears in a handful of messages only.
    pub rare_word: &'static str,
}

const RARE_WORD: &str = "zanahoria";
/// Conversations of 100 messages that make up the rest of the 100,000.
const SMALL_CONVERSATIONS: usize = 898;

/// Seeds the two measured conversations, owned by `reader_id`, and the many small ones,
/// owned by `other_id`.
pub async fn seed(
    pool: &AnyPool,
    dialect: Dialect,
    reader_id: &str,
    other_id: &str,
) -> Result<Seeded> {
    let conversations = [
        ("seed-page", 200usize, 1_000_000usize),
        ("seed-long", 10_000, 2_000_000),
    ];
    for (id, n, offset) in conversations {
        insert_conversation(pool, dialect, reader_id, id, "0").await?;
        insert_messages(
            pool,
            dialect,
            n,
            &format!("'{id}'"),
            &format!("'{id}-'"),
            offset,
        )
        .await?;
    }
    // The many small ones: conversation k holds messages (k-1)*100+1 ..= k*100.
    let ts = dialect.timestamp("i * 60");
    let pad = dialect.pad("i");
    let head =
        "insert into conversations (id, user_id, title, status, model, created_at, updated_at)";
    let body = format!(
        "select 'seed-c-' || {pad}, $1, 'Conversación ' || i, 'open', 'qwen2.5:3b-instruct', {ts}, {ts}"
    );
    sqlx::query(&dialect.insert_series(SMALL_CONVERSATIONS, head, &body))
        .bind(other_id)
        .execute(pool)
        .await?;
    let small = SMALL_CONVERSATIONS * 100;
    let conversation = format!("'seed-c-' || {}", dialect.pad("(i - 1) / 100 + 1"));
    insert_messages(pool, dialect, small, &conversation, "'seed-m-'", 0).await?;
    sqlx::query("analyze").execute(pool).await?;

    let long_message_ids = [9_000usize, 7_500, 5_000, 2_500, 1_000]
        .iter()
        .map(|i| format!("seed-long-{i:06}"))
        .collect();
    Ok(Seeded {
        page_conversation: "seed-page".into(),
        long_conversation: "seed-long".into(),
        long_message_ids,
        small_conversation: format!("seed-c-{:06}", 1),
        total_messages: 200 + 10_000 + small,
        rare_word: RARE_WORD,
    })
}

async fn insert_conversation(
    pool: &AnyPool,
    dialect: Dialect,
    user_id: &str,
    id: &str,
    offset_seconds: &str,
) -> Result<()> {
    let ts = dialect.timestamp(offset_seconds);
    sqlx::query(&format!(
        "insert into conversations (id, user_id, title, status, model, created_at, updated_at) \
         values ($1, $2, $3, 'open', 'qwen2.5:3b-instruct', {ts}, {ts})"
    ))
    .bind(id)
    .bind(user_id)
    .bind(format!("Conversación {id}"))
    .execute(pool)
    .await?;
    Ok(())
}

/// `n` messages alternating question and answer, about 200 characters each; every 20,000th
/// one mentions the rare word.
async fn insert_messages(
    pool: &AnyPool,
    dialect: Dialect,
    n: usize,
    conversation_expr: &str,
    id_prefix: &str,
    time_offset: usize,
) -> Result<()> {
    let ts = dialect.timestamp(&format!("{time_offset} + i"));
    let pad = dialect.pad("i");
    let head = "insert into messages (id, conversation_id, role, content, status, meta, created_at, updated_at)";
    let body = format!(
        "select {id_prefix} || {pad}, {conversation_expr}, \
         case when i % 2 = 1 then 'user' else 'assistant' end, \
         'Mensaje ' || i || ': la eficiencia energética del hogar depende del consumo, la tarifa y la \
potencia contratada; revisa la factura cada mes y compara el kWh con el año anterior.' \
         || case when i % 20000 = 7 then ' {RARE_WORD}' else '' end, \
         'complete', '{{}}', {ts}, {ts}"
    );
    sqlx::query(&dialect.insert_series(n, head, &body))
        .execute(pool)
        .await?;
    Ok(())
}
