//! Where an answer is generated: a place on a backend (generating, or waiting in its line),
//! and the one retry on another backend that a request gets when its backend fails before the
//! first token. Once a token has been relayed there is no retry: the answer fails as it is.

use std::sync::Arc;

use super::queue::{Permit, Place, Ticket};
use crate::{
    error::AppError,
    server::{
        backends::{Backend, Backends, Placement},
        chat::queue::Entry,
        cluster::{Cluster, ClusterSlots},
        ollama::{ChatStream, OllamaError, wire::ChatRequest},
    },
};

/// How far a request has got on its backend.
pub enum Start {
    /// Ollama accepted the request.
    Connected {
        upstream: ChatStream,
        permit: Permit,
        backend: Arc<Backend>,
    },
    /// A slot is free on `backend`; Ollama is not called yet.
    Admitted {
        permit: Permit,
        backend: Arc<Backend>,
    },
    /// Waiting in `backend`'s line.
    Queued {
        ticket: Ticket,
        backend: Arc<Backend>,
    },
}

impl From<Placement> for Start {
    fn from(placement: Placement) -> Start {
        let backend = placement.backend;
        match placement.entry {
            Entry::Admitted(permit) => Start::Admitted { permit, backend },
            Entry::Waiting(ticket) => Start::Queued { ticket, backend },
        }
    }
}

impl Start {
    pub fn backend(&self) -> &Backend {
        match self {
            Start::Connected { backend, .. }
            | Start::Admitted { backend, .. }
            | Start::Queued { backend, .. } => backend,
        }
    }

    /// The place in line, while waiting (with several instances, in their shared line).
    pub fn position(&self) -> Option<usize> {
        match self {
            Start::Queued { ticket, .. } => ticket.position(),
            Start::Admitted { permit, .. } => permit.place(),
            Start::Connected { .. } => None,
        }
    }
}

/// A place for a request for `model` on the least busy backend (never `exclude`). With several
/// instances, a request let through by this instance also takes one of the backend's slots
/// shared by the instances, and one that has to wait (in this instance's line, or for a shared
/// slot) takes a seat in the instances' line (503 when it is full).
pub async fn place(
    backends: &Backends,
    cluster: Option<&Cluster>,
    model: &str,
    exclude: Option<usize>,
) -> Result<Start, AppError> {
    let mut start = Start::from(backends.place(model, exclude).await?);
    if let Some(cluster) = cluster {
        match &mut start {
            Start::Queued { ticket, backend } => {
                ticket.hold_seat(
                    cluster
                        .line
                        .take(backend.url(), backend.max_queue(), false)
                        .await?,
                );
            }
            Start::Admitted { permit, backend } => {
                // A free slot is this request's only if no one let through waits for one.
                let (url, slots) = (backend.url(), backend.max_parallel());
                match cluster.slots.try_acquire_unless_ready(url, slots).await {
                    Some(slot) => permit.hold(slot),
                    None => permit.sit(cluster.line.take(url, backend.max_queue(), true).await?),
                }
            }
            Start::Connected { .. } => {}
        }
    }
    Ok(start)
}

/// The single retry a request has.
#[derive(Default)]
pub struct Retry {
    used: bool,
    cluster: Option<Cluster>,
}

impl Retry {
    /// The retry of a request; with several instances, `cluster` counts its place in line.
    pub fn new(cluster: Option<Cluster>) -> Retry {
        Retry {
            used: false,
            cluster,
        }
    }

    /// `backend` failed with `err` before any token: a place on another backend that has the
    /// model, the first time; `None` afterwards, or when there is no other backend.
    pub async fn elsewhere(
        &mut self,
        backends: &Backends,
        model: &str,
        backend: &Backend,
        err: &OllamaError,
    ) -> Option<Start> {
        backend.failed(err);
        if std::mem::replace(&mut self.used, true) {
            return None;
        }
        let start = place(backends, self.cluster.as_ref(), model, Some(backend.index))
            .await
            .ok()?;
        tracing::info!(
            from = backend.url(),
            to = start.backend().url(),
            error = %err,
            "the backend failed before the first token: retrying on another one"
        );
        crate::server::metrics::global().backend_retry();
        Some(start)
    }
}

/// Calls Ollama at once when a slot is free, retrying once on another backend if that fails.
/// A request that has to wait (in line, or, with several instances, for a slot another
/// instance holds: `Admitted` without a shared slot) is returned as it is.
pub async fn connect(
    backends: &Backends,
    shared: Option<&ClusterSlots>,
    request: &ChatRequest,
    mut start: Start,
    retry: &mut Retry,
) -> Result<Start, OllamaError> {
    loop {
        let Start::Admitted {
            mut permit,
            backend,
        } = start
        else {
            return Ok(start);
        };
        if let Some(shared) = shared
            && !permit.has_shared_slot()
        {
            // Only a request whose turn it is takes a free slot (see `cluster::line`).
            let free = match permit.seat_mut() {
                Some(seat) if seat.turn() != Some(1) => None,
                _ => {
                    shared
                        .try_acquire(backend.url(), backend.max_parallel())
                        .await
                }
            };
            match free {
                Some(slot) => permit.hold(slot),
                None => return Ok(Start::Admitted { permit, backend }),
            }
        }
        match backend.client().chat(request).await {
            Ok(upstream) => {
                return Ok(Start::Connected {
                    upstream,
                    permit,
                    backend,
                });
            }
            Err(err) => {
                drop(permit);
                match retry
                    .elsewhere(backends, &request.model, &backend, &err)
                    .await
                {
                    Some(next) => start = next,
                    None => return Err(err),
                }
            }
        }
    }
}

/// Waits in line if needed and calls Ollama (with the retry): the stream and its permit.
pub async fn connected(
    backends: &Backends,
    shared: Option<&ClusterSlots>,
    request: &ChatRequest,
    mut start: Start,
    retry: &mut Retry,
) -> Result<(ChatStream, Permit), OllamaError> {
    loop {
        start = match connect(backends, shared, request, start, retry).await? {
            Start::Connected {
                upstream, permit, ..
            } => return Ok((upstream, permit)),
            Start::Queued {
                mut ticket,
                backend,
            } => {
                while ticket.place() != Place::Admitted {
                    ticket.changed().await;
                }
                let permit = ticket.into_permit().ok_or(OllamaError::ConnectionCut)?;
                Start::Admitted { permit, backend }
            }
            // Every shared slot of the backend is taken: wait for one.
            Start::Admitted {
                mut permit,
                backend,
            } => {
                if let Some(shared) = shared {
                    let (url, slots) = (backend.url(), backend.max_parallel());
                    let slot = shared.acquire(url, slots, permit.seat_mut(), |_| {}).await;
                    permit.hold(slot);
                }
                Start::Admitted { permit, backend }
            }
        };
    }
}
