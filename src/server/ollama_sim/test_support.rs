//! Helpers for the in-process HTTP tests: a real listener from [`spawn`], a real client (reqwest).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use super::{SimOptions, SimStats, Simulator, spawn};

/// A fresh simulator (fast tokens) on an ephemeral port, and its base URL.
pub async fn start() -> (Simulator, String) {
    let sim = Simulator::new(SimOptions {
        token_delay: Duration::from_millis(1),
        ..SimOptions::default()
    });
    let (addr, _task) = spawn(sim.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("bind");
    (sim, format!("http://{addr}"))
}

pub fn chat_body(prompt: &str, extra: Value) -> Value {
    let mut body = json!({
        "model": "qwen2.5:3b-instruct",
        "messages": [{"role": "system", "content": "Eres útil."}, {"role": "user", "content": prompt}],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

pub async fn post(base: &str, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .expect("send")
}

/// Reads an NDJSON body to its end: the parsed lines, and the transport error if it was cut.
pub async fn read_lines(response: reqwest::Response) -> (Vec<Value>, Option<reqwest::Error>) {
    let mut body = response.bytes_stream();
    let (mut buffer, mut lines) = (Vec::new(), Vec::new());
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => buffer.extend_from_slice(&bytes),
            Err(err) => return (lines, Some(err)),
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            lines.push(serde_json::from_slice(&line).expect("each line is JSON"));
        }
    }
    assert!(buffer.is_empty(), "trailing bytes without newline");
    (lines, None)
}

pub fn content_of(lines: &[Value]) -> String {
    lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect()
}

pub async fn wait_for(sim: &Simulator, check: impl Fn(SimStats) -> bool) -> SimStats {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !check(sim.stats()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.stats()
}
