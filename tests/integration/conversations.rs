//! The conversations REST API: create, list with cursors and filters, read, page messages,
//! change (title, status, model, system prompt), delete; every 4xx case.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{
    common::{TestApp, error_code, ids, read_events},
    on_both_backends,
};
use energyapp_llm::stream_events::StreamEvent;

on_both_backends!(
    created_conversations_get_defaults_and_a_title_from_the_first_message,
    bad_new_conversations_are_422_with_the_reason,
    pages_are_stable_while_conversations_are_created,
    lists_filter_by_status_and_title_text,
    bad_list_parameters_are_422,
    model_and_system_prompt_change_what_ollama_is_sent,
    deleted_conversations_disappear_for_their_owner_only,
    messages_page_backwards_to_the_first,
);

mod budget {
    use super::*;

    fn settings(s: &mut energyapp_llm::server::config::Settings) {
        s.chat.context_budget_tokens = 400;
    }

    on_both_backends!(settings = super::settings;
        long_conversations_send_the_newest_history_that_fits,
    );
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post_json("/api/v1/conversations", token, body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn ask(app: &TestApp, token: &str, id: &str, content: &str) -> Vec<StreamEvent> {
    let path = format!("/api/v1/conversations/{id}/messages");
    read_events(
        app.post_json(&path, token, json!({ "content": content }))
            .await,
    )
    .await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/conversations?{query}"), token)
        .await;
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

async fn created_conversations_get_defaults_and_a_title_from_the_first_message(app: &TestApp) {
    let token = app.admin_token().await;
    // No body at all: every field has a default.
    let res = app
        .http
        .post(app.url("/api/v1/conversations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let bare: Value = res.json().await.unwrap();
    assert_eq!(bare["model"], app.state.settings.ollama.model);
    assert_eq!(bare["status"], "open");
    assert_eq!(bare["title"], "");
    assert_eq!(bare["system_prompt"], Value::Null);

    let id = bare["id"].as_str().unwrap();
    ask(
        app,
        &token,
        id,
        "¿Cuánto consume una bomba de calor?\nmás detalles",
    )
    .await;
    let detail = app.conversation(id, &token).await;
    assert_eq!(
        detail["conversation"]["title"],
        "¿Cuánto consume una bomba de calor?"
    );

    let named = create(
        app,
        &token,
        json!({ "title": "  Informe mensual ", "model": "llama3.2:1b", "system_prompt": "Sé breve." }),
    )
    .await;
    assert_eq!(named["title"], "Informe mensual");
    assert_eq!(named["model"], "llama3.2:1b");
    assert_eq!(named["system_prompt"], "Sé breve.");
    let id = named["id"].as_str().unwrap();
    ask(app, &token, id, "hola").await;
    let detail = app.conversation(id, &token).await;
    assert_eq!(
        detail["conversation"]["title"], "Informe mensual",
        "a given title stays"
    );
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
    assert_eq!(detail["has_more"], false);
}

async fn bad_new_conversations_are_422_with_the_reason(app: &TestApp) {
    let token = app.admin_token().await;
    let res = app
        .post_json("/api/v1/conversations", &token, json!({ "model": "gpt-9" }))
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_model");
    let available: Vec<&str> = body["error"]["available"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(available.contains(&"qwen2.5:3b-instruct"), "{available:?}");

    for (body, field) in [
        (json!({ "title": "dos\nlíneas" }), "title"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "x".repeat(201) }), "title"),
        (
            json!({ "system_prompt": "x".repeat(8001) }),
            "system_prompt",
        ),
        (json!({ "colour": "red" }), "body"),
        (json!({ "title": 5 }), "body"),
    ] {
        let res = app.post_json("/api/v1/conversations", &token, body).await;
        assert_eq!(res.status(), 422, "{field}");
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"]["field"], field);
    }
    let list = list(app, &token, "").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing created"
    );
}

async fn pages_are_stable_while_conversations_are_created(app: &TestApp) {
    let token = app.admin_token().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let c = create(app, &token, json!({ "title": format!("c{i}") })).await;
        created.push(c["id"].as_str().unwrap().to_string());
    }
    let first = list(app, &token, "limit=3").await;
    assert_eq!(ids(&first), [&*created[6], &*created[5], &*created[4]]);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_string();
    let mut seen: Vec<String> = ids(&first);

    // Conversations created between pages go to the top: they never shift the pages after.
    let newcomer = create(app, &token, json!({ "title": "new" })).await;
    loop {
        let page = list(app, &token, &format!("limit=3&cursor={cursor}")).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(seen, expected, "every conversation once, newest first");
    assert!(!seen.contains(&newcomer["id"].as_str().unwrap().to_string()));

    // Activity moves a conversation to the top.
    ask(app, &token, &created[0], "hola").await;
    let top = list(app, &token, "limit=1").await;
    assert_eq!(ids(&top), [&*created[0]]);
}

async fn lists_filter_by_status_and_title_text(app: &TestApp) {
    let token = app.admin_token().await;
    let a = create(app, &token, json!({ "title": "Ahorro 100% solar" })).await;
    let b = create(app, &token, json!({ "title": "Factura de AHORRO" })).await;
    let c = create(app, &token, json!({ "title": "Otra cosa" })).await;
    let path = format!("/api/v1/conversations/{}", c["id"].as_str().unwrap());
    let res = app
        .patch_json(&path, &token, json!({ "status": "closed" }))
        .await;
    assert_eq!(res.status(), 200);

    let found: HashSet<String> = ids(&list(app, &token, "q=ahorro").await)
        .into_iter()
        .collect();
    let expected: HashSet<String> = [&a, &b]
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(found, expected, "case-insensitive title search");
    // `%` and `_` are literal characters, not wildcards.
    assert_eq!(ids(&list(app, &token, "q=100%25").await).len(), 1);
    assert_eq!(ids(&list(app, &token, "q=_").await).len(), 0);

    let closed = list(app, &token, "status=closed").await;
    assert_eq!(ids(&closed), [c["id"].as_str().unwrap()]);
    assert_eq!(ids(&list(app, &token, "status=open").await).len(), 2);

    // Someone else sees none of them.
    let other = app.user_token("otra@test.local").await;
    assert!(ids(&list(app, &other, "").await).is_empty());
}

async fn bad_list_parameters_are_422(app: &TestApp) {
    let token = app.admin_token().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=nonsense", "cursor"),
        ("cursor=6869", "cursor"),
        ("status=deleted", "status"),
    ] {
        let res = app
            .get(&format!("/api/v1/conversations?{query}"), &token)
            .await;
        assert_eq!(res.status(), 422, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let res = app.get("/api/v1/conversations?limit=abc", &token).await;
    assert!(res.status().is_client_error());
}

async fn model_and_system_prompt_change_what_ollama_is_sent(app: &TestApp) {
    let token = app.admin_token().await;
    let c = create(app, &token, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/v1/conversations/{id}");

    let res = app
        .patch_json(
            &path,
            &token,
            json!({ "model": "llama3.2:1b", "system_prompt": "Responde en inglés." }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let detail: Value = res.json().await.unwrap();
    assert_eq!(detail["conversation"]["model"], "llama3.2:1b");
    ask(app, &token, id, "hola").await;
    let sent = app.sim.last_chat_request().unwrap();
    assert_eq!(sent["model"], "llama3.2:1b");
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][0]["content"], "Responde en inglés.");

    // null goes back to the server's default prompt.
    let res = app
        .patch_json(&path, &token, json!({ "system_prompt": null }))
        .await;
    assert_eq!(res.status(), 200);
    ask(app, &token, id, "otra").await;
    let sent = app.sim.last_chat_request().unwrap();
    assert_eq!(
        sent["messages"][0]["content"],
        app.state.settings.chat.system_prompt.as_str()
    );
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user"],
        "history is sent"
    );

    let res = app
        .patch_json(&path, &token, json!({ "model": "gpt-9" }))
        .await;
    assert_eq!(error_code(res, 422).await, "unknown_model");
    let res = app
        .patch_json(&path, &token, json!({ "status": "archived" }))
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let other = app.user_token("otro@test.local").await;
    let res = app
        .patch_json(&path, &other, json!({ "title": "mío" }))
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let detail = app.conversation(id, &token).await;
    assert_eq!(
        detail["conversation"]["model"], "llama3.2:1b",
        "unchanged by refused changes"
    );
}

async fn deleted_conversations_disappear_for_their_owner_only(app: &TestApp) {
    let token = app.admin_token().await;
    let other = app.user_token("ajeno@test.local").await;
    let c = create(app, &token, json!({ "title": "borrar" })).await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/v1/conversations/{id}");
    ask(app, &token, id, "hola").await;

    assert_eq!(
        error_code(app.delete(&path, &other).await, 404).await,
        "not_found"
    );
    assert_eq!(app.delete(&path, &token).await.status(), 204);
    assert_eq!(
        error_code(app.get(&path, &token).await, 404).await,
        "not_found"
    );
    assert_eq!(
        error_code(app.delete(&path, &token).await, 404).await,
        "not_found"
    );
    assert!(ids(&list(app, &token, "").await).is_empty());
    let res = app
        .post_json(
            &format!("{path}/messages"),
            &token,
            json!({ "content": "sigo" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");

    // Soft: the rows are still there for the admins' supervision.
    let row = sqlx::query("select deleted_at from conversations where id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let deleted_at: Option<String> = sqlx::Row::try_get(&row, "deleted_at").unwrap();
    assert!(deleted_at.is_some());
    let messages = sqlx::query("select id from messages where conversation_id = $1")
        .bind(id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2);
}

async fn messages_page_backwards_to_the_first(app: &TestApp) {
    let token = app.admin_token().await;
    let c = create(app, &token, json!({})).await;
    let id = c["id"].as_str().unwrap();
    for i in 0..6 {
        ask(app, &token, id, &format!("pregunta {i}")).await;
    }
    let detail: Value = app
        .get_json(&format!("/api/v1/conversations/{id}?messages=4"), &token)
        .await;
    let latest = detail["messages"].as_array().unwrap().clone();
    assert_eq!(latest.len(), 4);
    assert_eq!(detail["has_more"], true);
    assert_eq!(latest[2]["content"], "pregunta 5");

    let mut all: Vec<Value> = latest;
    loop {
        let before = all[0]["id"].as_str().unwrap();
        let page: Value = app
            .get_json(
                &format!("/api/v1/conversations/{id}/messages?limit=5&before={before}"),
                &token,
            )
            .await;
        let mut items = page["items"].as_array().unwrap().clone();
        assert!(items.len() <= 5);
        items.extend(all);
        all = items;
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(all.len(), 12);
    let questions: Vec<&str> = all
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        questions,
        (0..6).map(|i| format!("pregunta {i}")).collect::<Vec<_>>()
    );
    assert!(
        all.iter()
            .filter(|m| m["role"] == "assistant")
            .all(|m| m["status"] == "complete"
                && m["meta"]["usage"]["completion_tokens"].as_u64() > Some(0))
    );

    let base = format!("/api/v1/conversations/{id}/messages");
    let res = app
        .get(&format!("{base}?before=no-such-message"), &token)
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let res = app.get(&format!("{base}?limit=0"), &token).await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let other = app.user_token("curioso@test.local").await;
    assert_eq!(
        error_code(app.get(&base, &other).await, 404).await,
        "not_found"
    );
}

async fn long_conversations_send_the_newest_history_that_fits(app: &TestApp) {
    use energyapp_llm::server::chat::history::estimate_tokens;
    let token = app.admin_token().await;
    let c = create(app, &token, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let filler = "consumo eléctrico ".repeat(12);
    for i in 0..8 {
        let events = ask(app, &token, id, &format!("pregunta {i}: {filler}")).await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "turn {i} answered"
        );
    }
    let sent = app.sim.last_chat_request().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    let total: usize = messages
        .iter()
        .map(|m| estimate_tokens(m["content"].as_str().unwrap()))
        .sum();
    assert!(total <= 400, "{total} tokens sent");
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(
        messages[1]["role"], "user",
        "history starts with a question"
    );
    let last = messages.last().unwrap()["content"].as_str().unwrap();
    assert!(last.starts_with("pregunta 7:"), "the new question is sent");
    assert!(messages.len() < 1 + 15, "the oldest messages were left out");
    assert!(
        messages.len() >= 3,
        "recent history is kept: {}",
        messages.len()
    );
}
