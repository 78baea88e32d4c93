//! The models installed across the backends, as their health checks last listed them: what
//! `/api/v1/models` shows and what a requested model name is checked against.

use super::Backends;
use crate::{
    error::AppError,
    server::ollama::{OllamaError, wire::ModelInfo},
};

#[derive(Clone)]
pub struct ModelCatalog {
    backends: Backends,
}

impl ModelCatalog {
    pub fn new(backends: Backends) -> ModelCatalog {
        ModelCatalog { backends }
    }

    /// The models of the healthy backends (each name once, in the order the backends are
    /// listed); an error when no backend is reachable.
    pub async fn installed(&self) -> Result<Vec<ModelInfo>, OllamaError> {
        self.backends.check_unknown().await;
        let mut models: Vec<ModelInfo> = Vec::new();
        let mut any_healthy = false;
        for backend in self.backends.healthy() {
            any_healthy = true;
            for model in backend.models() {
                if !models.iter().any(|m| m.name == model.name) {
                    models.push(model);
                }
            }
        }
        if any_healthy {
            Ok(models)
        } else {
            Err(self.backends.why_unavailable())
        }
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
pub fn find(installed: &[ModelInfo], model: &str) -> Option<String> {
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
