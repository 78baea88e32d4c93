//! A turn's rows (the conversation, the question, the answer's empty row) are written all or
//! none, on both databases; on SQLite in one trip, with the transaction in the text.

use energyapp_llm::{
    error::AppError,
    server::db::{
        new_id,
        turns::{self, TurnConversation, TurnRows},
    },
};
use sqlx::{Connection, Row};

use crate::{common::TestApp, on_both_backends};

on_both_backends!(
    a_turn_is_stored_whole_or_not_at_all,
    a_new_conversation_is_stored_only_for_a_usable_account,
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
