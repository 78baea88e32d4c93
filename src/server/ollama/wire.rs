//! Ollama's JSON shapes (only the fields we use; unknown fields are ignored).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChatOptions {
    pub temperature: f32,
    pub top_p: f32,
    pub num_ctx: u32,
    /// Most tokens to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    pub options: ChatOptions,
    pub keep_alive: String,
}

impl ChatChunk {
    /// Token counts and durations, as Ollama reports them on the final chunk.
    pub fn usage(&self) -> crate::stream_events::Usage {
        let ms = |ns: Option<u64>| ns.unwrap_or(0) as f64 / 1e6;
        crate::stream_events::Usage {
            prompt_tokens: self.prompt_eval_count.unwrap_or(0),
            completion_tokens: self.eval_count.unwrap_or(0),
            total_duration_ms: ms(self.total_duration),
            load_duration_ms: ms(self.load_duration),
            prompt_eval_duration_ms: ms(self.prompt_eval_duration),
            eval_duration_ms: ms(self.eval_duration),
        }
    }
}

/// One NDJSON line of `/api/chat`: a token, the final chunk, or an error.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChatChunk {
    #[serde(default)]
    pub message: Option<ChatMessage>,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub done_reason: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub total_duration: Option<u64>,
    #[serde(default)]
    pub load_duration: Option<u64>,
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub prompt_eval_duration: Option<u64>,
    #[serde(default)]
    pub eval_count: Option<u64>,
    #[serde(default)]
    pub eval_duration: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TagsResponse {
    pub models: Vec<ModelInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub details: Option<ModelDetails>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelDetails {
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub parameter_size: Option<String>,
    #[serde(default)]
    pub quantization_level: Option<String>,
}

#[derive(Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
