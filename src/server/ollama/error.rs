//! What can go wrong talking to Ollama, typed.

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OllamaError {
    #[error("Ollama is not reachable at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("model \"{0}\" is not installed in Ollama")]
    ModelNotFound(String),
    #[error("Ollama answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("Ollama reported an error while answering: {0}")]
    MidStream(String),
    #[error("the connection to Ollama closed before the answer ended")]
    ConnectionCut,
    #[error("Ollama sent nothing for {0} s")]
    IdleTimeout(u64),
    #[error("Ollama sent something unreadable: {0}")]
    Protocol(String),
}

impl OllamaError {
    /// Stable code used in `error` events and message metadata.
    pub fn code(&self) -> &'static str {
        match self {
            OllamaError::Unreachable { .. } => "ollama_unreachable",
            OllamaError::ModelNotFound(_) => "unknown_model",
            OllamaError::Status { .. } => "ollama_error",
            OllamaError::MidStream(_) => "ollama_error",
            OllamaError::ConnectionCut => "ollama_disconnected",
            OllamaError::IdleTimeout(_) => "ollama_timeout",
            OllamaError::Protocol(_) => "ollama_protocol",
        }
    }
}

impl From<OllamaError> for AppError {
    fn from(err: OllamaError) -> Self {
        match err {
            OllamaError::ModelNotFound(model) => AppError::UnknownModel {
                model,
                available: Vec::new(),
            },
            other => AppError::OllamaUnavailable(other.to_string()),
        }
    }
}
