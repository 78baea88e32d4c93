//! The client for Ollama's HTTP API (the only thing that talks to Ollama).

mod client;
mod error;
mod ndjson;
pub mod wire;

pub use client::{ChatStream, OllamaClient};
pub use error::OllamaError;
