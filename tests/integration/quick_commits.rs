//! Quick commits (`database.quick_commits`): on PostgreSQL a turn's rows and the checkpoints
//! commit without waiting for the log's flush, for their own transaction only.

use energyapp_llm::server::db::{
    Backend, Db, messages, new_id,
    turns::{self, TurnConversation, TurnRows},
};

use crate::{common::TestApp, on_both_backends};

on_both_backends!(quick_commits_store_turns_and_checkpoints_and_end_with_their_transaction);

/// With quick commits (PostgreSQL: `synchronous_commit` off for the turn's and the checkpoint's
/// transactions) and without, a new conversation's turn, a later turn and a checkpoint are
/// stored as always; and the setting ends with each transaction: the next statement on the same
/// connection (a pool of one) waits for the disk again.
async fn quick_commits_store_turns_and_checkpoints_and_end_with_their_transaction(app: &TestApp) {
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
        let at = chrono::Utc::now();
        let summary = turns::new_conversation(new_id(), "Rápida".into(), "m".into(), None, at);
        let (question, answer) = (new_id(), new_id());
        let first = TurnRows {
            conversation: TurnConversation::New {
                user_id: &user_id,
                summary: &summary,
                token_issued_at: None,
            },
            question_id: &question,
            question: "¿Y la potencia?",
            answer_id: &answer,
            instance_id: None,
            at,
        };
        turns::store(&db, &first).await.unwrap();
        let (next_question, next_answer) = (new_id(), new_id());
        let next = TurnRows {
            conversation: TurnConversation::Existing {
                id: &summary.id,
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

        let stored: Vec<(String, String)> = sqlx::query_as(
            "select content, status from messages where conversation_id = $1 \
             order by created_at, id",
        )
        .bind(&summary.id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        let expected = [
            ("¿Y la potencia?", "complete"),
            ("", "streaming"),
            ("¿Y el término fijo?", "complete"),
            ("La potencia", "streaming"),
        ]
        .map(|(c, s)| (c.to_string(), s.to_string()));
        assert_eq!(stored, expected, "quick commits {quick}");

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
