//! A small Ollama simulator: an axum server speaking Ollama's HTTP API with deterministic replies,
//! so tests, benchmarks and the demo mode run without a model.
//!
//! - `GET /`, `GET /api/version`, `GET /api/tags`, `GET /api/ps`, `POST /api/show`.
//! - `POST /api/chat` and `POST /api/generate`: NDJSON streams (`application/x-ndjson`) by
//!   default, one JSON object with `"stream": false`. Durations are nanoseconds, `created_at`
//!   is RFC 3339; `options.num_predict` is honoured (`done_reason: "length"`).
//! - The reply is [`reply_tokens`] of the last user message (or the generate prompt).
//! - Behaviour comes from [`SimOptions`] (changeable at runtime with [`Simulator::set_options`])
//!   and, per request, from a directive in that message:
//!   `[sim tokens=5 delay_ms=10 first_ms=200 fault=error_mid:3]` (any subset of keys;
//!   `fault=none` clears a fault; unknown keys are ignored; a bad value is a `400`).
//! - Errors look like Ollama's: `{"error": "..."}` with 400 / 404 / 500, mid-stream error lines,
//!   cut connections and stalls (see [`Fault`]).
//!
//! Typical use: `let (addr, _task) = spawn(Simulator::new(SimOptions::default()), ([127, 0, 0, 1], 0).into()).await?;`
//! then point the Ollama client at `http://{addr}`; read [`Simulator::stats`] to see what happened.

mod catalog;
mod directive;
#[cfg(test)]
mod fault_tests;
mod generation;
mod handlers;
mod options;
mod reply;
mod routes;
mod state;
mod stream;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod wire;

use std::net::SocketAddr;

use axum::serve::ListenerExt;
use tokio::{net::TcpListener, task::JoinHandle};

pub use options::{DEFAULT_MODELS, Fault, ParseFaultError, SimOptions};
pub use reply::reply_tokens;
pub use state::{SimStats, Simulator};

/// Binds `addr` (normally `127.0.0.1:port`; port 0 picks a free one) and serves the simulator in
/// a background tokio task. Returns the bound address and the task.
///
/// Every accepted connection gets TCP_NODELAY, as Go (and so real Ollama) does: without it a
/// small chunk on a keep-alive connection can wait ~40 ms for Nagle plus delayed ACK.
pub async fn spawn(
    sim: Simulator,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("ollama simulator: failed to set TCP_NODELAY: {err}");
        }
    });
    let router = sim.router();
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::warn!("ollama simulator on {bound} stopped: {err}");
        }
    });
    Ok((bound, task))
}
