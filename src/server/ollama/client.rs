//! Streaming `POST /api/chat` and `GET /api/tags` over hyper (pooled HTTP/1 connections).

use std::{pin::Pin, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::{BodyDataStream, BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

use super::{
    OllamaError,
    ndjson::LineBuffer,
    wire::{ChatChunk, ChatRequest, ErrorBody, ModelInfo, TagsResponse},
};

/// A handle to one Ollama server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OllamaClient {
    http: Client<HttpConnector, Full<Bytes>>,
    host: String,
    idle_timeout: Duration,
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>;

/// Read buffer of a connection to Ollama. An answer arrives as lines of ~150 bytes; hyper's
/// adaptive buffer grew to ~20 KB per connection, most of the memory of many answers at once
/// (docs/BENCHMARKS.md). It also bounds a response's head, which from Ollama is ~150 bytes.
const READ_BUFFER: usize = 4096;

/// Largest error body read from Ollama.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

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
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .http1_read_buf_exact_size(READ_BUFFER)
            .build(connector);
        OllamaClient {
            http,
            host: host.trim_end_matches('/').to_string(),
            idle_timeout,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn unreachable(&self, reason: String) -> OllamaError {
        OllamaError::Unreachable {
            host: self.host.clone(),
            reason,
        }
    }

    fn request(
        &self,
        method: http::Method,
        path: &str,
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, OllamaError> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.host));
        if !body.is_empty() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        builder
            .body(Full::new(body))
            .map_err(|e| self.unreachable(root_cause(&e)))
    }

    /// Starts an answer. Returns once Ollama has accepted the request (status received).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatStream, OllamaError> {
        let body = serde_json::to_vec(request).map_err(|e| OllamaError::Protocol(e.to_string()))?;
        let send = self
            .http
            .request(self.request(http::Method::POST, "/api/chat", body.into())?);
        let asked = std::time::Instant::now();
        let response = tokio::time::timeout(self.idle_timeout, send)
            .await
            .map_err(|_| OllamaError::IdleTimeout(self.idle_timeout.as_secs()))?
            .map_err(|e| self.unreachable(root_cause(&e)))?;
        crate::server::metrics::global()
            .ollama_chat_latency
            .observe(asked.elapsed().as_secs_f64());
        let status = response.status();
        if !status.is_success() {
            let message = error_message(response.into_body()).await;
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
            body: Box::pin(BodyDataStream::new(response.into_body())),
            lines: LineBuffer::default(),
            idle_timeout: self.idle_timeout,
            finished: false,
        })
    }

    /// The installed models.
    pub async fn tags(&self) -> Result<Vec<ModelInfo>, OllamaError> {
        let asked = std::time::Instant::now();
        let request = self.request(http::Method::GET, "/api/tags", Bytes::new())?;
        let read = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| self.unreachable(root_cause(&e)))?;
            crate::server::metrics::global()
                .ollama_tags_latency
                .observe(asked.elapsed().as_secs_f64());
            let status = response.status();
            if !status.is_success() {
                return Err(OllamaError::Status {
                    status: status.as_u16(),
                    message: error_message(response.into_body()).await,
                });
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| self.unreachable(root_cause(&e)))?
                .to_bytes();
            let tags: TagsResponse =
                serde_json::from_slice(&body).map_err(|e| OllamaError::Protocol(e.to_string()))?;
            Ok(tags.models)
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .map_err(|_| self.unreachable("no answer within 10 s".into()))?
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

async fn error_message(body: hyper::body::Incoming) -> String {
    let bytes = match Limited::new(body, ERROR_BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let text = String::from_utf8_lossy(&bytes);
    serde_json::from_str::<ErrorBody>(&text)
        .map(|b| b.error)
        .unwrap_or_else(|_| text.into_owned())
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
