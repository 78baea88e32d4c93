//! In-process HTTP tests of failures: error statuses, mid-stream errors, cuts, stalls and
//! clients that go away.

use futures::StreamExt;
use serde_json::{Value, json};

use super::test_support::{chat_body, content_of, post, read_lines, start, wait_for};
use super::{Fault, SimOptions, reply_tokens};

#[tokio::test]
async fn errors_look_like_ollama() {
    let (sim, base) = start().await;
    let mut unknown = chat_body("hola", json!({}));
    unknown["model"] = json!("nope:7b");
    let response = post(&base, "/api/chat", &unknown).await;
    assert_eq!(response.status(), 404);
    let v: Value = response.json().await.expect("json");
    assert_eq!(
        v["error"],
        "model \"nope:7b\" not found, try pulling it first"
    );

    let client = reqwest::Client::new();
    let bad = client
        .post(format!("{base}/api/chat"))
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.expect("json")["error"].is_string());
    assert_eq!(
        post(&base, "/api/generate", &json!({"prompt": "x"}))
            .await
            .status(),
        400
    );

    sim.set_options(SimOptions {
        fault: Some(Fault::Http500),
        ..sim.options()
    });
    let response = post(&base, "/api/chat", &chat_body("hola", json!({}))).await;
    assert_eq!(response.status(), 500);
    let v: Value = response.json().await.expect("json");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("llama runner process has terminated"))
    );
}

#[tokio::test]
async fn error_mid_stream_sends_an_error_line() {
    let (sim, base) = start().await;
    let prompt = "hola [sim tokens=10 fault=error_mid:3]";
    let (lines, err) =
        read_lines(post(&base, "/api/chat", &chat_body(prompt, json!({}))).await).await;
    assert!(err.is_none(), "the body ends cleanly: {err:?}");
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(content_of(&lines[..3]), reply_tokens(prompt, 3).concat());
    assert!(lines[3]["error"].is_string() && lines.iter().all(|l| l["done"] != true));
    let stats = wait_for(&sim, |s| s.in_flight == 0).await;
    assert_eq!((stats.completed, stats.cancelled), (0, 0));
}

#[tokio::test]
async fn cut_mid_stream_aborts_the_body() {
    let (_sim, base) = start().await;
    let prompt = "hola [sim tokens=10 fault=cut:2]";
    let (lines, err) =
        read_lines(post(&base, "/api/chat", &chat_body(prompt, json!({}))).await).await;
    assert!(
        err.is_some(),
        "a cut must surface as a body error, got lines {lines:?}"
    );
    assert_eq!(content_of(&lines), reply_tokens(prompt, 2).concat());
    assert!(lines.iter().all(|l| l["done"] == false));
}

#[tokio::test]
async fn dropping_the_client_counts_as_cancelled() {
    let (sim, base) = start().await;
    for prompt in [
        "[sim tokens=100000 delay_ms=5]",
        "[sim tokens=10 fault=stall:1]",
    ] {
        let before = sim.stats().cancelled;
        let response = post(&base, "/api/chat", &chat_body(prompt, json!({}))).await;
        let mut body = response.bytes_stream();
        assert!(body.next().await.is_some_and(|chunk| chunk.is_ok()));
        assert_eq!(sim.stats().in_flight, 1);
        drop(body);
        let stats = wait_for(&sim, |s| s.cancelled > before && s.in_flight == 0).await;
        assert_eq!(
            (stats.cancelled, stats.in_flight),
            (before + 1, 0),
            "{prompt}"
        );
    }
}
