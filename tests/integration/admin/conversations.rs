//! Every user's conversations: filters, pages, and a read-only view.

use std::collections::{HashMap, HashSet};

use energyapp_llm::{
    model::MessageStatus,
    server::db::{conversations, messages},
    stream_events::Usage,
};

use serde_json::{Value, json};

use super::{chat, create_user, json_of};
use crate::{
    common::{Backend, TestApp, error_code, ids, store_first_turn},
    on_both_backends,
};

on_both_backends!(
    conversations_of_everyone_are_listed_and_read_only,
    the_search_finds_an_answer_still_being_written,
);

async fn conversations_of_everyone_are_listed_and_read_only(app: &TestApp) {
    let admin = app.admin_token().await;
    create_user(app, &admin, "ana@energyapp.test", "user").await;
    create_user(app, &admin, "luis@energyapp.test", "user").await;
    let ana = app.token("ana@energyapp.test", "a-good-password-1").await;
    let luis = app.token("luis@energyapp.test", "a-good-password-1").await;
    chat(app, &ana, "Consulta sobre la tarifa nocturna").await;
    let removed = chat(app, &ana, "borrar esto").await;
    chat(app, &luis, "Paneles solares [sim fault=error_mid:3]").await;
    let removed_id = removed["conversation_id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/conversations/{removed_id}"), &ana)
            .await
            .status(),
        204
    );

    let all = json_of(app.get("/api/v1/admin/conversations", &admin).await, 200).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let deleted: Vec<&Value> = items.iter().filter(|c| c["status"] == "deleted").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["owner_email"], "ana@energyapp.test");
    assert!(items.iter().all(|c| c["messages"] == 2));

    let ana_id = deleted[0]["user_id"].as_str().unwrap();
    let by_user = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?user_id={ana_id}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(by_user["items"].as_array().unwrap().len(), 2);
    let only_deleted = json_of(
        app.get("/api/v1/admin/conversations?status=deleted", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(only_deleted["items"][0]["id"], removed_id);
    // Text in a message (not in the title) finds the conversation.
    let luis_answer_word = "solares";
    let found = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?q={luis_answer_word}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["owner_email"], "luis@energyapp.test");
    let found = json_of(
        app.get("/api/v1/admin/conversations?q=NOCTURNA", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let ranged = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?from={today}&to={today}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ranged["items"].as_array().unwrap().len(), 3);
    let before = json_of(
        app.get("/api/v1/admin/conversations?to=2000-01-01", &admin)
            .await,
        200,
    )
    .await;
    assert!(before["items"].as_array().unwrap().is_empty());
    let paged = json_of(
        app.get("/api/v1/admin/conversations?limit=2", &admin).await,
        200,
    )
    .await;
    let next = paged["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?limit=2&cursor={next}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let ids: HashSet<String> = paged["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    for query in ["status=archived", "from=25-11-2026", "limit=500"] {
        let res = app
            .get(&format!("/api/v1/admin/conversations?{query}"), &admin)
            .await;
        assert_eq!(error_code(res, 422).await, "validation_failed", "{query}");
    }

    // The failed answer is shown with its status and error; the deleted one is still readable.
    let failed_id = found_id(
        &json_of(
            app.get("/api/v1/admin/conversations?q=solares", &admin)
                .await,
            200,
        )
        .await,
    );
    let detail = json_of(
        app.get(&format!("/api/v1/admin/conversations/{failed_id}"), &admin)
            .await,
        200,
    )
    .await;
    let answer = &detail["messages"][1];
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["meta"]["error"]["code"], "ollama_error");
    let detail = json_of(
        app.get(&format!("/api/v1/admin/conversations/{removed_id}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(detail["conversation"]["status"], "deleted");
    let messages = json_of(
        app.get(
            &format!("/api/v1/admin/conversations/{removed_id}/messages"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(messages["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        messages["items"][1]["meta"]["usage"]["completion_tokens"],
        12
    );

    // Read-only: no way to change or delete through the admin API.
    let path = format!("/api/v1/admin/conversations/{failed_id}");
    for method in [
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let res = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&admin)
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 405).await, "method_not_allowed", "{method}");
    }
    // An admin is still just an owner on the user API: someone else's conversation is 404 there.
    let res = app
        .patch_json(
            &format!("/api/v1/conversations/{failed_id}"),
            &admin,
            json!({ "title": "x" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app.get("/api/v1/admin/conversations/nope", &admin).await;
    assert_eq!(error_code(res, 404).await, "not_found");
}

fn found_id(page: &Value) -> String {
    page["items"][0]["id"].as_str().unwrap().to_string()
}

/// On PostgreSQL the search's text condition has a trigram index (`migrations/postgres/`) over
/// the messages no longer being written, and the planner can use it for exactly the query the
/// search writes: without it, a search reads every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_text_search_can_use_its_trigram_index() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let definition: String = sqlx::query_scalar(
        "select indexdef from pg_indexes \
         where tablename = 'messages' and indexname = 'messages_content_trgm'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(definition.contains("gin_trgm_ops"), "{definition}");
    assert!(
        definition.contains("'streaming'"),
        "answers in progress stay out of the index: {definition}"
    );
    // The table is nearly empty, so forbid the scan to see whether the index fits the query.
    sqlx::query("set enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let sql = format!(
        "explain {}",
        conversations::messages_matching(&app.state.db, "$1")
    );
    let plan: Vec<String> = sqlx::query_scalar(&sql)
        .bind("%tarifa%")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("messages_content_trgm"), "{plan}");
    sqlx::query("reset enable_seqscan")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    app.stop().await;
}

/// An answer in progress (checkpointed, not ended) is found by its text, and still once it
/// has ended: on PostgreSQL the first through its status, the second through the index.
async fn the_search_finds_an_answer_still_being_written(app: &TestApp) {
    let admin = app.admin_token().await;
    let db = &app.state.db;
    let user_id: String = sqlx::query_scalar("select id from users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let turn = store_first_turn(db, &user_id, "Facturas", "¿Qué tarifa me conviene?").await;
    let (conversation, answer) = (turn.conversation, turn.answer);
    assert!(search(app, &admin, "Fotovoltaica").await.is_empty());
    let partial = HashMap::from([(answer.clone(), "La tarifa fotovoltaica".to_string())]);
    messages::checkpoint_many(db, &partial).await.unwrap();
    for word in ["Fotovoltaica", "TARIFA"] {
        assert_eq!(search(app, &admin, word).await, [&*conversation], "{word}");
    }
    let ended_at = energyapp_llm::server::db::now();
    messages::finish(
        db,
        &messages::Ended {
            conversation_id: &conversation,
            message_id: &answer,
            content: "La tarifa fotovoltaica nocturna",
            status: MessageStatus::Complete,
            meta: &json!({}),
            usage: &Usage::default(),
            at: &ended_at,
        },
    )
    .await
    .unwrap();
    for word in ["nocturna", "fotovoltaica"] {
        assert_eq!(search(app, &admin, word).await, [&*conversation], "{word}");
    }
    assert!(search(app, &admin, "eólica").await.is_empty());
}

/// The ids of the conversations the admin search finds for `word`.
async fn search(app: &TestApp, admin: &str, word: &str) -> Vec<String> {
    let res = app
        .get(&format!("/api/v1/admin/conversations?q={word}"), admin)
        .await;
    ids(&json_of(res, 200).await)
}
