//! API keys and the OpenAI-compatible `/v1`: key lifecycle and limits, completions whole and
//! streamed, cancellation, usage per key, and the official Python and npm SDKs.

use std::{path::Path, process::Command, time::Duration};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    common::{ADMIN_EMAIL, TestApp, create_key, error_code},
    on_both_backends,
};
use energyapp_llm::server::ollama_sim::reply_tokens;

const MODEL: &str = "qwen2.5:3b-instruct";

on_both_backends!(
    keys_are_shown_once_listed_without_secret_and_audited,
    refused_keys_get_openai_401s,
    completions_whole_and_streamed_relay_what_ollama_says,
    keys_are_limited_to_their_models_rate_and_budget,
    closing_the_client_mid_stream_cancels_ollama,
    keys_can_store_their_chats_for_supervision,
    the_official_python_and_npm_sdks_work_unchanged,
);

async fn openai_error(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(body["error"]["type"].is_string());
    body["error"].clone()
}

async fn complete(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.post_json("/v1/chat/completions", key, body).await
}

fn ask(prompt: &str) -> Value {
    json!({ "model": MODEL, "messages": [{ "role": "user", "content": prompt }] })
}

async fn keys_are_shown_once_listed_without_secret_and_audited(app: &TestApp) {
    let admin = app.admin_token().await;
    let (secret, key) = create_key(
        app,
        &admin,
        json!({ "name": "ERP Laravel", "owner": ADMIN_EMAIL }),
    )
    .await;
    assert!(secret.starts_with("ea_") && secret.len() >= 40);
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));
    let list: Value = app.get_json("/api/v1/admin/api-keys", &admin).await;
    let text = list.to_string();
    assert!(!text.contains(&secret), "the secret is never listed");
    assert_eq!(list["items"][0]["name"], "ERP Laravel");
    assert_eq!(list["items"][0]["owner_email"], ADMIN_EMAIL);
    // Only a hash is stored.
    let row = sqlx::query("select key_hash from api_keys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let hash: String = sqlx::Row::try_get(&row, "key_hash").unwrap();
    assert_ne!(hash, secret);
    assert!(!hash.contains(&secret[3..]));

    for (body, field) in [
        (json!({ "name": "", "owner": ADMIN_EMAIL }), "name"),
        (json!({ "name": "x", "owner": "nadie@x.test" }), "owner"),
        (
            json!({ "name": "x", "owner": ADMIN_EMAIL, "expires_at": "2020-01-01" }),
            "expires_at",
        ),
        (
            json!({ "name": "x", "owner": ADMIN_EMAIL, "rate_limit_per_min": 0 }),
            "rate_limit_per_min",
        ),
    ] {
        let res = app.post_json("/api/v1/admin/api-keys", &admin, body).await;
        assert_eq!(res.status(), 422, "{field}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["field"], field);
    }
    let res = app
        .post_json(
            "/api/v1/admin/api-keys",
            &admin,
            json!({ "name": "x", "owner": ADMIN_EMAIL, "allowed_models": ["gpt-9"] }),
        )
        .await;
    assert_eq!(error_code(res, 422).await, "unknown_model");

    let id = key["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/api-keys/{id}");
    assert_eq!(
        app.patch_json(&path, &admin, json!({ "disabled": true }))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.patch_json(&path, &admin, json!({ "disabled": false }))
            .await
            .status(),
        200
    );
    assert_eq!(app.delete(&path, &admin).await.status(), 204);
    let res = app
        .patch_json(&path, &admin, json!({ "disabled": false }))
        .await;
    assert_eq!(error_code(res, 409).await, "conflict");
    let audit: Value = app
        .get_json(&format!("/api/v1/admin/audit?target_id={id}"), &admin)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "api_key.revoked",
            "api_key.enabled",
            "api_key.disabled",
            "api_key.created"
        ]
    );

    // A key is for apps: it never opens the admin API, even an admin's.
    let (admin_key, _) = create_key(
        app,
        &admin,
        json!({ "name": "script", "owner": ADMIN_EMAIL }),
    )
    .await;
    let res = app.get("/api/v1/admin/users", &admin_key).await;
    assert_eq!(error_code(res, 403).await, "forbidden");
    assert_eq!(app.get("/api/v1/me", &admin_key).await.status(), 200);
}

async fn refused_keys_get_openai_401s(app: &TestApp) {
    let admin = app.admin_token().await;
    app.user_token("dueña@test.local").await;
    let (secret, key) = create_key(
        app,
        &admin,
        json!({ "name": "app", "owner": "dueña@test.local" }),
    )
    .await;
    assert_eq!(complete(app, &secret, ask("hola")).await.status(), 200);

    for wrong in ["ea_wrong", "not-even-a-key", ""] {
        let e = openai_error(app.get("/v1/models", wrong).await, 401).await;
        assert_eq!(e["code"], "invalid_api_key");
    }
    let res = app.http.get(app.url("/v1/models")).send().await.unwrap();
    assert_eq!(openai_error(res, 401).await["code"], "invalid_api_key");

    let path = format!("/api/v1/admin/api-keys/{}", key["id"].as_str().unwrap());
    app.patch_json(&path, &admin, json!({ "disabled": true }))
        .await;
    openai_error(complete(app, &secret, ask("hola")).await, 401).await;
    app.patch_json(&path, &admin, json!({ "disabled": false }))
        .await;
    assert_eq!(complete(app, &secret, ask("hola")).await.status(), 200);

    // The owner deactivated: the key stops at once.
    let users: Value = app.get_json("/api/v1/admin/users?q=due", &admin).await;
    let owner = format!(
        "/api/v1/admin/users/{}",
        users["items"][0]["id"].as_str().unwrap()
    );
    app.patch_json(&owner, &admin, json!({ "active": false }))
        .await;
    openai_error(app.get("/v1/models", &secret).await, 401).await;
    app.patch_json(&owner, &admin, json!({ "active": true }))
        .await;
    assert_eq!(app.get("/v1/models", &secret).await.status(), 200);

    app.delete(&path, &admin).await;
    openai_error(app.get("/v1/models", &secret).await, 401).await;

    // Expiry.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (expiring, _) = create_key(
        app,
        &admin,
        json!({ "name": "temp", "owner": ADMIN_EMAIL, "expires_at": soon }),
    )
    .await;
    assert_eq!(app.get("/v1/models", &expiring).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    openai_error(app.get("/v1/models", &expiring).await, 401).await;
}

async fn read_sse_text(res: reqwest::Response) -> (String, Vec<Value>, bool) {
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = res.text().await.unwrap();
    let (mut text, mut chunks, mut done) = (String::new(), Vec::new(), false);
    for line in body.lines().filter(|l| l.starts_with("data: ")) {
        let data = &line[6..];
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(data).unwrap();
        if let Some(c) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
        chunks.push(chunk);
    }
    (text, chunks, done)
}

async fn completions_whole_and_streamed_relay_what_ollama_says(app: &TestApp) {
    let admin = app.admin_token().await;
    let (key, _) = create_key(app, &admin, json!({ "name": "app", "owner": ADMIN_EMAIL })).await;
    let prompt = "¿Qué es la potencia reactiva? 🔌";
    let res = complete(app, &key, ask(prompt)).await;
    assert_eq!(res.status(), 200);
    let whole: Value = res.json().await.unwrap();
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["model"], MODEL);
    assert_eq!(whole["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        whole["choices"][0]["message"]["content"],
        reply_tokens(prompt, 12).concat()
    );
    assert_eq!(whole["choices"][0]["finish_reason"], "stop");
    assert_eq!(whole["usage"]["completion_tokens"], 12);
    assert_eq!(
        whole["usage"]["total_tokens"].as_u64(),
        Some(whole["usage"]["prompt_tokens"].as_u64().unwrap() + 12)
    );

    let mut body = ask(prompt);
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let (text, chunks, done) = read_sse_text(complete(app, &key, body).await).await;
    assert!(done, "ends with [DONE]");
    assert_eq!(text, reply_tokens(prompt, 12).concat());
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"].as_array().unwrap().len(), 0);
    assert_eq!(last["usage"]["completion_tokens"], 12);
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );

    // max_tokens reaches Ollama as num_predict; the answer stops there.
    let mut body = ask(prompt);
    body["max_tokens"] = json!(5);
    let short: Value = complete(app, &key, body).await.json().await.unwrap();
    assert_eq!(
        short["choices"][0]["message"]["content"],
        reply_tokens(prompt, 5).concat()
    );
    assert_eq!(
        app.sim.last_chat_request().unwrap()["options"]["num_predict"],
        5
    );

    // Bad requests are OpenAI-shaped 400s; unknown models 404.
    for body in [
        json!({ "model": MODEL, "messages": [] }),
        json!({ "model": MODEL }),
        json!({ "model": MODEL, "messages": [{ "role": "tool", "content": "x" }] }),
        json!({ "model": MODEL, "messages": [{ "role": "user", "content": "x" }], "temperature": 5 }),
    ] {
        let e = openai_error(complete(app, &key, body).await, 400).await;
        assert_eq!(e["type"], "invalid_request_error");
    }
    let mut body = ask("x");
    body["model"] = json!("gpt-4o");
    assert_eq!(
        openai_error(complete(app, &key, body).await, 404).await["code"],
        "model_not_found"
    );
    // Not stored by default.
    let list: Value = app.get_json("/api/v1/conversations", &admin).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

async fn keys_are_limited_to_their_models_rate_and_budget(app: &TestApp) {
    let admin = app.admin_token().await;
    let (small, _) = create_key(
        app,
        &admin,
        json!({ "name": "small", "owner": ADMIN_EMAIL, "allowed_models": ["llama3.2:1b"] }),
    )
    .await;
    let models: Value = app.get_json("/v1/models", &small).await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["llama3.2:1b"]);
    assert_eq!(
        openai_error(complete(app, &small, ask("hola")).await, 404).await["code"],
        "model_not_found"
    );
    let mut body = ask("hola");
    body["model"] = json!("llama3.2:1b");
    assert_eq!(complete(app, &small, body).await.status(), 200);

    let (limited, _) = create_key(
        app,
        &admin,
        json!({ "name": "rate", "owner": ADMIN_EMAIL, "rate_limit_per_min": 2 }),
    )
    .await;
    assert_eq!(complete(app, &limited, ask("uno")).await.status(), 200);
    assert_eq!(complete(app, &limited, ask("dos")).await.status(), 200);
    let res = complete(app, &limited, ask("tres")).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(openai_error(res, 429).await["code"], "rate_limit_exceeded");

    let (budget, key) = create_key(
        app,
        &admin,
        json!({ "name": "budget", "owner": ADMIN_EMAIL, "monthly_token_budget": 30 }),
    )
    .await;
    let mut spent = 0;
    let mut refused = None;
    for i in 0..10 {
        let res = complete(app, &budget, ask(&format!("pregunta {i}"))).await;
        if res.status() == 429 {
            refused = Some(openai_error(res, 429).await);
            break;
        }
        let body: Value = res.json().await.unwrap();
        // The next request counts this one at once: its usage is written, or waited for.
        spent += body["usage"]["total_tokens"].as_i64().unwrap();
    }
    assert_eq!(
        refused.expect("the budget runs out")["code"],
        "insufficient_quota"
    );
    assert!(spent >= 30);
    let list: Value = app.get_json("/api/v1/admin/api-keys", &admin).await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key["id"])
        .unwrap()
        .clone();
    assert_eq!(
        row["prompt_tokens_this_month"].as_i64().unwrap()
            + row["completion_tokens_this_month"].as_i64().unwrap(),
        spent,
        "usage per key = the sums of the answers' usage"
    );
}

async fn closing_the_client_mid_stream_cancels_ollama(app: &TestApp) {
    let admin = app.admin_token().await;
    let (key, _) = create_key(app, &admin, json!({ "name": "app", "owner": ADMIN_EMAIL })).await;
    let mut body = ask("larga [sim tokens=1000 delay_ms=10]");
    body["stream"] = json!(true);
    let res = complete(app, &key, body).await;
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let mut seen = 0;
    while seen < 300 {
        seen += stream.next().await.unwrap().unwrap().len();
    }
    drop(stream);
    assert_eq!(
        app.wait_for_cancelled(1).await,
        1,
        "Ollama saw the connection close"
    );
    assert_eq!(app.sim.stats().in_flight, 0);
    // The slot is free again.
    assert_eq!(complete(app, &key, ask("hola")).await.status(), 200);
}

async fn keys_can_store_their_chats_for_supervision(app: &TestApp) {
    let admin = app.admin_token().await;
    let (key, _) = create_key(
        app,
        &admin,
        json!({ "name": "soporte", "owner": ADMIN_EMAIL, "store_conversations": true }),
    )
    .await;
    let mut body = ask("¿Horario de atención?");
    body["user"] = json!("cliente-42");
    let whole: Value = complete(app, &key, body).await.json().await.unwrap();
    let mut list = Value::Null;
    for _ in 0..50 {
        list = app.get_json("/api/v1/admin/conversations", &admin).await;
        if !list["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let conversation = &list["items"][0];
    assert_eq!(conversation["title"], "API · soporte");
    // The conversation is listed as soon as it is created; its messages follow.
    let mut detail = Value::Null;
    for _ in 0..250 {
        detail = app
            .get_json(
                &format!(
                    "/api/v1/admin/conversations/{}",
                    conversation["id"].as_str().unwrap()
                ),
                &admin,
            )
            .await;
        if detail["messages"][1]["status"] == "complete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(detail["messages"][0]["content"], "¿Horario de atención?");
    assert_eq!(
        detail["messages"][1]["content"],
        whole["choices"][0]["message"]["content"]
    );
    assert_eq!(detail["messages"][1]["meta"]["end_user"], "cliente-42");
}

fn tool(path: &str) -> std::path::PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh --test",
        path.display()
    );
    path
}

fn run_sdk(program: &Path, script: &Path, base: &str, key: &str, prompt: &str) -> Value {
    let out = Command::new(program)
        .arg(script)
        .args([base, key, MODEL, prompt])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn the_official_python_and_npm_sdks_work_unchanged(app: &TestApp) {
    let admin = app.admin_token().await;
    let (key, _) = create_key(app, &admin, json!({ "name": "sdk", "owner": ADMIN_EMAIL })).await;
    let base = app.url("/v1");
    tool("end2end/node_modules/openai/package.json");
    let python = tool("target/pytools/bin/python");
    let node = std::path::PathBuf::from("node");
    for (program, script, prompt) in [
        (
            python,
            tool("end2end/clients/openai_sdk.py"),
            "Hola desde Laravel… o Python 🐍",
        ),
        (
            node,
            tool("end2end/clients/openai_sdk.mjs"),
            "Hola desde Node.js ⚡",
        ),
    ] {
        let expected = reply_tokens(prompt, 12).concat();
        let (base, key, prompt) = (base.clone(), key.clone(), prompt.to_string());
        let seen =
            tokio::task::spawn_blocking(move || run_sdk(&program, &script, &base, &key, &prompt))
                .await
                .unwrap();
        assert_eq!(seen["text"], expected.as_str(), "{seen}");
        assert_eq!(seen["streamed"], expected.as_str(), "{seen}");
        assert_eq!(seen["finish_reason"], "stop");
        assert_eq!(seen["usage"], 12);
        assert_eq!(seen["stream_usage"], 12);
        assert_eq!(seen["models"], json!(["llama3.2:1b", MODEL]));
        assert_eq!(seen["wrong_key"], 401);
    }
}
