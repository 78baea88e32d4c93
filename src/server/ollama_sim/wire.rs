//! JSON shapes on the wire: the request bodies we read and the chunks and errors we write.
//!
//! Requests are parsed leniently (unknown fields ignored, most fields optional) like Ollama.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/chat` body.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: Option<String>,
    pub messages: Option<Vec<ChatMessage>>,
    pub stream: Option<bool>,
    pub options: Option<GenOptions>,
}

/// One message of a chat.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: Option<String>,
    pub content: Option<String>,
}

/// `POST /api/generate` body.
#[derive(Debug, Deserialize)]
pub struct GenerateRequest {
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub system: Option<String>,
    pub stream: Option<bool>,
    pub options: Option<GenOptions>,
}

/// The model options the simulator honours (others are accepted and ignored).
#[derive(Debug, Default, Deserialize)]
pub struct GenOptions {
    /// Maximum tokens to generate; negative means no limit.
    pub num_predict: Option<i64>,
}

/// `POST /api/show` body (`name` is the older spelling of `model`).
#[derive(Debug, Deserialize)]
pub struct ShowRequest {
    pub model: Option<String>,
    pub name: Option<String>,
}

/// Which endpoint a chunk is for: chat chunks carry `message`, generate chunks `response`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Generate,
}

/// The timing and counting fields of a final chunk. Durations are nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub done_reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<u32>>,
    pub total_duration: u64,
    pub load_duration: u64,
    pub prompt_eval_count: u64,
    pub prompt_eval_duration: u64,
    pub eval_count: u64,
    pub eval_duration: u64,
}

/// `{"done_reason":"load"}` without timings: the answer to an empty request.
#[derive(Serialize)]
struct LoadOnly {
    done_reason: &'static str,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Chunk<'a, S: Serialize> {
    model: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a str>,
    done: bool,
    #[serde(flatten)]
    summary: Option<S>,
}

fn chunk<'a, S: Serialize>(
    endpoint: Endpoint,
    model: &'a str,
    text: &'a str,
    summary: Option<S>,
) -> Chunk<'a, S> {
    let (message, response) = match endpoint {
        Endpoint::Chat => (
            Some(Message {
                role: "assistant",
                content: text,
            }),
            None,
        ),
        Endpoint::Generate => (None, Some(text)),
    };
    let done = summary.is_some();
    let created_at = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    Chunk {
        model,
        created_at,
        message,
        response,
        done,
        summary,
    }
}

/// A streamed `"done": false` chunk carrying one token, as an NDJSON line.
pub fn token_line(endpoint: Endpoint, model: &str, token: &str) -> Bytes {
    ndjson_line(&chunk::<Summary>(endpoint, model, token, None))
}

/// The `"done": true` chunk as an NDJSON line (`content` is `""` when streaming).
pub fn final_line(endpoint: Endpoint, model: &str, content: &str, summary: &Summary) -> Bytes {
    ndjson_line(&chunk(endpoint, model, content, Some(summary)))
}

/// The whole non-streamed answer: the final chunk with all of the content.
pub fn final_response(
    endpoint: Endpoint,
    model: &str,
    content: &str,
    summary: &Summary,
) -> Response {
    Json(chunk(endpoint, model, content, Some(summary))).into_response()
}

/// Ollama's answer to a request with nothing to generate (`done_reason: "load"`).
pub fn load_response(endpoint: Endpoint, model: &str) -> Response {
    Json(chunk(
        endpoint,
        model,
        "",
        Some(LoadOnly {
            done_reason: "load",
        }),
    ))
    .into_response()
}

/// A mid-stream `{"error":"..."}` line.
pub fn error_line(message: &str) -> Bytes {
    ndjson_line(&serde_json::json!({ "error": message }))
}

/// An error response: `status` with body `{"error":"..."}`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn ndjson_line(value: &impl Serialize) -> Bytes {
    // Serializing these plain structs cannot fail; fall back to an error line rather than panic.
    let mut line = serde_json::to_vec(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"serialization failed: {e}\"}}").into_bytes());
    line.push(b'\n');
    Bytes::from(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(line: &Bytes) -> Value {
        assert!(line.ends_with(b"\n"));
        serde_json::from_slice(line).expect("json line")
    }

    #[test]
    fn chat_and_generate_chunk_shapes() {
        let v = parse(&token_line(Endpoint::Chat, "m:1b", "hola \"<b>\" ⚡"));
        assert_eq!(v["message"]["role"], "assistant");
        assert_eq!(v["message"]["content"], "hola \"<b>\" ⚡");
        assert_eq!(v["done"], false);
        assert!(v.get("response").is_none() && v.get("done_reason").is_none());
        assert!(
            chrono::DateTime::parse_from_rfc3339(v["created_at"].as_str().expect("str")).is_ok()
        );
        let v = parse(&token_line(Endpoint::Generate, "m:1b", "x"));
        assert_eq!(v["response"], "x");
        assert!(v.get("message").is_none());
    }

    #[test]
    fn final_line_flattens_summary() {
        let summary = Summary {
            done_reason: "stop",
            context: Some(vec![1, 2]),
            total_duration: 5,
            load_duration: 1,
            prompt_eval_count: 3,
            prompt_eval_duration: 2,
            eval_count: 4,
            eval_duration: 2,
        };
        let v = parse(&final_line(Endpoint::Generate, "m", "", &summary));
        assert_eq!(v["done"], true);
        assert_eq!(v["done_reason"], "stop");
        assert_eq!(v["context"], serde_json::json!([1, 2]));
        assert_eq!(v["eval_count"], 4);
        assert_eq!(v["response"], "");
    }
}
