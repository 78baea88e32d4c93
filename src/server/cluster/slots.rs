//! Each backend's limit of answers at once (`max_parallel`) held across instances. A slot is
//! a PostgreSQL advisory lock (backend, slot number) held by this instance's slot connection,
//! so a crashed instance's slots are freed with its connection. Freed slots are announced on
//! `ea_slot_freed`; waiting instances also look again every second (a crash announces nothing).
//!
//! Who takes a freed slot is decided by the backends' lines shared by the instances (`line`):
//! the requests let through by their instance's own line, in the order they came.
//!
//! One task owns the connection and serves a bounded queue of commands.

use std::{collections::HashSet, sync::Arc, time::Duration};

use sqlx::{Connection, postgres::PgConnection};
use tokio::sync::{Notify, mpsc, oneshot};

use super::LineSeat;

/// Channel announcing a freed slot.
pub const FREED: &str = "ea_slot_freed";

/// How often a waiting request looks again without being told.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

type Key = (i32, i32);

enum Command {
    TryLock {
        backend: i32,
        slots: usize,
        /// Take none while a seat let through on any instance waits for one of the backend's
        /// slots (its URL, as `waiting_requests` names it).
        unless_ready: Option<String>,
        reply: oneshot::Sender<Option<Key>>,
    },
    Unlock(Key),
}

/// This instance's handle on the shared slots. Cheap to clone.
#[derive(Clone)]
pub struct ClusterSlots {
    commands: mpsc::Sender<Command>,
    pub(super) freed: Arc<Notify>,
}

/// One shared slot, given back when dropped.
pub struct ClusterSlot {
    commands: mpsc::Sender<Command>,
    key: Key,
}

impl Drop for ClusterSlot {
    fn drop(&mut self) {
        let (commands, key) = (self.commands.clone(), self.key);
        if let Err(mpsc::error::TrySendError::Full(_)) = commands.try_send(Command::Unlock(key))
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = commands.send(Command::Unlock(key)).await;
            });
        }
        // (Closed: the slot connection is gone, and the lock with it.)
    }
}

/// A stable number for a backend, the same on every instance.
pub(super) fn backend_key(url: &str) -> i32 {
    // FNV-1a, 32 bits.
    let hash = url.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash as i32
}

impl ClusterSlots {
    /// Connects; the connection also holds `alive` (this instance's liveness lock).
    pub async fn start(url: &str, alive: i64) -> Result<ClusterSlots, sqlx::Error> {
        let connection = connect(url, alive).await?;
        let (commands, rx) = mpsc::channel(1024);
        tokio::spawn(serve(url.to_string(), alive, connection, rx));
        Ok(ClusterSlots {
            commands,
            freed: Arc::default(),
        })
    }

    /// A slot of `backend` if one is free now.
    pub async fn try_acquire(&self, backend: &str, slots: usize) -> Option<ClusterSlot> {
        self.try_lock(backend, slots, None).await
    }

    /// A slot of `backend` if one is free now and no request let through by its instance's
    /// line (a ready seat, on any instance) is waiting for one: asked in the same round trip.
    pub async fn try_acquire_unless_ready(
        &self,
        backend: &str,
        slots: usize,
    ) -> Option<ClusterSlot> {
        self.try_lock(backend, slots, Some(backend.to_string()))
            .await
    }

    async fn try_lock(
        &self,
        backend: &str,
        slots: usize,
        unless_ready: Option<String>,
    ) -> Option<ClusterSlot> {
        let (reply, answer) = oneshot::channel();
        let command = Command::TryLock {
            backend: backend_key(backend),
            slots,
            unless_ready,
            reply,
        };
        self.commands.send(command).await.ok()?;
        let key = answer.await.ok()??;
        Some(ClusterSlot {
            commands: self.commands.clone(),
            key,
        })
    }

    /// Waits for a slot of `backend`, telling `report` the request's place in the line (that
    /// of its `seat`, marked ready first) whenever it changes. Freed slots go to the ready
    /// seats in turn (`line`), not to whichever instance hears first that one is free.
    pub async fn acquire(
        &self,
        backend: &str,
        slots: usize,
        mut seat: Option<&mut LineSeat>,
        mut report: impl FnMut(usize),
    ) -> ClusterSlot {
        if let Some(seat) = seat.as_deref_mut() {
            seat.ready().await;
        }
        let mut reported = None;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            // Only the ready seat whose turn it is (or a request without a seat) takes a slot.
            let turn = seat.as_deref().map_or(Some(1), LineSeat::turn);
            if turn == Some(1)
                && let Some(slot) = self.try_acquire(backend, slots).await
            {
                return slot;
            }
            let place = seat.as_deref().map_or(1, LineSeat::place);
            if reported.replace(place) != Some(place) {
                report(place);
            }
            let moved = async {
                match seat.as_deref_mut() {
                    Some(seat) => seat.moved().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = freed => {}
                _ = moved => {}
                _ = tokio::time::sleep(LOOK_AGAIN) => {}
            }
        }
    }
}

async fn connect(url: &str, alive: i64) -> Result<PgConnection, sqlx::Error> {
    let mut connection = PgConnection::connect(url).await?;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(alive)
        .execute(&mut connection)
        .await?;
    Ok(connection)
}

async fn serve(
    url: String,
    alive: i64,
    mut connection: PgConnection,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut held: HashSet<Key> = HashSet::new();
    while let Some(command) = commands.recv().await {
        let done = match command {
            Command::TryLock {
                backend,
                slots,
                unless_ready,
                reply,
            } => {
                // Advisory locks are re-entrant within a session: our own are not tried.
                let free = (0..slots.min(i32::MAX as usize) as i32)
                    .filter(|slot| !held.contains(&(backend, *slot)));
                let result =
                    try_lock_first(&mut connection, backend, free, unless_ready.as_deref()).await;
                let taken = result
                    .as_ref()
                    .ok()
                    .copied()
                    .flatten()
                    .map(|slot| (backend, slot));
                if let Some(key) = taken {
                    held.insert(key);
                }
                let _ = reply.send(taken);
                result.map(drop)
            }
            Command::Unlock(key) => {
                held.remove(&key);
                unlock(&mut connection, key).await
            }
        };
        if let Err(err) = done {
            // The connection is gone, and the locks with it: start again with a new one.
            tracing::error!(error = %err, "cluster slots: connection lost; reconnecting");
            held.clear();
            loop {
                match connect(&url, alive).await {
                    Ok(new) => {
                        connection = new;
                        break;
                    }
                    Err(_) => tokio::time::sleep(LOOK_AGAIN).await,
                }
            }
        }
    }
}

/// Slot numbers tried in one round trip.
const BATCH: usize = 64;

/// Locks the first slot of `backend` among `free` (in that order) that no other instance
/// holds, a batch of them per round trip; `None` when all are taken, or when `unless_ready`
/// names a backend that a ready seat waits for (then no lock is tried).
async fn try_lock_first(
    connection: &mut PgConnection,
    backend: i32,
    mut free: impl Iterator<Item = i32>,
    unless_ready: Option<&str>,
) -> Result<Option<i32>, sqlx::Error> {
    // The slots are tried in the batch's order and the first one locked ends the scan (the
    // limit), so no other lock is taken. The condition is a `case` so that it is checked
    // first, and the locks are tried only if it holds (-1 when it does not).
    macro_rules! first_free {
        () => {
            "(select s from unnest($2::int4[]) as s where pg_try_advisory_lock($1, s) limit 1)"
        };
    }
    const PLAIN: &str = concat!("select ", first_free!());
    const GUARDED: &str = concat!(
        "select case when exists \
         (select 1 from waiting_requests where backend = $3 and ready = 1) then -1 else ",
        first_free!(),
        " end"
    );
    loop {
        let batch: Vec<i32> = free.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            return Ok(None);
        }
        let query = match unless_ready {
            None => sqlx::query_scalar(PLAIN).bind(backend).bind(&batch),
            Some(url) => sqlx::query_scalar(GUARDED)
                .bind(backend)
                .bind(&batch)
                .bind(url),
        };
        match query.fetch_one(&mut *connection).await? {
            Some(-1) => return Ok(None),
            Some(slot) => return Ok(Some(slot)),
            None => {}
        }
    }
}

async fn unlock(connection: &mut PgConnection, key: Key) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_unlock($1, $2), pg_notify($3, '')")
        .bind(key.0)
        .bind(key.1)
        .bind(FREED)
        .execute(connection)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_keys_are_stable_and_distinct() {
        assert_eq!(backend_key("http://a:11434"), backend_key("http://a:11434"));
        assert_ne!(backend_key("http://a:11434"), backend_key("http://b:11434"));
    }
}
