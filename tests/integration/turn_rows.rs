//! A turn's rows (the conversation, the question, the answer's empty row) are written all or
//! none, on both databases; on SQLite in one trip, with the transaction in the text.

use energyapp_llm::{
    error::AppError,
    model::ConversationSummary,
    server::db::{
        new_id,
        turns::{self, TurnConversation, TurnRows},
    },
};
use std::sync::Arc;

use sqlx::{Connection, Row};

use crate::{
    common::{TestApp, store_first_turn},
    on_both_backends,
};

on_both_backends!(
    a_turn_is_stored_whole_or_not_at_all,
    a_new_conversation_is_stored_only_for_a_usable_account,
    a_group_of_turns_is_stored_or_refused_turn_by_turn,
    turns_asked_at_once_are_all_stored_each_with_its_own_answer,
);

async fn a_turn_is_stored_whole_or_not_at_all(app: &TestApp) {
    let db = &app.state.db;
    let user_id: String = sqlx::query("select id from users")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let at = chrono::Utc::now();
    let first = turns::new_conversation(new_id(), "Primera".into(), "m".into(), None, at);
    let (question, answer) = (new_id(), new_id());
    let stored = TurnRows {
        conversation: TurnConversation::New {
            user_id: &user_id,
            summary: &first,
            token_issued_at: None,
        },
        question_id: &question,
        question: "¿Qué tarifa?",
        answer_id: &answer,
        instance_id: None,
        at,
    };
    turns::store(db, &stored).await.unwrap();
    let rows = sqlx::query(
        "select role, content, status from messages where conversation_id = $1 \
         order by created_at, id",
    )
    .bind(&first.id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("role").unwrap(),
                r.try_get("content").unwrap(),
                r.try_get("status").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("user".into(), "¿Qué tarifa?".into(), "complete".into()),
            ("assistant".into(), String::new(), "streaming".into()),
        ]
    );

    // A second new conversation whose question reuses an id: the messages fail, and the
    // conversation written before them in the same text goes too.
    let second = turns::new_conversation(new_id(), "Segunda".into(), "m".into(), None, at);
    let fresh_answer = new_id();
    let clashing = TurnRows {
        conversation: TurnConversation::New {
            user_id: &user_id,
            summary: &second,
            token_issued_at: None,
        },
        question_id: &question,
        question: "otra",
        answer_id: &fresh_answer,
        instance_id: None,
        at,
    };
    assert!(turns::store(db, &clashing).await.is_err());
    let count = |sql: &'static str, id: String| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    assert_eq!(
        count(
            "select count(*) from conversations where id = $1",
            second.id.clone()
        )
        .await,
        0
    );
    assert_eq!(
        count(
            "select count(*) from messages where id = $1",
            fresh_answer.clone()
        )
        .await,
        0
    );

    // Nothing was left open: the next turn on the pool lands, and is seen by a connection
    // opened afterwards (not only inside a transaction left behind).
    for _ in 0..3 {
        let (q, a) = (new_id(), new_id());
        let next = TurnRows {
            conversation: TurnConversation::Existing {
                id: &first.id,
                title: "ignored",
            },
            question_id: &q,
            question: "y otra más",
            answer_id: &a,
            instance_id: None,
            at: chrono::Utc::now(),
        };
        turns::store(db, &next).await.unwrap();
    }
    let seen: i64 = {
        let mut separate = sqlx::AnyConnection::connect(&app.state.settings.database.url)
            .await
            .unwrap();
        let seen = sqlx::query_scalar("select count(*) from messages where conversation_id = $1")
            .bind(&first.id)
            .fetch_one(&mut separate)
            .await
            .unwrap();
        separate.close().await.unwrap();
        seen
    };
    assert_eq!(seen, 8);
    let title: String = sqlx::query_scalar("select title from conversations where id = $1")
        .bind(&first.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(title, "Primera", "a titled conversation keeps its title");
}

/// A turn that starts a conversation for an account not yet read writes its rows only if the
/// account, read in the same transaction, is usable: it exists, is active, and has not ended
/// its sessions since the token was issued. Otherwise nothing is written.
async fn a_new_conversation_is_stored_only_for_a_usable_account(app: &TestApp) {
    let db = &app.state.db;
    app.user_token("nora@test.local").await;
    let user_id: String = sqlx::query_scalar("select id from users where email = $1")
        .bind("nora@test.local")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let issued_at = chrono::Utc::now().timestamp_millis();
    let set = |sql: &'static str, value: i64| {
        let user_id = user_id.clone();
        async move {
            sqlx::query(sql)
                .bind(value)
                .bind(user_id)
                .execute(&app.state.db.pool)
                .await
                .unwrap();
        }
    };
    let stored_for = |user_id: String| async move {
        sqlx::query_scalar::<_, i64>(
            "select (select count(*) from conversations where user_id = $1) \
                  + (select count(*) from messages m join conversations c \
                     on c.id = m.conversation_id where c.user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
    };
    let store = |user_id: String| async move {
        let at = chrono::Utc::now();
        let summary = turns::new_conversation(new_id(), "Hola".into(), "m".into(), None, at);
        let (question, answer) = (new_id(), new_id());
        let rows = TurnRows {
            conversation: TurnConversation::New {
                user_id: &user_id,
                summary: &summary,
                token_issued_at: Some(issued_at),
            },
            question_id: &question,
            question: "hola",
            answer_id: &answer,
            instance_id: None,
            at,
        };
        turns::store(&app.state.db, &rows).await
    };

    store(user_id.clone()).await.unwrap();
    assert_eq!(
        stored_for(user_id.clone()).await,
        3,
        "a usable account's turn"
    );

    set(
        "update users set sessions_valid_after = $1 where id = $2",
        issued_at + 1,
    )
    .await;
    let refused = store(user_id.clone()).await;
    assert!(
        matches!(refused, Err(AppError::Unauthorized)),
        "sessions ended after the token: {refused:?}"
    );
    set(
        "update users set sessions_valid_after = $1 where id = $2",
        issued_at,
    )
    .await;
    set("update users set active = $1 where id = $2", 0).await;
    let refused = store(user_id.clone()).await;
    assert!(
        matches!(refused, Err(AppError::Unauthorized)),
        "a deactivated account: {refused:?}"
    );
    let refused = store(new_id()).await;
    assert!(
        matches!(refused, Err(AppError::Unauthorized)),
        "no such account: {refused:?}"
    );
    assert_eq!(
        stored_for(user_id.clone()).await,
        3,
        "nothing more was stored"
    );

    set("update users set active = $1 where id = $2", 1).await;
    store(user_id.clone()).await.unwrap();
    assert_eq!(stored_for(user_id).await, 6, "usable again, stored whole");
}

/// Two accounts, one usable (with a stored conversation), one deactivated.
struct Accounts {
    usable: String,
    deactivated: String,
    conversation: String,
    /// When their tokens were issued (ms).
    issued_at: i64,
}

async fn accounts(app: &TestApp) -> Accounts {
    let db = &app.state.db;
    app.user_token("ana@test.local").await;
    app.user_token("leo@test.local").await;
    let id_of = |email: &'static str| async move {
        sqlx::query_scalar::<_, String>("select id from users where email = $1")
            .bind(email)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    let (usable, deactivated) = (id_of("ana@test.local").await, id_of("leo@test.local").await);
    sqlx::query("update users set active = $1 where id = $2")
        .bind(0_i64)
        .bind(&deactivated)
        .execute(&db.pool)
        .await
        .unwrap();
    let first = store_first_turn(db, &usable, "Ana", "primera").await;
    Accounts {
        usable,
        deactivated,
        conversation: first.conversation,
        issued_at: chrono::Utc::now().timestamp_millis(),
    }
}

async fn count(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

const CONVERSATIONS_OF: &str = "select count(*) from conversations where user_id = $1";
const MESSAGES_IN: &str = "select count(*) from messages where conversation_id = $1";
const MESSAGES_OF: &str = "select count(*) from messages m join conversations c \
     on c.id = m.conversation_id where c.user_id = $1";

/// Owned values for a turn's rows, so that a test can build many.
struct Turn {
    summary: ConversationSummary,
    question_id: String,
    answer_id: String,
}

impl Turn {
    fn new() -> Turn {
        Turn {
            summary: turns::new_conversation(
                new_id(),
                "Nueva".into(),
                "m".into(),
                None,
                chrono::Utc::now(),
            ),
            question_id: new_id(),
            answer_id: new_id(),
        }
    }

    /// A new conversation for `user_id`, whose account is checked as the rows are written.
    fn starting<'a>(&'a self, user_id: &'a str, issued_at: i64) -> TurnRows<'a> {
        TurnRows {
            conversation: TurnConversation::New {
                user_id,
                summary: &self.summary,
                token_issued_at: Some(issued_at),
            },
            question_id: &self.question_id,
            question: "¿cuánto?",
            answer_id: &self.answer_id,
            instance_id: None,
            at: chrono::Utc::now(),
        }
    }

    /// A turn in the conversation `id`.
    fn in_conversation<'a>(&'a self, id: &'a str) -> TurnRows<'a> {
        TurnRows {
            conversation: TurnConversation::Existing { id, title: "x" },
            question_id: &self.question_id,
            question: "¿y ahora?",
            answer_id: &self.answer_id,
            instance_id: None,
            at: chrono::Utc::now(),
        }
    }
}

/// Turns written together (one transaction on SQLite): each is stored whole, or refused or
/// failed alone. A turn whose account is refused writes nothing; a turn whose statement fails
/// (an id already taken) fails without taking the others of its group with it.
async fn a_group_of_turns_is_stored_or_refused_turn_by_turn(app: &TestApp) {
    let db = &app.state.db;
    let a = accounts(app).await;
    let made: Vec<Turn> = (0..5).map(|_| Turn::new()).collect();
    let unknown = new_id();
    let group = [
        made[0].starting(&a.usable, a.issued_at),
        made[1].starting(&a.deactivated, a.issued_at),
        made[2].in_conversation(&a.conversation),
        made[3].starting(&unknown, a.issued_at),
        made[4].in_conversation(&a.conversation),
    ];
    let results = turns::store_group(db, &group).await;
    let outcome: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(()) => "stored",
            Err(AppError::Unauthorized) => "refused",
            Err(_) => "failed",
        })
        .collect();
    assert_eq!(
        outcome,
        ["stored", "refused", "stored", "refused", "stored"]
    );
    assert_eq!(count(app, CONVERSATIONS_OF, &a.usable).await, 2);
    assert_eq!(count(app, MESSAGES_IN, &a.conversation).await, 6);
    assert_eq!(count(app, MESSAGES_IN, &made[0].summary.id).await, 2);
    assert_eq!(count(app, CONVERSATIONS_OF, &a.deactivated).await, 0);
    assert_eq!(count(app, MESSAGES_OF, &a.deactivated).await, 0);

    // The second turn reuses the first one's question id: it fails, alone.
    let more: Vec<Turn> = (0..3).map(|_| Turn::new()).collect();
    let mut clashing = more[1].starting(&a.usable, a.issued_at);
    clashing.question_id = &made[0].question_id;
    let group = [
        more[0].in_conversation(&a.conversation),
        clashing,
        more[2].starting(&a.usable, a.issued_at),
    ];
    let results = turns::store_group(db, &group).await;
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        results[1].is_err() && !matches!(results[1], Err(AppError::Unauthorized)),
        "{:?}",
        results[1]
    );
    assert!(results[2].is_ok(), "{:?}", results[2]);
    assert_eq!(count(app, MESSAGES_IN, &a.conversation).await, 8);
    assert_eq!(count(app, MESSAGES_IN, &more[1].summary.id).await, 0);
    assert_eq!(
        count(
            app,
            "select count(*) from conversations where id = $1",
            &more[1].summary.id
        )
        .await,
        0
    );
    assert_eq!(count(app, MESSAGES_IN, &more[2].summary.id).await, 2);
    assert_eq!(count(app, MESSAGES_OF, &a.usable).await, 12);
}

/// Many turns asked at once through the server's writer (which groups those that wait on
/// SQLite): every usable one is stored whole with its answer's empty row, every refused one
/// gets `Unauthorized` and leaves nothing.
async fn turns_asked_at_once_are_all_stored_each_with_its_own_answer(app: &TestApp) {
    let a = Arc::new(accounts(app).await);
    let mut asked = tokio::task::JoinSet::new();
    for i in 0..120 {
        let (state, a) = (app.state.clone(), Arc::clone(&a));
        asked.spawn(async move {
            let turn = Turn::new();
            let (rows, expected) = match i % 4 {
                0 => (turn.starting(&a.usable, a.issued_at), true),
                1 => (turn.in_conversation(&a.conversation), true),
                2 => (turn.starting(&a.deactivated, a.issued_at), false),
                _ => (turn.starting(&a.usable, a.issued_at), true),
            };
            let result = state.turns.store(&rows).await;
            let answer: Option<String> =
                sqlx::query_scalar("select status from messages where id = $1")
                    .bind(&turn.answer_id)
                    .fetch_optional(&state.db.pool)
                    .await
                    .unwrap();
            (i, expected, result.map_err(|e| format!("{e:?}")), answer)
        });
    }
    let mut stored = 0;
    while let Some(done) = asked.join_next().await {
        let (i, expected, result, answer) = done.unwrap();
        if expected {
            assert_eq!(result, Ok(()), "turn {i}");
            assert_eq!(answer.as_deref(), Some("streaming"), "turn {i}");
            stored += 1;
        } else {
            assert_eq!(result, Err("Unauthorized".to_string()), "turn {i}");
            assert_eq!(answer, None, "turn {i}");
        }
    }
    assert_eq!(stored, 90);
    assert_eq!(count(app, CONVERSATIONS_OF, &a.usable).await, 1 + 60);
    assert_eq!(count(app, MESSAGES_IN, &a.conversation).await, 2 + 60);
    assert_eq!(count(app, MESSAGES_OF, &a.usable).await, 2 * (1 + 90));
    assert_eq!(count(app, CONVERSATIONS_OF, &a.deactivated).await, 0);
    assert_eq!(count(app, MESSAGES_OF, &a.deactivated).await, 0);
}

/// On SQLite, a turn whose request goes away while it waits for the writer is still written
/// (its question stays, as asked), and its answer's empty row is then removed: no answer will
/// ever stream into it, and it must not stay `streaming`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_turn_given_up_while_waiting_leaves_its_question_and_no_answer_row() {
    let app = TestApp::start(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    crate::common::within_time_limit(async {
        let a = accounts(&app).await;
        // Another connection holds SQLite's write lock: the writer's next group waits for it.
        let mut holder = sqlx::AnyConnection::connect(&app.state.settings.database.url)
            .await
            .unwrap();
        sqlx::query("begin immediate")
            .execute(&mut holder)
            .await
            .unwrap();
        let first = Turn::new();
        let first_written = {
            let (state, conversation) = (app.state.clone(), a.conversation.clone());
            let (question_id, answer_id) = (first.question_id.clone(), first.answer_id.clone());
            tokio::spawn(async move {
                let rows = TurnRows {
                    conversation: TurnConversation::Existing {
                        id: &conversation,
                        title: "x",
                    },
                    question_id: &question_id,
                    question: "primera en cola",
                    answer_id: &answer_id,
                    instance_id: None,
                    at: chrono::Utc::now(),
                };
                state.turns.store(&rows).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The second turn queues behind the first, and its request goes away.
        let given_up = Turn::new();
        let rows = given_up.in_conversation(&a.conversation);
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            app.state.turns.store(&rows),
        )
        .await;
        assert!(
            waited.is_err(),
            "the turn was written while the lock was held"
        );
        sqlx::query("commit").execute(&mut holder).await.unwrap();
        holder.close().await.unwrap();
        first_written.await.unwrap().unwrap();

        let status = |id: String| {
            let pool = app.state.db.pool.clone();
            async move {
                sqlx::query_scalar::<_, String>("select status from messages where id = $1")
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            status(first.answer_id.clone()).await.as_deref(),
            Some("streaming")
        );
        // Its rows are written after the first's, then its answer row removed: wait for both
        // (before the write, neither row is there).
        let (mut question, mut answer) = (None, None);
        for _ in 0..100 {
            question = status(given_up.question_id.clone()).await;
            answer = status(given_up.answer_id.clone()).await;
            if question.is_some() && answer.is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            question.as_deref(),
            Some("complete"),
            "its question stays, as asked"
        );
        assert_eq!(answer, None, "the given-up turn's answer row is removed");
    })
    .await;
    app.stop().await;
}
