//! The checkpoint writer's batch, one statement on both databases: each text lands on its own
//! answer, and an answer that has ended keeps its final text.

use std::collections::HashMap;

use energyapp_llm::server::db::{
    messages, new_id,
    turns::{self, TurnConversation, TurnRows},
};

use crate::{common::TestApp, on_both_backends};

on_both_backends!(checkpoints_land_on_their_own_answers_and_never_on_an_ended_one);

async fn checkpoints_land_on_their_own_answers_and_never_on_an_ended_one(app: &TestApp) {
    let db = &app.state.db;
    let user_id: String = sqlx::query_scalar("select id from users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let at = chrono::Utc::now();
    let conversation = turns::new_conversation(new_id(), "Lotes".into(), "m".into(), None, at);
    let mut answers = Vec::new();
    for i in 0..3 {
        let (question, answer) = (new_id(), new_id());
        let rows = TurnRows {
            conversation: if i == 0 {
                TurnConversation::New {
                    user_id: &user_id,
                    summary: &conversation,
                    token_issued_at: None,
                }
            } else {
                TurnConversation::Existing {
                    id: &conversation.id,
                    title: "x",
                }
            },
            question_id: &question,
            question: "¿y el lote?",
            answer_id: &answer,
            instance_id: None,
            at: chrono::Utc::now(),
        };
        turns::store(db, &rows).await.unwrap();
        answers.push(answer);
    }
    sqlx::query("update messages set content = $1, status = 'complete' where id = $2")
        .bind("final")
        .bind(&answers[2])
        .execute(&db.pool)
        .await
        .unwrap();
    let texts: HashMap<String, String> = answers
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("texto {i} ñ")))
        .collect();
    messages::checkpoint_many(db, &texts).await.unwrap();
    for (i, id) in answers.iter().enumerate() {
        let stored: (String, String) =
            sqlx::query_as("select content, status from messages where id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let expected = match i {
            2 => ("final".to_string(), "complete".to_string()),
            _ => (format!("texto {i} ñ"), "streaming".to_string()),
        };
        assert_eq!(stored, expected, "answer {i}");
    }
}
