//! Quick commits (`database.quick_commits`): on PostgreSQL a turn's rows, the checkpoints and
//! the answers' ends commit without waiting for the log's flush, for their own transaction only.

use energyapp_llm::{
    model::MessageStatus,
    server::db::{
        Backend, Db, messages, new_id,
        turns::{self, TurnConversation, TurnRows},
    },
    stream_events::Usage,
};

use crate::{
    common::{TestApp, store_first_turn},
    on_both_backends,
};

on_both_backends!(quick_commits_store_turns_checkpoints_and_ends_and_end_with_their_transaction);

/// With quick commits (PostgreSQL: `synchronous_commit` off for the transactions of the turn,
/// the checkpoint and the answer's end) and without, a new conversation's turn, a later turn, a
/// checkpoint and the first answer's end (with its conversation's activity time) are stored as
/// always; and the setting ends with each transaction: the next statement on the same
/// connection (a pool of one) waits for the disk again.
async fn quick_commits_store_turns_checkpoints_and_ends_and_end_with_their_transaction(
    app: &TestApp,
) {
    let user_id: String = sqlx::query_scalar("select id from users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let one = Db::connect(&app.state.settings.database.url, 1)
        .await
        .unwrap();
    for quick in [true, false] {
        let db = one.clone().with_quick_commits(quick);
        assert_eq!(db.quick_commits(), quick && db.backend == Backend::Postgres);
        let first = store_first_turn(&db, &user_id, "Rápida", "¿Y la potencia?").await;
        let (next_question, next_answer) = (new_id(), new_id());
        let next = TurnRows {
            conversation: TurnConversation::Existing {
                id: &first.conversation,
                title: "ignored",
            },
            question_id: &next_question,
            question: "¿Y el término fijo?",
            answer_id: &next_answer,
            instance_id: None,
            at: chrono::Utc::now(),
        };
        turns::store(&db, &next).await.unwrap();
        let texts = [(next_answer.clone(), "La potencia".to_string())].into();
        messages::checkpoint_many(&db, &texts).await.unwrap();
        let ended_at = "2999-01-01T00:00:00.000000Z";
        let usage = Usage {
            prompt_tokens: 12,
            completion_tokens: 3,
            ..Usage::default()
        };
        let meta = serde_json::json!({ "model": "m" });
        let ended = messages::Ended {
            conversation_id: &first.conversation,
            message_id: &first.answer,
            content: "Depende de la tarifa.",
            status: MessageStatus::Complete,
            meta: &meta,
            usage: &usage,
            at: ended_at,
        };
        messages::finish(&db, &ended).await.unwrap();

        let stored: Vec<(String, String)> = sqlx::query_as(
            "select content, status from messages where conversation_id = $1 \
             order by created_at, id",
        )
        .bind(&first.conversation)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        let expected = [
            ("¿Y la potencia?", "complete"),
            ("Depende de la tarifa.", "complete"),
            ("¿Y el término fijo?", "complete"),
            ("La potencia", "streaming"),
        ]
        .map(|(c, s)| (c.to_string(), s.to_string()));
        assert_eq!(stored, expected, "quick commits {quick}");
        let (tokens, active_at): (i64, String) = sqlx::query_as(
            "select m.completion_tokens, c.updated_at from messages m \
             join conversations c on c.id = m.conversation_id where m.id = $1",
        )
        .bind(&first.answer)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!((tokens, active_at.as_str()), (3, ended_at));

        if db.backend == Backend::Postgres {
            let setting: String =
                sqlx::query_scalar("select current_setting('synchronous_commit')")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            assert_eq!(
                setting, "on",
                "the setting ended with the transactions (quick {quick})"
            );
        }
    }
}
