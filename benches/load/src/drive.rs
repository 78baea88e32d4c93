//! Running many streams at once and collecting what they gave.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use crate::{
    api::Streamed,
    error::{BenchError, Result},
};

/// Every outcome of a batch of streams.
pub struct Batch {
    pub ok: Vec<Streamed>,
    pub errors: Vec<BenchError>,
    pub elapsed: Duration,
}

impl Batch {
    /// The first few distinct error messages (for the notes).
    pub fn error_summary(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for e in &self.errors {
            let text = e.to_string();
            if !seen.contains(&text) && seen.len() < 3 {
                seen.push(text);
            }
        }
        seen.join("; ")
    }

    /// The most streams that were between their first token and their end at one moment.
    pub fn peak_concurrent(&self) -> usize {
        let mut edges: Vec<(Instant, i32)> = Vec::with_capacity(self.ok.len() * 2);
        for s in &self.ok {
            edges.push((s.started + s.first_token, 1));
            edges.push((s.started + s.total, -1));
        }
        edges.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut now, mut peak) = (0i32, 0i32);
        for (_, d) in edges {
            now += d;
            peak = peak.max(now);
        }
        peak as usize
    }
}

/// Runs `n` streams made by `make(i)`; stream `i` starts at `i * spread / n` (all at once when
/// `spread` is zero). Each stream gives up after `timeout`.
pub async fn streams<F, Fut>(n: usize, spread: Duration, timeout: Duration, make: F) -> Batch
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Streamed>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let delay = spread.mul_f64(i as f64 / n.max(1) as f64);
        let stream = make(i);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until((started + delay).into()).await;
            match tokio::time::timeout(timeout, stream).await {
                Ok(result) => result,
                Err(_) => Err(BenchError::Protocol(format!(
                    "no end after {} s",
                    timeout.as_secs()
                ))),
            }
        }));
    }
    let mut batch = Batch {
        ok: Vec::with_capacity(n),
        errors: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok(Ok(s)) => batch.ok.push(s),
            Ok(Err(e)) => batch.errors.push(e),
            Err(e) => batch
                .errors
                .push(BenchError::Protocol(format!("task: {e}"))),
        }
    }
    batch.elapsed = started.elapsed();
    batch
}
