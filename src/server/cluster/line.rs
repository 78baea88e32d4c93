//! Each backend's line, over every instance. A request that waits for a backend holds a seat (a
//! row of `waiting_requests`) until it gets one of the backend's shared slots, whether it waits
//! in its instance's own line or was let through by it and waits for a slot another instance
//! holds. The seats give `ollama.max_queue` over all instances together, and each waiting
//! request's place in the whole line: seats are ordered by the database's clock, so instances
//! on different hosts agree. A seat given up is announced on `ea_line_moved`; each instance
//! then reads again the places of its own seats in one query (and every second, as nothing
//! is announced when an instance dies). Seats of instances that are gone are removed
//! (`instances`).
//!
//! A seat is *ready* once its request is let through by its instance's own line and only
//! waits for a shared slot. The ready seats take freed slots in the order they came, over all
//! instances (`slots`): a request let through on the instance that freed a slot does not pass
//! one that waits on another. Seats still in their instance's line do not hold up the ready
//! ones: they wait for their own instance, not for a slot. A request just arrived takes a free
//! slot only if no ready seat waits for one.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use sqlx::postgres::PgPool;
use tokio::sync::{Notify, watch};

use crate::error::AppError;

/// Channel announcing that a seat was given up.
pub const MOVED: &str = "ea_line_moved";

/// How often the places are read again without being told.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

type Seats = Mutex<HashMap<String, watch::Sender<Position>>>;

/// Where a seat is in its backend's line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Place in the whole line (1 is next), as shown to the person waiting.
    pub place: usize,
    /// Among the ready seats, 1 takes the next freed slot; `None` while not ready.
    pub turn: Option<usize>,
}

/// This instance's seats in the backends' lines. Cheap to clone.
#[derive(Clone)]
pub struct Line {
    pool: PgPool,
    instance_id: String,
    seats: Arc<Seats>,
    pub(super) moved: Arc<Notify>,
}

/// A seat in a backend's line; given up when dropped.
pub struct LineSeat {
    line: Line,
    id: String,
    backend: String,
    position: watch::Receiver<Position>,
}

impl Line {
    /// The seats of `instance_id`; their places are kept up to date by a task that ends with
    /// the last clone.
    pub fn new(pool: PgPool, instance_id: String) -> Line {
        let line = Line {
            pool,
            instance_id,
            seats: Arc::default(),
            moved: Arc::default(),
        };
        tokio::spawn(keep_places(
            line.pool.clone(),
            line.instance_id.clone(),
            Arc::downgrade(&line.seats),
            Arc::clone(&line.moved),
        ));
        line
    }

    /// A seat at the end of `backend`'s line (`ready` if its request is let through by this
    /// instance's line), or 503 (with Retry-After) when the instances together already hold
    /// `max_queue` seats in it.
    pub async fn take(
        &self,
        backend: &str,
        max_queue: usize,
        ready: bool,
    ) -> Result<LineSeat, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        // Counting and sitting down are one step for all instances: the backend's line is
        // locked (a transaction-scoped advisory lock) from the count to the commit.
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock($1, -1)")
            .bind(super::slots::backend_key(backend))
            .execute(&mut *tx)
            .await?;
        let (ahead, ready_ahead): (i64, i64) = sqlx::query_as(
            "select count(*), count(*) filter (where ready = 1) \
             from waiting_requests where backend = $1",
        )
        .bind(backend)
        .fetch_one(&mut *tx)
        .await?;
        if usize::try_from(ahead).unwrap_or(usize::MAX) >= max_queue {
            return Err(AppError::Busy {
                retry_after_secs: 10,
            });
        }
        sqlx::query(
            "insert into waiting_requests (id, instance_id, backend, created_at, ready) \
             values ($1, $2, $3, \
             to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
             $4)",
        )
        .bind(&id)
        .bind(&self.instance_id)
        .bind(backend)
        .bind(i32::from(ready))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let (tx, position) = watch::channel(Position {
            place: ahead as usize + 1,
            turn: ready.then_some(ready_ahead as usize + 1),
        });
        self.lock().insert(id.clone(), tx);
        Ok(LineSeat {
            line: self.clone(),
            id,
            backend: backend.to_string(),
            position,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Position>>> {
        self.seats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LineSeat {
    /// The place in the whole line (1 is next), as last read.
    pub fn place(&self) -> usize {
        self.position.borrow().place
    }

    /// Its turn among the ready seats (1 takes the next freed slot); `None` while not ready.
    pub fn turn(&self) -> Option<usize> {
        self.position.borrow().turn
    }

    /// Marks the seat ready: its request is let through by its instance's line and now only
    /// waits for a shared slot. If that cannot be written, the seat takes its turn at once
    /// (a slot is then taken out of order rather than never).
    pub async fn ready(&mut self) {
        if self.turn().is_some() {
            return;
        }
        let turn: Result<i64, sqlx::Error> = async {
            let mut tx = self.line.pool.begin().await?;
            sqlx::query("update waiting_requests set ready = 1 where id = $1")
                .bind(&self.id)
                .execute(&mut *tx)
                .await?;
            let ahead: i64 = sqlx::query_scalar(
                "select count(*) from waiting_requests w \
                 join waiting_requests me on me.id = $1 \
                 where w.backend = $2 and w.ready = 1 \
                 and (w.created_at, w.id) < (me.created_at, me.id)",
            )
            .bind(&self.id)
            .bind(&self.backend)
            .fetch_one(&mut *tx)
            .await?;
            // The turns of the ready seats behind it change.
            sqlx::query("select pg_notify($1, '')")
                .bind(MOVED)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(ahead + 1)
        }
        .await;
        let turn = turn.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "could not mark a seat in a line ready");
            1
        });
        if let Some(tx) = self.line.lock().get(&self.id) {
            tx.send_modify(|p| p.turn = Some(turn as usize));
        }
    }

    /// Waits until the place or the turn changes.
    pub async fn moved(&mut self) {
        if self.position.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for LineSeat {
    fn drop(&mut self) {
        self.line.lock().remove(&self.id);
        let (pool, id) = (self.line.pool.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let gone = sqlx::query(
                    "with gone as (delete from waiting_requests where id = $1 returning id) \
                     select pg_notify($2, '') from gone",
                )
                .bind(&id)
                .bind(MOVED)
                .execute(&pool)
                .await;
                if let Err(err) = gone {
                    tracing::warn!(error = %err, "could not give up a seat in a line");
                }
            });
        }
    }
}

/// Reads the places of this instance's seats when the line moves, and every `LOOK_AGAIN`; then
/// also, if one of them waits for its turn behind another, removes the seats of instances that
/// are gone (a ready seat left by an instance that died would otherwise hold up the line until
/// the sweeper in `instances` came by).
async fn keep_places(pool: PgPool, instance_id: String, seats: Weak<Seats>, moved: Arc<Notify>) {
    loop {
        let looked_again = tokio::select! {
            _ = moved.notified() => false,
            _ = tokio::time::sleep(LOOK_AGAIN) => true,
        };
        let Some(seats) = seats.upgrade() else {
            return;
        };
        let behind = {
            let seats = seats.lock().unwrap_or_else(|e| e.into_inner());
            if seats.is_empty() {
                continue;
            }
            seats
                .values()
                .any(|p| p.borrow().turn.is_some_and(|turn| turn > 1))
        };
        if looked_again
            && behind
            && let Err(err) = forget_gone(&pool, &instance_id).await
        {
            tracing::warn!(error = %err, "could not look for the seats of instances that are gone");
        }
        let places: Vec<(String, i64, Option<i64>)> = match sqlx::query_as(
            "select id, place, turn from (\
                 select id, instance_id, \
                 row_number() over (partition by backend order by created_at, id) as place, \
                 case when ready = 1 then row_number() over \
                     (partition by backend, ready order by created_at, id) end as turn \
                 from waiting_requests) line \
             where instance_id = $1",
        )
        .bind(&instance_id)
        .fetch_all(&pool)
        .await
        {
            Ok(places) => places,
            Err(err) => {
                tracing::warn!(error = %err, "could not read the places in the lines");
                continue;
            }
        };
        let seats = seats.lock().unwrap_or_else(|e| e.into_inner());
        for (id, place, turn) in places {
            if let Some(seat) = seats.get(&id) {
                let read = Position {
                    place: place as usize,
                    turn: turn.map(|t| t as usize),
                };
                // A turn counts once the seat is marked ready here (`LineSeat::ready`); a read
                // from before that mark was written keeps the turn it gave.
                seat.send_if_modified(|p| {
                    let new = Position {
                        turn: p.turn.map(|given| read.turn.unwrap_or(given)),
                        ..read
                    };
                    std::mem::replace(p, new) != new
                });
            }
        }
    }
}

/// Removes the seats of the instances (other than `own`) that are gone.
pub async fn forget_gone(pool: &PgPool, own: &str) -> Result<(), sqlx::Error> {
    let seated: Vec<String> = sqlx::query_scalar(
        "select distinct instance_id from waiting_requests where instance_id <> $1",
    )
    .bind(own)
    .fetch_all(pool)
    .await?;
    for id in seated {
        if super::instances::is_gone(pool, &id).await? {
            forget(pool, &id).await?;
        }
    }
    Ok(())
}

/// Removes the seats of an instance that is gone.
pub async fn forget(pool: &PgPool, instance_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with gone as (delete from waiting_requests where instance_id = $1 returning id) \
         select pg_notify($2, '') from gone limit 1",
    )
    .bind(instance_id)
    .bind(MOVED)
    .execute(pool)
    .await?;
    Ok(())
}
