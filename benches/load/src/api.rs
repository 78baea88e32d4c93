//! Talking to the app (REST + SSE) and, for comparison, straight to the simulator (NDJSON).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::{
    error::{BenchError, Result},
    sse::{SseEvent, SseSplitter},
};

/// One HTTP client for a whole scenario: connections are reused, none is limited.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// One streamed answer, timed from the moment the request was sent.
#[derive(Clone, Debug)]
pub struct Streamed {
    pub started: Instant,
    pub first_token: Duration,
    pub total: Duration,
    pub text: String,
    /// The answer's message id (empty for the simulator).
    pub message_id: String,
    pub completion_tokens: u64,
    /// When a token event arrived and how long after the previous one (only when asked for).
    pub gaps: Vec<(Instant, Duration)>,
}

#[derive(Deserialize)]
struct Login {
    access_token: String,
}

#[derive(Deserialize)]
struct TokenData {
    content: String,
}

#[derive(Deserialize)]
struct DoneData {
    message_id: String,
    status: String,
    usage: UsageData,
}

#[derive(Deserialize)]
struct UsageData {
    completion_tokens: u64,
}

/// A signed-in caller of the app.
#[derive(Clone)]
pub struct App {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// `POST /api/v1/auth/login`; the access token.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String> {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(BenchError::Protocol(format!("login: {}", res.status())));
    }
    Ok(res.json::<Login>().await?.access_token)
}

impl App {
    pub async fn sign_in(
        http: &reqwest::Client,
        base: &str,
        email: &str,
        password: &str,
    ) -> Result<App> {
        let token = login(http, base, email, password).await?;
        Ok(App {
            http: http.clone(),
            base: base.to_string(),
            token,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with the token; the body and the time to the last byte.
    pub async fn get_timed(&self, path: &str) -> Result<(String, Duration)> {
        let started = Instant::now();
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            return Err(BenchError::Protocol(format!("GET {path}: {status}")));
        }
        Ok((body, started.elapsed()))
    }

    /// `POST /api/v1/admin/users` (as an admin); the new account's id.
    pub async fn create_user(&self, email: &str, password: &str) -> Result<String> {
        let res = self
            .http
            .post(self.url("/api/v1/admin/users"))
            .bearer_auth(&self.token)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(BenchError::Protocol(format!(
                "create user: {}",
                res.status()
            )));
        }
        let created: serde_json::Value = res.json().await?;
        created["user"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| BenchError::Protocol("create user: no id".into()))
    }

    /// A page as the browser gets it (the access token in its cookie).
    pub async fn page_timed(&self, path: &str) -> Result<(String, Duration)> {
        let started = Instant::now();
        let res = self
            .http
            .get(self.url(path))
            .header("cookie", format!("ea_access={}", self.token))
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            return Err(BenchError::Protocol(format!("page {path}: {status}")));
        }
        Ok((body, started.elapsed()))
    }

    /// Asks `message` in a new conversation (`POST /api/v1/chat`) and reads the whole answer.
    pub async fn chat(&self, message: &str, keep_gaps: bool) -> Result<Streamed> {
        let started = Instant::now();
        let res = self
            .http
            .post(self.url("/api/v1/chat"))
            .bearer_auth(&self.token)
            .json(&json!({ "message": message }))
            .send()
            .await?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            return Err(BenchError::Protocol(format!("chat: {status} {body}")));
        }
        let mut body = res.bytes_stream();
        let mut splitter = SseSplitter::default();
        let mut events: Vec<SseEvent> = Vec::new();
        let mut out = Streamed {
            started,
            first_token: Duration::ZERO,
            total: Duration::ZERO,
            text: String::new(),
            message_id: String::new(),
            completion_tokens: 0,
            gaps: Vec::new(),
        };
        let mut last_token: Option<Instant> = None;
        while let Some(chunk) = body.next().await {
            splitter.feed(&chunk?, &mut events);
            let now = Instant::now();
            for event in events.drain(..) {
                match event.name.as_str() {
                    "token" => {
                        let token: TokenData = parse(&event.data)?;
                        out.text.push_str(&token.content);
                        match last_token {
                            None => out.first_token = now - started,
                            Some(last) if keep_gaps => out.gaps.push((now, now - last)),
                            Some(_) => {}
                        }
                        last_token = Some(now);
                    }
                    "done" => {
                        let done: DoneData = parse(&event.data)?;
                        if done.status != "complete" {
                            return Err(BenchError::Protocol(format!("answer {}", done.status)));
                        }
                        out.message_id = done.message_id;
                        out.completion_tokens = done.usage.completion_tokens;
                        out.total = now - started;
                        return Ok(out);
                    }
                    "error" => {
                        return Err(BenchError::Protocol(format!("error event {}", event.data)));
                    }
                    _ => {}
                }
            }
        }
        Err(BenchError::Protocol("the stream ended without done".into()))
    }
}

#[derive(Deserialize)]
struct SimChunk {
    #[serde(default)]
    message: Option<SimMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    eval_count: u64,
}

#[derive(Deserialize)]
struct SimMessage {
    content: String,
}

/// Asks the simulator directly (`POST /api/chat`, streamed NDJSON), timed like [`App::chat`].
pub async fn simulator_chat(
    http: &reqwest::Client,
    sim_url: &str,
    prompt: &str,
) -> Result<Streamed> {
    let started = Instant::now();
    let res = http
        .post(format!("{sim_url}/api/chat"))
        .json(&json!({
            "model": "qwen2.5:3b-instruct",
            "messages": [{ "role": "user", "content": prompt }],
            "stream": true,
        }))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(BenchError::Protocol(format!("simulator: {}", res.status())));
    }
    let mut body = res.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let mut out = Streamed {
        started,
        first_token: Duration::ZERO,
        total: Duration::ZERO,
        text: String::new(),
        message_id: String::new(),
        completion_tokens: 0,
        gaps: Vec::new(),
    };
    while let Some(chunk) = body.next().await {
        buffer.extend_from_slice(&chunk?);
        let now = Instant::now();
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let chunk: SimChunk = serde_json::from_slice(&line)
                .map_err(|e| BenchError::Protocol(format!("simulator line: {e}")))?;
            if let Some(m) = chunk.message.filter(|m| !m.content.is_empty()) {
                if out.text.is_empty() {
                    out.first_token = now - started;
                }
                out.text.push_str(&m.content);
            }
            if chunk.done {
                out.completion_tokens = chunk.eval_count;
                out.total = now - started;
                return Ok(out);
            }
        }
    }
    Err(BenchError::Protocol(
        "the simulator's stream ended without done".into(),
    ))
}

fn parse<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| BenchError::Protocol(format!("event data: {e}")))
}
