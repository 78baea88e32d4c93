use energyapp_llm::{
    server::{db::Backend as DbBackend, ollama_sim::reply_tokens},
    stream_events::StreamEvent,
};
use serde_json::{Value, json};

use crate::{
    common::{Events, TestApp, error_code, read_events, streamed_text},
    on_both_backends,
};

/// Checks the event sequence of a complete answer and returns (meta, text).
fn complete_turn(events: &[StreamEvent]) -> (energyapp_llm::stream_events::MetaEvent, String) {
    let StreamEvent::Meta(meta) = &events[0] else {
        panic!("first event is meta: {events:?}")
    };
    let Some(StreamEvent::Done(done)) = events.last() else {
        panic!("last event is done: {events:?}")
    };
    assert_eq!(done.message_id, meta.assistant_message_id);
    assert_eq!(done.status.as_str(), "complete");
    assert_eq!(done.done_reason.as_deref(), Some("stop"));
    assert_eq!(done.usage.completion_tokens, 12);
    assert!(done.usage.prompt_tokens > 0);
    assert!(
        events[1..events.len() - 1]
            .iter()
            .all(|e| matches!(e, StreamEvent::Token(_)))
    );
    (meta.clone(), streamed_text(events))
}

async fn a_new_chat_streams_and_is_stored(app: &TestApp) {
    let token = app.admin_token().await;
    let question = "¿Cuánta energía gasta un hogar? 👋";
    let events = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": question }))
            .await,
    )
    .await;
    let (meta, text) = complete_turn(&events);
    assert_eq!(
        text,
        reply_tokens(question, 12).concat(),
        "streamed text is the simulator's reply"
    );
    assert_eq!(meta.model, "qwen2.5:3b-instruct");

    // Stored byte for byte, with the usage in the message's metadata.
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    assert_eq!(detail["conversation"]["title"], question);
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (
            messages[0]["role"].as_str(),
            messages[0]["content"].as_str()
        ),
        (Some("user"), Some(question))
    );
    assert_eq!(messages[0]["id"], meta.user_message_id.as_str());
    assert_eq!(messages[1]["id"], meta.assistant_message_id.as_str());
    assert_eq!(messages[1]["content"], text.as_str());
    assert_eq!(messages[1]["status"], "complete");
    let stored_meta =
        energyapp_llm::server::db::messages::meta(&app.state.db, &meta.assistant_message_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored_meta["usage"]["completion_tokens"], 12);
    assert_eq!(stored_meta["done_reason"], "stop");

    // Listed, most recent first.
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    assert_eq!(list["items"][0]["id"], meta.conversation_id.as_str());
}

async fn follow_up_messages_extend_the_conversation(app: &TestApp) {
    let token = app.admin_token().await;
    let first = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": "primera" }))
            .await,
    )
    .await;
    let (meta, _) = complete_turn(&first);
    let path = format!("/api/v1/conversations/{}/messages", meta.conversation_id);
    let second = read_events(
        app.post_json(&path, &token, json!({ "content": "segunda" }))
            .await,
    )
    .await;
    let (meta2, text2) = complete_turn(&second);
    assert_eq!(meta2.conversation_id, meta.conversation_id);
    assert_eq!(text2, reply_tokens("segunda", 12).concat());
    // /chat with an explicit conversation id continues it too.
    let third = read_events(
        app.post_json(
            "/api/v1/chat",
            &token,
            json!({ "conversation_id": meta.conversation_id, "message": "tercera" }),
        )
        .await,
    )
    .await;
    complete_turn(&third);
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    let contents: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant"
        ]
    );
}

async fn plain_text_mode_streams_clean_text(app: &TestApp) {
    let token = app.admin_token().await;
    let res = app
        .http
        .post(app.url("/api/v1/chat"))
        .bearer_auth(&token)
        .header("accept", "text/plain")
        .json(&json!({ "message": "texto plano" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let conversation = res.headers()["x-conversation-id"]
        .to_str()
        .unwrap()
        .to_string();
    let answer_id = res.headers()["x-assistant-message-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body = res.text().await.unwrap();
    assert_eq!(body, reply_tokens("texto plano", 12).concat());
    let detail: Value = app
        .get_json(&format!("/api/v1/conversations/{conversation}"), &token)
        .await;
    assert_eq!(detail["messages"][1]["id"], answer_id.as_str());
    assert_eq!(detail["messages"][1]["content"], body.as_str());
}

async fn other_peoples_conversations_are_404(app: &TestApp) {
    let alice = app.user_token("alice@test.local").await;
    let bob = app.user_token("bob@test.local").await;
    let events = read_events(
        app.post_json("/api/v1/chat", &alice, json!({ "message": "secreto" }))
            .await,
    )
    .await;
    let (meta, _) = complete_turn(&events);
    let id = meta.conversation_id;

    let res = app.get(&format!("/api/v1/conversations/{id}"), &bob).await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let missing = app
        .get(
            "/api/v1/conversations/00000000-0000-0000-0000-000000000000",
            &bob,
        )
        .await;
    assert_eq!(error_code(missing, 404).await, "not_found");
    let res = app
        .post_json(
            &format!("/api/v1/conversations/{id}/messages"),
            &bob,
            json!({ "content": "hola" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .post_json(
            "/api/v1/chat",
            &bob,
            json!({ "conversation_id": id, "message": "hola" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let list: Value = app.get_json("/api/v1/conversations", &bob).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Alice's conversation is unchanged.
    let detail: Value = app
        .get_json(&format!("/api/v1/conversations/{id}"), &alice)
        .await;
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
}

async fn bad_chat_requests_are_refused_before_anything_is_stored(app: &TestApp) {
    let token = app.admin_token().await;
    let res = app
        .post_json("/api/v1/chat", &token, json!({ "message": "   " }))
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "x".repeat(32_001) }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let res = app
        .post_json("/api/v1/chat", &token, json!({ "text": "wrong field" }))
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "x".repeat(300 * 1024) }),
        )
        .await;
    assert_eq!(res.status(), 413);
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

async fn closed_conversations_refuse_new_messages(app: &TestApp) {
    let token = app.admin_token().await;
    let (meta, _) = complete_turn(
        &read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
                .await,
        )
        .await,
    );
    let path = format!("/api/v1/conversations/{}", meta.conversation_id);
    let res = app
        .patch_json(&path, &token, json!({ "status": "closed" }))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            &format!("/api/v1/conversations/{}/messages", meta.conversation_id),
            &token,
            json!({ "content": "más" }),
        )
        .await;
    assert_eq!(error_code(res, 409).await, "conflict");
}

/// A chat that starts a conversation may give its model and system prompt; the model then
/// hears the prompt first. An existing conversation's prompt is changed with PATCH, not here.
async fn a_new_chat_may_bring_its_model_and_system_prompt(app: &TestApp) {
    let token = app.admin_token().await;
    let events = read_events(
        app.post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "hola", "model": "llama3.2:1b", "system_prompt": "  Habla como un pirata.  " }),
        )
        .await,
    )
    .await;
    let StreamEvent::Meta(meta) = &events[0] else {
        panic!("first event is meta: {events:?}")
    };
    assert_eq!(meta.model, "llama3.2:1b");
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    assert_eq!(detail["conversation"]["model"], "llama3.2:1b");
    assert_eq!(
        detail["conversation"]["system_prompt"],
        "Habla como un pirata."
    );
    let sent = app.sim.last_chat_request().unwrap();
    assert_eq!(sent["model"], "llama3.2:1b");
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][0]["content"], "Habla como un pirata.");

    // An empty prompt is the default one (none stored).
    let events = read_events(
        app.post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "otra", "system_prompt": "   " }),
        )
        .await,
    )
    .await;
    let StreamEvent::Meta(other) = &events[0] else {
        panic!("first event is meta: {events:?}")
    };
    let detail: Value = app.conversation(&other.conversation_id, &token).await;
    assert!(
        detail["conversation"]["system_prompt"].is_null(),
        "{detail}"
    );

    // Not for a conversation that exists: nothing is stored.
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "conversation_id": meta.conversation_id, "message": "más", "system_prompt": "otra cosa" }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let detail: Value = app.conversation(&meta.conversation_id, &token).await;
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail["conversation"]["system_prompt"],
        "Habla como un pirata."
    );
}

async fn models_come_from_ollama(app: &TestApp) {
    let token = app.admin_token().await;
    let body: Value = app.get_json("/api/v1/models", &token).await;
    let items = body["items"].as_array().unwrap();
    let default: Vec<&str> = items
        .iter()
        .filter(|m| m["default"] == true)
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(default, ["qwen2.5:3b-instruct"]);
    assert!(items.iter().any(|m| m["name"] == "llama3.2:1b"));
}

/// Whoever hears that an answer ended finds it stored at once: in the messages, and in the
/// history of the question asked right after (on one instance the end is announced before the
/// final write lands, and reads wait for that write).
async fn an_ended_answer_is_there_for_the_very_next_request(app: &TestApp) {
    let token = app.admin_token().await;
    for round in 0..10 {
        let events = read_events(
            app.post_json(
                "/api/v1/chat",
                &token,
                json!({ "message": format!("ronda {round} [sim tokens=40]") }),
            )
            .await,
        )
        .await;
        let StreamEvent::Meta(meta) = &events[0] else {
            panic!("first event is meta: {events:?}")
        };
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "{events:?}"
        );
        let answer = streamed_text(&events);
        let conversation = &meta.conversation_id;

        let page: Value = app
            .get_json(
                &format!("/api/v1/conversations/{conversation}/messages"),
                &token,
            )
            .await;
        let last = page["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["id"], meta.assistant_message_id.as_str());
        assert_eq!(last["status"], "complete", "round {round}: {last}");
        assert_eq!(last["content"], answer.as_str(), "round {round}");

        let next = app
            .post_json(
                &format!("/api/v1/conversations/{conversation}/messages"),
                &token,
                json!({ "content": "¿y luego?" }),
            )
            .await;
        assert_eq!(
            next.status(),
            200,
            "round {round}: the conversation is free again"
        );
        let events = read_events(next).await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "{events:?}"
        );
        let sent = app.sim.last_chat_request().unwrap();
        let history = sent["messages"].as_array().unwrap();
        let previous = &history[history.len() - 2];
        assert_eq!(previous["role"], "assistant", "round {round}: {sent}");
        assert_eq!(previous["content"], answer.as_str(), "round {round}");
    }
}

/// An answer moves its conversation to the top of its owner's list when it ends: a conversation
/// started meanwhile does not keep it down. Stored with the answer, so once the conversation
/// can be read after `done`, the list has it first.
async fn an_answer_moves_its_conversation_to_the_top(app: &TestApp) {
    let token = app.admin_token().await;
    let slow = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "la lenta [sim tokens=10 delay_ms=40]" }),
        )
        .await;
    let mut slow = Events::new(slow);
    let Some(StreamEvent::Meta(slow_meta)) = slow.next().await else {
        panic!("the first event is meta")
    };
    // A conversation started while the answer streams (empty: the test server answers one
    // question at a time).
    let res = app
        .post_json("/api/v1/conversations", &token, json!({ "title": "nueva" }))
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let newer = created["id"].as_str().unwrap().to_string();
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    assert_eq!(
        ids(&list),
        [newer.clone(), slow_meta.conversation_id.clone()],
        "the newer conversation first while the other answer streams: {list}"
    );

    let rest = slow.rest().await;
    let Some(StreamEvent::Done(done)) = rest.last() else {
        panic!("ends with done: {rest:?}")
    };
    assert_eq!(done.status.as_str(), "complete");
    // Reading the conversation waits for its answer's final write.
    let detail = app.conversation(&slow_meta.conversation_id, &token).await;
    assert_eq!(detail["messages"][1]["status"], "complete", "{detail}");
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    assert_eq!(
        ids(&list),
        [slow_meta.conversation_id.clone(), newer],
        "the conversation whose answer ended last first: {list}"
    );
    assert!(
        list["items"][0]["updated_at"].as_str() > list["items"][1]["updated_at"].as_str(),
        "{list}"
    );
}

/// Whoever hears of a turn finds it: the conversation, its question and the answer (streaming)
/// are there as soon as the `meta` event arrives, and the conversation is in its owner's list.
async fn a_new_conversation_is_there_as_soon_as_its_meta_arrives(app: &TestApp) {
    let token = app.admin_token().await;
    for round in 0..5 {
        let question = format!("ronda {round} [sim tokens=200 delay_ms=20]");
        let res = app
            .post_json("/api/v1/chat", &token, json!({ "message": question }))
            .await;
        let mut events = Events::new(res);
        let Some(StreamEvent::Meta(meta)) = events.next().await else {
            panic!("the first event is meta")
        };
        let id = &meta.conversation_id;
        let detail = app.conversation(id, &token).await;
        assert_eq!(
            detail["conversation"]["id"],
            id.as_str(),
            "round {round}: {detail}"
        );
        let messages = detail["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "round {round}: {detail}");
        assert_eq!(messages[0]["id"], meta.user_message_id.as_str());
        assert_eq!(messages[0]["content"], question.as_str());
        assert_eq!(messages[1]["id"], meta.assistant_message_id.as_str());
        assert_eq!(messages[1]["status"], "streaming");
        let list: Value = app.get_json("/api/v1/conversations", &token).await;
        assert_eq!(list["items"][0]["id"], id.as_str(), "round {round}: {list}");
        assert_eq!(app.stop_answer(id, &token).await.status(), 200);
        let rest = events.rest().await;
        let Some(StreamEvent::Done(done)) = rest.last() else {
            panic!("ends with done: {rest:?}")
        };
        assert_eq!(done.status.as_str(), "stopped");
    }
}

/// If the turn's rows cannot be written, nothing of it is stored, the request gets a 500 in the
/// usual error shape, and the call to Ollama begun beside the write is dropped.
async fn a_turn_that_cannot_be_stored_is_an_error_and_leaves_nothing(app: &TestApp) {
    let token = app.admin_token().await;
    let refuse = match app.state.db.backend {
        DbBackend::Sqlite => vec![
            "create trigger refuse_boom before insert on messages when new.content like 'boom%' \
             begin select raise(abort, 'refused by the test'); end",
        ],
        DbBackend::Postgres => vec![
            "create function refuse_boom() returns trigger language plpgsql as $$ \
             begin if new.content like 'boom%' then raise exception 'refused by the test'; end if; \
             return new; end $$",
            "create trigger refuse_boom before insert on messages \
             for each row execute function refuse_boom()",
        ],
    };
    for statement in refuse {
        sqlx::query(statement)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    let completed = app.sim.stats().completed;
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "boom [sim tokens=200 delay_ms=20]" }),
        )
        .await;
    assert_eq!(error_code(res, 500).await, "internal");
    let stored: (i64, i64) = sqlx::query_as(
        "select (select count(*) from conversations where title like 'boom%'), \
                (select count(*) from messages where content like 'boom%')",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, (0, 0), "nothing of the turn is stored");
    let sim = app.wait_for_sim_idle().await;
    assert_eq!(sim.in_flight, 0, "the call to Ollama was dropped: {sim:?}");
    assert_eq!(sim.completed, completed, "{sim:?}");
    // Other turns go on.
    let events = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
            .await,
    )
    .await;
    assert!(
        matches!(events.last(), Some(StreamEvent::Done(_))),
        "{events:?}"
    );
}

on_both_backends!(
    a_new_chat_streams_and_is_stored,
    a_new_chat_may_bring_its_model_and_system_prompt,
    follow_up_messages_extend_the_conversation,
    plain_text_mode_streams_clean_text,
    other_peoples_conversations_are_404,
    bad_chat_requests_are_refused_before_anything_is_stored,
    closed_conversations_refuse_new_messages,
    models_come_from_ollama,
    an_ended_answer_is_there_for_the_very_next_request,
    a_new_conversation_is_there_as_soon_as_its_meta_arrives,
    a_turn_that_cannot_be_stored_is_an_error_and_leaves_nothing,
    an_answer_moves_its_conversation_to_the_top,
);
