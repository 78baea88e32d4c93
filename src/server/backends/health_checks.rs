//! The background health check of each backend: a healthy one is checked every
//! `ollama.health_interval_secs`; an unhealthy one after 1 s, then 2, 4, ... up to that
//! interval, so that it is put back soon after it recovers. A failure seen by a request wakes
//! the loop early.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use super::backend::{Backend, Health};

/// The first wait before checking an unhealthy backend again.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Starts the loop; it ends when the backend is dropped (the server stopped).
pub fn spawn(backend: &Arc<Backend>, interval: Duration) {
    let backend = Arc::downgrade(backend);
    tokio::spawn(run(backend, interval));
}

async fn run(backend: Weak<Backend>, interval: Duration) {
    let mut retry = FIRST_RETRY.min(interval);
    loop {
        let Some(strong) = backend.upgrade() else {
            return;
        };
        strong.check().await;
        let wait = if strong.health() == Health::Healthy {
            retry = FIRST_RETRY.min(interval);
            interval
        } else {
            let wait = retry;
            retry = (retry * 2).min(interval);
            wait
        };
        let wake = Arc::clone(&strong.wake);
        drop(strong);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ollama_hosts::BackendSettings;

    #[tokio::test]
    async fn the_loop_ends_when_the_backend_is_dropped() {
        let settings = BackendSettings {
            url: "http://127.0.0.1:9".into(),
            max_parallel: 1,
            max_queue: 1,
        };
        let backend = Arc::new(Backend::new(
            0,
            &settings,
            Duration::from_secs(1),
            Duration::from_secs(1),
        ));
        let task = tokio::spawn(run(Arc::downgrade(&backend), Duration::from_secs(1)));
        // Wait (bounded) for the first check to mark it down: nothing listens on port 9.
        for _ in 0..200 {
            if backend.health() == Health::Unhealthy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(backend.health(), Health::Unhealthy);
        drop(backend);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the loop ends")
            .unwrap();
    }
}
