//! Streaming `POST /api/chat` and `GET /api/tags` over reqwest.

use std::{pin::Pin, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{
    OllamaError,
    ndjson::LineBuffer,
    wire::{ChatChunk, ChatRequest, ErrorBody, ModelInfo, TagsResponse},
};

/// A handle to one Ollama server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OllamaClient {
    http: reqwest::Client,
    host: String,
    idle_timeout: Duration,
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The chunks of one answer, read as they arrive. Dropping it closes the connection, which
/// makes Ollama stop generating.
pub struct ChatStream {
    body: ByteStream,
    lines: LineBuffer,
    idle_timeout: Duration,
    finished: bool,
}

impl OllamaClient {
    pub fn new(host: &str, connect_timeout: Duration, idle_timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        OllamaClient {
            http,
            host: host.trim_end_matches('/').to_string(),
            idle_timeout,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn unreachable(&self, err: &reqwest::Error) -> OllamaError {
        OllamaError::Unreachable {
            host: self.host.clone(),
            reason: root_cause(err),
        }
    }

    /// Starts an answer. Returns once Ollama has accepted the request (status received).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatStream, OllamaError> {
        let send = self
            .http
            .post(format!("{}/api/chat", self.host))
            .json(request)
            .send();
        let asked = std::time::Instant::now();
        let response = tokio::time::timeout(self.idle_timeout, send)
            .await
            .map_err(|_| OllamaError::IdleTimeout(self.idle_timeout.as_secs()))?
            .map_err(|e| self.unreachable(&e))?;
        crate::server::metrics::global()
            .ollama_chat_latency
            .observe(asked.elapsed().as_secs_f64());
        let status = response.status();
        if !status.is_success() {
            let message = error_message(response).await;
            return Err(if status.as_u16() == 404 {
                OllamaError::ModelNotFound(request.model.clone())
            } else {
                OllamaError::Status {
                    status: status.as_u16(),
                    message,
                }
            });
        }
        Ok(ChatStream {
            body: Box::pin(response.bytes_stream()),
            lines: LineBuffer::default(),
            idle_timeout: self.idle_timeout,
            finished: false,
        })
    }

    /// The installed models.
    pub async fn tags(&self) -> Result<Vec<ModelInfo>, OllamaError> {
        let asked = std::time::Instant::now();
        let response = self
            .http
            .get(format!("{}/api/tags", self.host))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        crate::server::metrics::global()
            .ollama_tags_latency
            .observe(asked.elapsed().as_secs_f64());
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(OllamaError::Status {
                status,
                message: error_message(response).await,
            });
        }
        let tags: TagsResponse = response
            .json()
            .await
            .map_err(|e| OllamaError::Protocol(e.to_string()))?;
        Ok(tags.models)
    }
}

impl ChatStream {
    /// The next chunk; `Ok(None)` after the final (`done: true`) chunk.
    pub async fn next(&mut self) -> Result<Option<ChatChunk>, OllamaError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if let Some(line) = self.lines.next_line() {
                return self.parse(&line).map(Some);
            }
            let read = tokio::time::timeout(self.idle_timeout, self.body.next())
                .await
                .map_err(|_| OllamaError::IdleTimeout(self.idle_timeout.as_secs()))?;
            match read {
                Some(Ok(bytes)) => self.lines.push(&bytes),
                Some(Err(_)) => return Err(OllamaError::ConnectionCut),
                None => {
                    return match self.lines.take_rest() {
                        Some(rest) => self.parse(&rest).map(Some),
                        None => Err(OllamaError::ConnectionCut),
                    };
                }
            }
        }
    }

    fn parse(&mut self, line: &[u8]) -> Result<ChatChunk, OllamaError> {
        let chunk: ChatChunk =
            serde_json::from_slice(line).map_err(|e| OllamaError::Protocol(e.to_string()))?;
        if let Some(error) = chunk.error {
            self.finished = true;
            return Err(OllamaError::MidStream(error));
        }
        if chunk.done {
            self.finished = true;
        }
        Ok(chunk)
    }
}

async fn error_message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<ErrorBody>(&text)
        .map(|b| b.error)
        .unwrap_or(text)
}

fn root_cause(err: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
