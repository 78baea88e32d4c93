//! Each backend's limit of answers at once (`max_parallel`) held across instances. A slot is
//! a PostgreSQL advisory lock (backend, slot number) held by this instance's slot connection,
//! so a crashed instance's slots are freed with its connection. Freed slots are announced on
//! `ea_slot_freed`; waiting instances also look again every second (a crash announces nothing).
//!
//! Who takes a freed slot is decided by the backends' lines shared by the instances (`line`):
//! the requests let through by their instance's own line, in the order they came.
//!
//! A slot given back is kept a moment (`KEEP`, its lock still held) for this instance's next
//! answer on the backend, which takes it at once (no round trip to the database, no hop to the
//! connection's task), unless
//! another instance wants one: an instance that finds no free slot says so on
//! `ea_slot_wanted`, and the instances that keep slots of that backend unlock them at once and
//! keep none for a while (`WANTED_FOR`; a waiting instance says it again each time it looks).
//! So a slot kept is never one a waiting request could have had, but for the moment it takes
//! the word to arrive.
//!
//! One task owns the connection and serves a bounded queue of commands.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
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
/// (the payload: the backend's URL).
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
        /// The slot taken, and the connection's epoch (see [`KeptState::epoch`]).
        reply: oneshot::Sender<Option<(Key, u64)>>,
    },
    Unlock(Vec<Key>),
}

/// This instance's handle on the shared slots. Cheap to clone.
#[derive(Clone)]
pub struct ClusterSlots {
    commands: mpsc::Sender<Command>,
    kept: Arc<Kept>,
    pub(super) freed: Arc<Notify>,
}

/// One shared slot, given back when dropped.
pub struct ClusterSlot {
    commands: mpsc::Sender<Command>,
    kept: Arc<Kept>,
    key: Key,
    /// The epoch of the connection that locked it.
    epoch: u64,
}

impl Drop for ClusterSlot {
    fn drop(&mut self) {
        if let Some(key) = self.kept.give_back(self.key, self.epoch) {
            send(&self.commands, Command::Unlock(vec![key]));
        }
    }
}

/// Sends `command` to the connection's task, from a `Drop` too (waiting in a task of its own if
/// the queue is full; if it is closed, the connection is gone, and its locks with it).
fn send(commands: &mpsc::Sender<Command>, command: Command) {
    if let Err(mpsc::error::TrySendError::Full(command)) = commands.try_send(command)
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        let commands = commands.clone();
        runtime.spawn(async move {
            let _ = commands.send(command).await;
        });
    }
}

/// The slots given back and kept (still locked), shared by the handles, which take them again
/// at once, and the connection's task, which unlocks those kept long enough.
struct Kept {
    keep: Duration,
    state: Mutex<KeptState>,
    /// A slot is kept where none was: the task's next unlock is due.
    first: Notify,
}

#[derive(Default)]
struct KeptState {
    /// Each kept slot, until when.
    slots: Vec<(Key, Instant)>,
    /// Backends whose slots another instance (or this one) wants, until when.
    wanted: HashMap<i32, Instant>,
    /// How many times the connection was replaced: a slot locked by an earlier one is no
    /// longer locked, and is not kept.
    epoch: u64,
}

impl Kept {
    fn lock(&self) -> MutexGuard<'_, KeptState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a slot given back; returns it if it is to be unlocked instead (it is wanted).
    /// One locked by an earlier connection is neither: its lock went with that connection.
    fn give_back(&self, key: Key, epoch: u64) -> Option<Key> {
        let now = Instant::now();
        let mut state = self.lock();
        if epoch != state.epoch {
            return None;
        }
        if state.wanted.get(&key.0).is_some_and(|until| *until > now) {
            return Some(key);
        }
        state.slots.push((key, now + self.keep));
        if state.slots.len() == 1 {
            self.first.notify_one();
        }
        None
    }

    /// A kept slot of `backend` among its first `slots`, unless the backend's slots are wanted;
    /// with the connection's epoch.
    fn take(&self, backend: i32, slots: usize) -> Option<(Key, u64)> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.wanted.get(&backend).is_some_and(|until| *until > now) {
            return None;
        }
        let i = state.slots.iter().position(|((b, s), _)| {
            *b == backend && usize::try_from(*s).is_ok_and(|s| s < slots)
        })?;
        Some((state.slots.swap_remove(i).0, state.epoch))
    }

    /// The backend's slots are wanted: none is kept for `WANTED_FOR`; returns those kept.
    fn wanted(&self, backend: i32) -> Vec<Key> {
        let now = Instant::now();
        let mut state = self.lock();
        state.wanted.retain(|_, until| *until > now);
        state.wanted.insert(backend, now + WANTED_FOR);
        stop_keeping(&mut state, |(b, _), _| *b == backend)
    }

    /// The kept slots whose time is up, and when the next one's is.
    fn expired(&self) -> (Vec<Key>, Option<Instant>) {
        let now = Instant::now();
        let mut state = self.lock();
        let expired = stop_keeping(&mut state, |_, until| *until <= now);
        let next = state.slots.iter().map(|(_, until)| *until).min();
        (expired, next)
    }
}

/// Stops keeping the slots that `unlock` selects, and returns them (still locked).
fn stop_keeping(state: &mut KeptState, unlock: impl Fn(&Key, &Instant) -> bool) -> Vec<Key> {
    let (gone, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut state.slots)
        .into_iter()
        .partition(|(key, until)| unlock(key, until));
    state.slots = stay;
    gone.into_iter().map(|(key, _)| key).collect()
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
        let kept = Arc::new(Kept {
            keep,
            state: Mutex::default(),
            first: Notify::new(),
        });
        tokio::spawn(serve(
            url.to_string(),
            alive,
            Arc::clone(&kept),
            connection,
            rx,
        ));
        Ok(ClusterSlots {
            commands,
            kept,
            freed: Arc::default(),
        })
    }

    /// Another instance (or this one) wants a slot of `backend` (its URL, the payload of a
    /// notification on [`WANTED`]): the slots of it kept here are unlocked.
    pub fn wanted(&self, backend: &str) {
        let kept = self.kept.wanted(backend_key(backend));
        if !kept.is_empty() {
            send(&self.commands, Command::Unlock(kept));
        }
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
        // A slot kept here is taken again without waiting for the connection's task.
        let (key, epoch) = match self.kept.take(backend_key(backend), slots) {
            Some(taken) => taken,
            None => {
                let (reply, answer) = oneshot::channel();
                let command = Command::TryLock {
                    backend: backend.to_string(),
                    slots,
                    unless_ready,
                    reply,
                };
                self.commands.send(command).await.ok()?;
                answer.await.ok()??
            }
        };
        Some(ClusterSlot {
            commands: self.commands.clone(),
            kept: Arc::clone(&self.kept),
            key,
            epoch,
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
    kept: Arc<Kept>,
    mut connection: PgConnection,
    mut commands: mpsc::Receiver<Command>,
) {
    // Every slot locked by the connection, kept ones included.
    let mut locked: HashSet<Key> = HashSet::new();
    // When this instance last said it wants a slot of a backend.
    let mut said: HashMap<i32, Instant> = HashMap::new();
    let mut next_expiry = None;
    loop {
        let command = tokio::select! {
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
            _ = kept.first.notified() => Command::Unlock(Vec::new()),
            _ = tokio::time::sleep_until(next_expiry.unwrap_or_else(Instant::now)),
                if next_expiry.is_some() => Command::Unlock(Vec::new()),
        };
        let done = match command {
            Command::TryLock {
                backend,
                slots,
                unless_ready,
                reply,
            } => {
                let key = backend_key(&backend);
                // Advisory locks are re-entrant within a session: our own are not tried.
                let free = (0..slots.min(i32::MAX as usize) as i32)
                    .filter(|slot| !locked.contains(&(key, *slot)));
                let ready = unless_ready.then_some(backend.as_str());
                let result = try_lock_first(&mut connection, key, free, ready).await;
                let taken = result
                    .as_ref()
                    .ok()
                    .copied()
                    .flatten()
                    .map(|slot| (key, slot));
                if let Some(taken) = taken {
                    locked.insert(taken);
                }
                let epoch = kept.lock().epoch;
                let _ = reply.send(taken.map(|key| (key, epoch)));
                let now = Instant::now();
                let say = said
                    .get(&key)
                    .is_none_or(|last| now.duration_since(*last) >= SAY_WANTED_EVERY);
                match result {
                    Ok(None) if say => {
                        said.insert(key, now);
                        say_wanted(&mut connection, &backend).await
                    }
                    result => result.map(drop),
                }
            }
            // Given back and wanted, or no longer kept (the kept ones whose time is up too).
            Command::Unlock(mut keys) => {
                let (expired, next) = kept.expired();
                next_expiry = next;
                keys.extend(expired);
                for key in &keys {
                    locked.remove(key);
                }
                unlock(&mut connection, &keys).await
            }
        };
        if let Err(err) = done {
            // The connection is gone, and the locks with it: start again with a new one.
            tracing::error!(error = %err, "cluster slots: connection lost; reconnecting");
            locked.clear();
            {
                let mut state = kept.lock();
                state.slots.clear();
                state.epoch += 1;
            }
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

    fn kept(keep: Duration) -> Kept {
        Kept {
            keep,
            state: Mutex::default(),
            first: Notify::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn slots_given_back_are_kept_until_wanted_or_their_time_is_up() {
        let kept = kept(Duration::from_secs(2));
        let (a, b) = (backend_key("http://a:11434"), backend_key("http://b:11434"));
        assert_eq!(kept.give_back((a, 0), 0), None, "kept");
        assert_eq!(kept.give_back((b, 0), 0), None, "kept");
        // Taken again within the backend's slots only.
        assert_eq!(kept.take(a, 0), None);
        assert_eq!(kept.take(a, 1), Some(((a, 0), 0)));
        assert_eq!(kept.take(a, 1), None, "taken once");
        assert_eq!(kept.give_back((a, 0), 0), None);

        // Wanted: that backend's kept slots are to be unlocked, and none of its slots is kept
        // or taken again for a while; the other backend's stay.
        assert_eq!(kept.wanted(a), vec![(a, 0)]);
        assert_eq!(kept.give_back((a, 1), 0), Some((a, 1)));
        assert_eq!(kept.take(a, 2), None);
        tokio::time::advance(WANTED_FOR).await;
        assert_eq!(kept.give_back((a, 1), 0), None, "kept again");

        // Their time up, they are to be unlocked.
        let (expired, next) = kept.expired();
        assert_eq!(expired, vec![(b, 0)], "kept since before the wait");
        assert_eq!(next, Some(Instant::now() + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(kept.expired(), (vec![(a, 1)], None));
    }

    #[test]
    fn a_slot_of_a_lost_connection_is_not_kept() {
        let kept = kept(Duration::from_secs(2));
        kept.lock().epoch = 1;
        assert_eq!(kept.give_back((7, 0), 0), None);
        assert_eq!(
            kept.take(7, 1),
            None,
            "its lock went with the old connection"
        );
        assert_eq!(kept.give_back((7, 0), 1), None);
        assert_eq!(kept.take(7, 1), Some(((7, 0), 1)));
    }

    #[test]
    fn backend_keys_are_stable_and_distinct() {
        assert_eq!(backend_key("http://a:11434"), backend_key("http://a:11434"));
        assert_ne!(backend_key("http://a:11434"), backend_key("http://b:11434"));
    }
}
