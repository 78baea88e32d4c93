//! Each backend's limit of answers at once (`max_parallel`) held across instances. A slot is
//! a PostgreSQL advisory lock (backend, slot number) held by this instance's slot connection,
//! so a crashed instance's slots are freed with its connection. Freed slots are announced on
//! `ea_slot_freed`; waiting instances also look again every second (a crash announces nothing).
//!
//! Who takes a freed slot is decided by the backends' lines shared by the instances (`line`):
//! the requests let through by their instance's own line, in the order they came.
//!
//! A slot given back is kept a moment (`KEEP`, its lock still held) for this instance's next
//! answer on the backend, which then starts without a round trip to the database, unless
//! another instance wants one: an instance that finds no free slot says so on
//! `ea_slot_wanted`, and the instances that keep slots of that backend unlock them at once and
//! keep none for a while (`WANTED_FOR`; a waiting instance says it again each time it looks).
//! So a slot kept is never one a waiting request could have had, but for the moment it takes
//! the word to arrive.
//!
//! One task owns the connection and serves a bounded queue of commands.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use sqlx::{Connection, postgres::PgConnection};
use tokio::{
    sync::{Notify, mpsc, oneshot},
    time::Instant,
};

use super::LineSeat;

/// Channel announcing a freed slot.
pub const FREED: &str = "ea_slot_freed";

/// Channel on which an instance that found no free slot of a backend says it wants one
/// (the payload: the backend's key).
pub const WANTED: &str = "ea_slot_wanted";

/// How often a waiting request looks again without being told.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// How long a slot given back is kept for this instance's next answer on its backend.
const KEEP: Duration = Duration::from_secs(2);

/// How long, after hearing that a backend's slot is wanted, none of its slots is kept. Longer
/// than `LOOK_AGAIN`: an instance still waiting says it again before that.
const WANTED_FOR: Duration = Duration::from_secs(3);

/// How often, at most, this instance says it wants a slot of a backend.
const SAY_WANTED_EVERY: Duration = Duration::from_millis(250);

type Key = (i32, i32);

enum Command {
    TryLock {
        /// The backend's URL, as `waiting_requests` names it.
        backend: String,
        slots: usize,
        /// Take none while a seat let through on any instance waits for one of the backend's
        /// slots.
        unless_ready: bool,
        reply: oneshot::Sender<Option<Key>>,
    },
    /// A slot given back: kept a moment, or unlocked if its backend's slots are wanted.
    GiveBack(Key),
    /// A slot of the backend is wanted (heard on `WANTED`): the kept ones are unlocked.
    Wanted(i32),
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
        if let Err(mpsc::error::TrySendError::Full(_)) = commands.try_send(Command::GiveBack(key))
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = commands.send(Command::GiveBack(key)).await;
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
        ClusterSlots::start_keeping(url, alive, KEEP).await
    }

    /// As [`ClusterSlots::start`], keeping a slot given back for `keep` instead of `KEEP`.
    pub async fn start_keeping(
        url: &str,
        alive: i64,
        keep: Duration,
    ) -> Result<ClusterSlots, sqlx::Error> {
        let connection = connect(url, alive).await?;
        let (commands, rx) = mpsc::channel(1024);
        tokio::spawn(serve(url.to_string(), alive, keep, connection, rx));
        Ok(ClusterSlots {
            commands,
            freed: Arc::default(),
        })
    }

    /// Another instance (or this one) wants a slot of `backend` (its URL, the payload of a
    /// notification on [`WANTED`]): the slots of it kept here are unlocked.
    pub fn wanted(&self, backend: &str) {
        let _ = self
            .commands
            .try_send(Command::Wanted(backend_key(backend)));
    }

    /// A slot of `backend` if one is free now (or kept here).
    pub async fn try_acquire(&self, backend: &str, slots: usize) -> Option<ClusterSlot> {
        self.try_lock(backend, slots, false).await
    }

    /// A slot of `backend` if one is free now and no request let through by its instance's
    /// line (a ready seat, on any instance) is waiting for one: asked in the same round trip.
    pub async fn try_acquire_unless_ready(
        &self,
        backend: &str,
        slots: usize,
    ) -> Option<ClusterSlot> {
        self.try_lock(backend, slots, true).await
    }

    async fn try_lock(
        &self,
        backend: &str,
        slots: usize,
        unless_ready: bool,
    ) -> Option<ClusterSlot> {
        let (reply, answer) = oneshot::channel();
        let command = Command::TryLock {
            backend: backend.to_string(),
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

/// The slots this instance holds: in use, or kept a moment after being given back.
#[derive(Default)]
struct Held {
    /// Every slot locked by the connection, kept ones included.
    locked: HashSet<Key>,
    /// Slots given back and kept, each until when.
    kept: Vec<(Key, Instant)>,
    /// Backends whose slots another instance (or this one) wants, until when.
    wanted: HashMap<i32, Instant>,
    /// When this instance last said it wants a slot of a backend.
    said: HashMap<i32, Instant>,
}

impl Held {
    fn is_wanted(&self, backend: i32, now: Instant) -> bool {
        self.wanted.get(&backend).is_some_and(|until| *until > now)
    }

    /// A kept slot of `backend` among its first `slots`, now in use again.
    fn take_kept(&mut self, backend: i32, slots: usize) -> Option<Key> {
        let i = self.kept.iter().position(|((b, s), _)| {
            *b == backend && usize::try_from(*s).is_ok_and(|s| s < slots)
        })?;
        Some(self.kept.swap_remove(i).0)
    }

    /// Stops keeping the slots that `unlock` selects; returns them (still locked).
    fn stop_keeping(&mut self, unlock: impl Fn(&Key, &Instant) -> bool) -> Vec<Key> {
        let (gone, stay) = std::mem::take(&mut self.kept)
            .into_iter()
            .partition(|(key, until)| unlock(key, until));
        self.kept = stay;
        gone.into_iter()
            .map(|(key, _)| {
                self.locked.remove(&key);
                key
            })
            .collect()
    }

    /// Whether this instance should say now that it wants a slot of `backend`.
    fn say_wanted(&mut self, backend: i32, now: Instant) -> bool {
        let due = self
            .said
            .get(&backend)
            .is_none_or(|last| now.duration_since(*last) >= SAY_WANTED_EVERY);
        if due {
            self.said.insert(backend, now);
        }
        due
    }
}

async fn serve(
    url: String,
    alive: i64,
    keep: Duration,
    mut connection: PgConnection,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut held = Held::default();
    loop {
        let expiry = held.kept.iter().map(|(_, until)| *until).min();
        let command = tokio::select! {
            command = commands.recv() => match command {
                Some(command) => Some(command),
                None => break,
            },
            _ = tokio::time::sleep_until(expiry.unwrap_or_else(Instant::now)), if expiry.is_some() => None,
        };
        let now = Instant::now();
        let done = match command {
            // Kept long enough: given back.
            None => {
                let expired = held.stop_keeping(|_, until| *until <= now);
                unlock(&mut connection, &expired).await
            }
            Some(Command::TryLock {
                backend,
                slots,
                unless_ready,
                reply,
            }) => {
                let key = backend_key(&backend);
                if !held.is_wanted(key, now)
                    && let Some(kept) = held.take_kept(key, slots)
                {
                    let _ = reply.send(Some(kept));
                    continue;
                }
                // Advisory locks are re-entrant within a session: our own are not tried.
                let free = (0..slots.min(i32::MAX as usize) as i32)
                    .filter(|slot| !held.locked.contains(&(key, *slot)));
                let ready = unless_ready.then_some(backend.as_str());
                let result = try_lock_first(&mut connection, key, free, ready).await;
                let taken = result
                    .as_ref()
                    .ok()
                    .copied()
                    .flatten()
                    .map(|slot| (key, slot));
                if let Some(taken) = taken {
                    held.locked.insert(taken);
                }
                let _ = reply.send(taken);
                match result {
                    Ok(None) if held.say_wanted(key, now) => {
                        say_wanted(&mut connection, &backend).await
                    }
                    result => result.map(drop),
                }
            }
            Some(Command::GiveBack(key)) => {
                if held.is_wanted(key.0, now) {
                    held.locked.remove(&key);
                    unlock(&mut connection, &[key]).await
                } else {
                    held.kept.push((key, now + keep));
                    Ok(())
                }
            }
            Some(Command::Wanted(backend)) => {
                held.wanted.insert(backend, now + WANTED_FOR);
                held.wanted.retain(|_, until| *until > now);
                let kept = held.stop_keeping(|(b, _), _| *b == backend);
                unlock(&mut connection, &kept).await
            }
        };
        if let Err(err) = done {
            // The connection is gone, and the locks with it: start again with a new one.
            tracing::error!(error = %err, "cluster slots: connection lost; reconnecting");
            held.locked.clear();
            held.kept.clear();
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

/// Unlocks `keys` and announces that slots were freed, in one round trip.
async fn unlock(connection: &mut PgConnection, keys: &[Key]) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let (backends, slots): (Vec<i32>, Vec<i32>) = keys.iter().copied().unzip();
    // One notification: identical ones of a transaction are delivered once.
    sqlx::query(
        "select pg_advisory_unlock(b, s), pg_notify($3, '') \
         from unnest($1::int4[], $2::int4[]) as k (b, s)",
    )
    .bind(&backends)
    .bind(&slots)
    .bind(FREED)
    .execute(connection)
    .await?;
    Ok(())
}

/// Tells the instances that a slot of `backend` is wanted here.
async fn say_wanted(connection: &mut PgConnection, backend: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(WANTED)
        .bind(backend)
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
