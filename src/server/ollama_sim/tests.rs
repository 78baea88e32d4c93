//! In-process HTTP tests of the happy paths: streamed and non-streamed replies, info endpoints.

use serde_json::{Value, json};

use super::test_support::{chat_body, content_of, post, read_lines, start, wait_for};
use super::{SimStats, reply_tokens};

#[tokio::test]
async fn streamed_chat_matches_reply_tokens() {
    let (sim, base) = start().await;
    let prompt = "¿Cómo ahorro energía? [sim tokens=12 delay_ms=2]";
    let response = post(&base, "/api/chat", &chat_body(prompt, json!({}))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let (lines, err) = read_lines(response).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(lines.len(), 13);
    assert_eq!(content_of(&lines), reply_tokens(prompt, 12).concat());
    assert!(
        lines[..12]
            .iter()
            .all(|l| l["done"] == false && l["model"] == "qwen2.5:3b-instruct")
    );
    let last = &lines[12];
    assert_eq!(
        (&last["done"], &last["done_reason"], &last["eval_count"]),
        (&json!(true), &json!("stop"), &json!(12))
    );
    assert_eq!(last["message"]["content"], "");
    assert!(last["prompt_eval_count"].as_u64() > Some(1));
    for key in [
        "total_duration",
        "load_duration",
        "prompt_eval_duration",
        "eval_duration",
    ] {
        assert!(last[key].is_u64(), "{key} missing");
    }
    assert!(
        last["eval_duration"].as_u64() >= Some(20_000_000),
        "11 gaps of 2 ms, in ns"
    );
    let created_at = last["created_at"].as_str().expect("created_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
    let stats = wait_for(&sim, |s| s.in_flight == 0).await;
    assert_eq!(
        stats,
        SimStats {
            requests: 1,
            completed: 1,
            cancelled: 0,
            in_flight: 0
        }
    );
}

#[tokio::test]
async fn non_streamed_chat_and_generate() {
    let (_sim, base) = start().await;
    let prompt = "hola [sim tokens=6]";
    let response = post(
        &base,
        "/api/chat",
        &chat_body(prompt, json!({"stream": false})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.expect("json");
    assert_eq!(v["message"]["content"], reply_tokens(prompt, 6).concat());
    assert_eq!((&v["done"], &v["eval_count"]), (&json!(true), &json!(6)));

    let body = json!({"model": "llama3.2:1b", "prompt": prompt, "options": {"num_predict": 4}});
    let (lines, _) = read_lines(post(&base, "/api/generate", &body).await).await;
    let text: String = lines
        .iter()
        .filter_map(|l| l["response"].as_str())
        .collect();
    assert_eq!(text, reply_tokens(prompt, 4).concat());
    let last = lines.last().expect("final chunk");
    assert_eq!(
        (&last["done_reason"], &last["eval_count"]),
        (&json!("length"), &json!(4))
    );
    assert!(last["context"].is_array());
}

#[tokio::test]
async fn info_endpoints() {
    let (_sim, base) = start().await;
    let get = |path: &str| reqwest::get(format!("{base}{path}"));
    assert_eq!(
        get("/").await.expect("get").text().await.expect("text"),
        "Ollama is running"
    );
    let version: Value = get("/api/version")
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(version, json!({"version": "0.6.2"}));
    let tags: Value = get("/api/tags")
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(tags["models"][1]["name"], "llama3.2:1b");
    assert_eq!(tags["models"][0]["details"]["format"], "gguf");
    let show = post(&base, "/api/show", &json!({"model": "llama3.2:1b"})).await;
    assert!(show.json::<Value>().await.expect("json")["model_info"].is_object());
    assert_eq!(
        post(&base, "/api/show", &json!({"model": "x"}))
            .await
            .status(),
        404
    );
    post(
        &base,
        "/api/chat",
        &chat_body("[sim tokens=1]", json!({"stream": false})),
    )
    .await;
    let ps: Value = get("/api/ps")
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(ps["models"][0]["name"], "qwen2.5:3b-instruct");
}
