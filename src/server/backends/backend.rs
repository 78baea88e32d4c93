//! One Ollama backend: its client, its generation queue, and what the last health check saw
//! (reachable or not, and its models).

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use super::select::Candidate;
use crate::{
    model::BackendHealth,
    server::{
        chat::queue::Queue,
        ollama::{OllamaClient, OllamaError, wire::ModelInfo},
        ollama_hosts::BackendSettings,
    },
};

/// What the health checks concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not checked yet.
    Unknown,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

pub struct Backend {
    /// Its place in `ollama.hosts`.
    pub index: usize,
    client: OllamaClient,
    queue: Queue,
    max_parallel: usize,
    max_queue: usize,
    seen: Mutex<Seen>,
    /// Wakes its health check loop early (after a failure seen by a request).
    pub(super) wake: Arc<Notify>,
}

struct Seen {
    health: Health,
    models: Vec<ModelInfo>,
    latency_ms: Option<f64>,
    error: Option<OllamaError>,
}

impl Backend {
    pub fn new(
        index: usize,
        settings: &BackendSettings,
        connect_timeout: Duration,
        idle_timeout: Duration,
    ) -> Backend {
        Backend {
            index,
            client: OllamaClient::new(&settings.url, connect_timeout, idle_timeout),
            queue: Queue::new(settings.max_parallel, settings.max_queue),
            max_parallel: settings.max_parallel,
            max_queue: settings.max_queue,
            seen: Mutex::new(Seen {
                health: Health::Unknown,
                models: Vec::new(),
                latency_ms: None,
                error: None,
            }),
            wake: Arc::default(),
        }
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn url(&self) -> &str {
        self.client.host()
    }

    pub fn client(&self) -> &OllamaClient {
        &self.client
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn max_parallel(&self) -> usize {
        self.max_parallel
    }

    pub fn max_queue(&self) -> usize {
        self.max_queue
    }

    pub fn health(&self) -> Health {
        self.seen().health
    }

    /// The installed models, as last listed.
    pub fn models(&self) -> Vec<ModelInfo> {
        self.seen().models.clone()
    }

    /// Why it is unhealthy, if it is.
    pub fn error(&self) -> Option<OllamaError> {
        self.seen().error.clone()
    }

    /// The latency of the last successful check.
    pub fn latency_ms(&self) -> Option<f64> {
        self.seen().latency_ms
    }

    /// Lists its models (the health check): reachable and answering, or not.
    pub async fn check(&self) {
        let started = Instant::now();
        let listed = self.client.tags().await;
        let mut seen = self.seen();
        let before = seen.health;
        match listed {
            Ok(models) => {
                seen.health = Health::Healthy;
                seen.models = models;
                seen.latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                seen.error = None;
            }
            Err(err) => {
                seen.health = Health::Unhealthy;
                seen.latency_ms = None;
                seen.error = Some(err);
            }
        }
        let (after, error) = (seen.health, seen.error.clone());
        drop(seen);
        log_change(self.url(), before, after, error.as_ref());
    }

    /// A request failed on this backend before its first token. A backend that could not be
    /// reached is taken out at once; any other failure has it checked again soon (a missing
    /// model, for instance, means its list is stale).
    pub fn failed(&self, err: &OllamaError) {
        if matches!(err, OllamaError::Unreachable { .. }) {
            let mut seen = self.seen();
            let before = seen.health;
            seen.health = Health::Unhealthy;
            seen.error = Some(err.clone());
            drop(seen);
            log_change(self.url(), before, Health::Unhealthy, Some(err));
        }
        self.wake.notify_one();
    }

    /// The installed name of `model` here, if it is installed.
    pub fn find_model(&self, model: &str) -> Option<String> {
        super::catalog::find(&self.seen().models, model)
    }

    /// What selection needs to know.
    pub fn candidate(&self, model: &str) -> Candidate {
        let (running, waiting) = self.queue.load();
        Candidate {
            healthy: self.health() == Health::Healthy,
            has_model: self.find_model(model).is_some(),
            running,
            waiting,
            limit: self.max_parallel,
        }
    }

    /// Its state, as `/health` and the admin view show it.
    pub fn report(&self) -> BackendHealth {
        let (in_flight, queued) = self.queue.load();
        let seen = self.seen();
        BackendHealth {
            url: self.url().to_string(),
            state: seen.health.as_str().to_string(),
            in_flight,
            queued,
            max_parallel: self.max_parallel,
            models: seen.models.iter().map(|m| m.name.clone()).collect(),
            latency_ms: seen.latency_ms,
            error: seen.error.as_ref().map(ToString::to_string),
        }
    }
}

fn log_change(url: &str, before: Health, after: Health, error: Option<&OllamaError>) {
    match (before, after) {
        (Health::Unhealthy, Health::Healthy) => {
            tracing::info!(backend = url, "Ollama backend is back in service")
        }
        (Health::Unknown | Health::Healthy, Health::Unhealthy) => {
            let error = error.map(ToString::to_string).unwrap_or_default();
            tracing::warn!(backend = url, %error, "Ollama backend taken out of service")
        }
        _ => {}
    }
}
