//! Prometheus metrics: a small registry of atomics (no dependency), filled by the request
//! middleware, the generation task, the Ollama client and the login check, and rendered in
//! the Prometheus text format by `GET /metrics` (off by default; see `metrics.*` settings).

mod histogram;
mod render;
mod route;

use std::{
    collections::BTreeMap,
    sync::{
        LazyLock, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

pub use histogram::Histogram;
pub use route::handler;

/// Process-wide counters and histograms (gauges are read from the state when scraped).
pub struct Metrics {
    /// (method, matched route, status) -> requests.
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// Final status of answers -> count.
    answers: Mutex<BTreeMap<&'static str, u64>>,
    pub tokens_relayed: AtomicU64,
    pub login_failures: AtomicU64,
    /// Answers retried on another backend after theirs failed before the first token.
    pub backend_retries: AtomicU64,
    /// Seconds from the start of an answer (queue wait included) to its first token.
    pub time_to_first_token: Histogram,
    /// Seconds until Ollama accepted a chat request (response headers).
    pub ollama_chat_latency: Histogram,
    /// Seconds for Ollama to list its models.
    pub ollama_tags_latency: Histogram,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    http: Mutex::default(),
    answers: Mutex::default(),
    tokens_relayed: AtomicU64::new(0),
    login_failures: AtomicU64::new(0),
    backend_retries: AtomicU64::new(0),
    time_to_first_token: Histogram::new(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]),
    ollama_chat_latency: Histogram::new(&[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
    ollama_tags_latency: Histogram::new(&[0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]),
});

/// The metrics of this process.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

impl Metrics {
    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        let mut map = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    pub fn answer_finished(&self, status: &'static str) {
        let mut map = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(status).or_default() += 1;
    }

    pub fn backend_retry(&self) {
        self.backend_retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts the tokens of one answer and observes its time to first token.
pub struct Relay {
    started: Instant,
    first_seen: bool,
}

impl Relay {
    pub fn start() -> Relay {
        Relay {
            started: Instant::now(),
            first_seen: false,
        }
    }

    /// One token was relayed to the answer's listeners.
    pub fn token(&mut self) {
        let metrics = global();
        metrics.tokens_relayed.fetch_add(1, Ordering::Relaxed);
        if !self.first_seen {
            self.first_seen = true;
            metrics
                .time_to_first_token
                .observe(self.started.elapsed().as_secs_f64());
        }
    }
}
