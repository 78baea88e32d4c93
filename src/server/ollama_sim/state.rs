//! The shared simulator handle: current options, counters and which models look "loaded".

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::{options::SimOptions, routes};

/// How long a model stays in `/api/ps` after its last request (Ollama's default `keep_alive`).
const KEEP_ALIVE: TimeDelta = TimeDelta::minutes(5);

/// Counters over `/api/chat` and `/api/generate` requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Generation requests received (including those answered with an error).
    pub requests: u64,
    /// Generations that reached their `done` chunk.
    pub completed: u64,
    /// Generations whose client went away before the end (the response was dropped unfinished).
    pub cancelled: u64,
    /// Generations running now.
    pub in_flight: u64,
}

/// A simulated Ollama server. Cheap to clone: clones share options and counters.
#[derive(Clone, Debug, Default)]
pub struct Simulator {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    options: RwLock<SimOptions>,
    requests: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    in_flight: AtomicU64,
    /// Model name -> when it stops being "loaded".
    loaded: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The body of the last `/api/chat` request (what a gateway actually sent).
    last_chat: Mutex<Option<serde_json::Value>>,
}

impl Simulator {
    /// A simulator with these options.
    pub fn new(opts: SimOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                options: RwLock::new(opts),
                ..Inner::default()
            }),
        }
    }

    /// Replaces the options; requests that already started keep the options they began with.
    pub fn set_options(&self, opts: SimOptions) {
        *self
            .inner
            .options
            .write()
            .unwrap_or_else(PoisonError::into_inner) = opts;
    }

    /// A copy of the current options.
    pub fn options(&self) -> SimOptions {
        self.inner
            .options
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        SimStats {
            requests: load(&self.inner.requests),
            completed: load(&self.inner.completed),
            cancelled: load(&self.inner.cancelled),
            in_flight: load(&self.inner.in_flight),
        }
    }

    /// The axum router speaking Ollama's HTTP API.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// The body of the last `/api/chat` request received, as JSON.
    pub fn last_chat_request(&self) -> Option<serde_json::Value> {
        self.inner
            .last_chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn record_chat(&self, body: &[u8]) {
        *self
            .inner
            .last_chat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = serde_json::from_slice(body).ok();
    }

    /// Counts one generation request.
    pub(super) fn count_request(&self) {
        self.inner.requests.fetch_add(1, Ordering::SeqCst);
    }

    /// Starts tracking one generation: `in_flight` until the guard is dropped.
    pub(super) fn begin(&self, model: &str) -> ActivityGuard {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        self.inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(model.to_owned(), Utc::now() + KEEP_ALIVE);
        ActivityGuard {
            sim: self.clone(),
            finished: false,
        }
    }

    /// Models that served a request within the keep-alive window, with their expiry.
    pub(super) fn loaded_models(&self) -> Vec<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let mut loaded = self
            .inner
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loaded.retain(|_, expires| *expires > now);
        let mut models: Vec<_> = loaded.iter().map(|(m, e)| (m.clone(), *e)).collect();
        models.sort();
        models
    }
}

/// Tracks one generation. Dropped before [`ActivityGuard::finish`] means the client went away.
#[derive(Debug)]
pub struct ActivityGuard {
    sim: Simulator,
    finished: bool,
}

impl ActivityGuard {
    /// The generation ended on its own terms; `completed` when it reached the `done` chunk
    /// (as opposed to an injected fault).
    pub fn finish(&mut self, completed: bool) {
        if !self.finished && completed {
            self.sim.inner.completed.fetch_add(1, Ordering::SeqCst);
        }
        self.finished = true;
    }
}

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.sim.inner.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        self.sim.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_completed_cancelled_and_in_flight() {
        let sim = Simulator::new(SimOptions::default());
        let mut done = sim.begin("a");
        let dropped = sim.begin("b");
        assert_eq!(sim.stats().in_flight, 2);
        done.finish(true);
        drop(done);
        drop(dropped);
        let mut faulted = sim.begin("a");
        faulted.finish(false);
        drop(faulted);
        let stats = sim.stats();
        assert_eq!(
            (stats.completed, stats.cancelled, stats.in_flight),
            (1, 1, 0)
        );
        let loaded: Vec<_> = sim.loaded_models().into_iter().map(|(m, _)| m).collect();
        assert_eq!(loaded, ["a", "b"]);
    }

    #[test]
    fn options_can_change_at_runtime() {
        let sim = Simulator::new(SimOptions::default());
        sim.set_options(SimOptions {
            tokens: 3,
            ..SimOptions::default()
        });
        assert_eq!(sim.clone().options().tokens, 3);
    }
}
