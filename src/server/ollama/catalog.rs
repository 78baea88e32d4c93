//! The models Ollama has installed, cached briefly so that checking a model name does not cost
//! a request per chat turn.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{OllamaClient, OllamaError, wire::ModelInfo};
use crate::error::AppError;

/// How long a listing is trusted.
const FRESH_FOR: Duration = Duration::from_secs(10);

/// When the models were listed, and the list.
type Listing = (Instant, Vec<ModelInfo>);

#[derive(Clone)]
pub struct ModelCatalog {
    client: OllamaClient,
    cached: Arc<Mutex<Option<Listing>>>,
}

impl ModelCatalog {
    pub fn new(client: OllamaClient) -> ModelCatalog {
        ModelCatalog {
            client,
            cached: Arc::default(),
        }
    }

    /// The installed models (from the cache when fresh).
    pub async fn installed(&self) -> Result<Vec<ModelInfo>, OllamaError> {
        if let Some((at, models)) = &*self.cached.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < FRESH_FOR
        {
            return Ok(models.clone());
        }
        let models = self.client.tags().await?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), models.clone()));
        Ok(models)
    }

    /// The installed name for `model`, or 422 with the names that are installed.
    pub async fn resolve(&self, model: &str) -> Result<String, AppError> {
        let installed = self.installed().await?;
        match find(&installed, model) {
            Some(name) => Ok(name),
            None => Err(AppError::UnknownModel {
                model: model.to_string(),
                available: installed.into_iter().map(|m| m.name).collect(),
            }),
        }
    }
}

/// Ollama treats a name without a tag as `:latest`.
fn find(installed: &[ModelInfo], model: &str) -> Option<String> {
    let wanted = if model.contains(':') {
        model.to_string()
    } else {
        format!("{model}:latest")
    };
    installed
        .iter()
        .find(|m| m.name == model || m.name == wanted)
        .map(|m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ModelInfo {
        ModelInfo {
            name: name.into(),
            size: 0,
            details: None,
        }
    }

    #[test]
    fn names_match_exactly_or_as_latest() {
        let installed = [info("qwen2.5:3b-instruct"), info("llama3:latest")];
        assert_eq!(
            find(&installed, "qwen2.5:3b-instruct").as_deref(),
            Some("qwen2.5:3b-instruct")
        );
        assert_eq!(find(&installed, "llama3").as_deref(), Some("llama3:latest"));
        assert_eq!(find(&installed, "qwen2.5"), None);
        assert_eq!(find(&installed, "llama3:8b"), None);
    }
}
