//! The Ollama servers answers are generated on (`ollama.hosts`). Each has its own limit of
//! answers at once and its own line; a request goes to the least busy healthy backend that has
//! its model; a backend that fails its health checks is taken out until it recovers.

mod backend;
mod catalog;
mod health_checks;
pub mod select;

use std::{sync::Arc, time::Duration};

pub use backend::{Backend, Health};
pub use catalog::ModelCatalog;

use self::select::Choice;
use crate::{
    error::AppError,
    model::BackendHealth,
    server::{chat::queue::Entry, config::Settings, ollama::OllamaError},
};

/// Every backend, in the order of `ollama.hosts`. Cheap to clone.
#[derive(Clone)]
pub struct Backends {
    list: Arc<[Arc<Backend>]>,
    health_interval: Duration,
}

/// A request's place on a backend: generating now, or waiting in its line.
pub struct Placement {
    pub backend: Arc<Backend>,
    pub entry: Entry,
}

impl Backends {
    pub fn new(settings: &Settings) -> Backends {
        let connect = Duration::from_secs(settings.ollama.connect_timeout_secs);
        let idle = Duration::from_secs(settings.ollama.idle_timeout_secs);
        let list = settings
            .ollama_backends()
            .iter()
            .enumerate()
            .map(|(i, b)| Arc::new(Backend::new(i, b, connect, idle)))
            .collect();
        Backends {
            list,
            health_interval: Duration::from_secs(settings.ollama.health_interval_secs),
        }
    }

    pub fn all(&self) -> &[Arc<Backend>] {
        &self.list
    }

    /// Starts the background health checks (they end when the backends are dropped).
    pub fn spawn_health_checks(&self) {
        for backend in self.list.iter() {
            health_checks::spawn(backend, self.health_interval);
        }
    }

    /// Checks, now, the backends that have not been checked yet (just after start).
    pub async fn check_unknown(&self) {
        let unknown = self
            .list
            .iter()
            .filter(|b| b.health() == Health::Unknown)
            .map(|b| b.check());
        futures::future::join_all(unknown).await;
    }

    pub fn healthy(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.list.iter().filter(|b| b.health() == Health::Healthy)
    }

    /// Why no backend can be used: the one backend's error, or a summary.
    pub fn why_unavailable(&self) -> OllamaError {
        match &self.list[..] {
            [only] => only.error().unwrap_or_else(|| unreachable(only)),
            _ => OllamaError::Unreachable {
                host: self
                    .list
                    .iter()
                    .map(|b| b.url())
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: "no backend is healthy".into(),
            },
        }
    }

    /// A place for a request for `model` on the least busy healthy backend that has it (never
    /// on `exclude`). 503 when no backend is healthy (or every line is full), 422 when none has
    /// the model.
    pub async fn place(&self, model: &str, exclude: Option<usize>) -> Result<Placement, AppError> {
        self.check_unknown().await;
        let candidates: Vec<_> = self.list.iter().map(|b| b.candidate(model)).collect();
        match select::choose(&candidates, exclude) {
            Choice::Backend(i) => {
                let backend = Arc::clone(&self.list[i]);
                let entry = backend.queue().join()?;
                Ok(Placement { backend, entry })
            }
            Choice::NoneHealthy => Err(self.why_unavailable().into()),
            Choice::ModelMissing => {
                let mut available: Vec<String> = self
                    .healthy()
                    .flat_map(|b| b.models().into_iter().map(|m| m.name))
                    .collect();
                available.sort();
                available.dedup();
                Err(AppError::UnknownModel {
                    model: model.to_string(),
                    available,
                })
            }
        }
    }

    /// Answers generating now, and requests waiting, over every backend.
    pub fn load(&self) -> (usize, usize) {
        self.list.iter().fold((0, 0), |(r, w), b| {
            let (running, waiting) = b.queue().load();
            (r + running, w + waiting)
        })
    }

    /// Each backend's state, for `/health` and the admin view.
    pub fn reports(&self) -> Vec<BackendHealth> {
        self.list.iter().map(|b| b.report()).collect()
    }
}

fn unreachable(backend: &Backend) -> OllamaError {
    OllamaError::Unreachable {
        host: backend.url().to_string(),
        reason: "not checked yet".into(),
    }
}
