//! Each backend's line, over every instance. A request that waits for a backend holds a seat (a
//! row of `waiting_requests`) until it gets one of the backend's shared slots, whether it waits
//! in its instance's own line or was let through by it and waits for a slot another instance
//! holds. The seats give `ollama.max_queue` over all instances together, and each waiting
//! request's place in the whole line: seats are ordered by the database's clock, so instances
//! on different hosts agree. A seat given up is announced on `ea_line_moved`; each instance
//! then reads again the places of its own seats in one query (and every second, as nothing
//! is announced when an instance dies). Seats of instances that are gone are removed
//! (`instances`).

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

type Seats = Mutex<HashMap<String, watch::Sender<usize>>>;

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
    place: watch::Receiver<usize>,
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

    /// A seat at the end of `backend`'s line, or 503 (with Retry-After) when the instances
    /// together already hold `max_queue` seats in it.
    pub async fn take(&self, backend: &str, max_queue: usize) -> Result<LineSeat, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        // Counting and sitting down are one step for all instances: the backend's line is
        // locked (a transaction-scoped advisory lock) from the count to the commit.
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock($1, -1)")
            .bind(super::slots::backend_key(backend))
            .execute(&mut *tx)
            .await?;
        let ahead: i64 =
            sqlx::query_scalar("select count(*) from waiting_requests where backend = $1")
                .bind(backend)
                .fetch_one(&mut *tx)
                .await?;
        if usize::try_from(ahead).unwrap_or(usize::MAX) >= max_queue {
            return Err(AppError::Busy {
                retry_after_secs: 10,
            });
        }
        sqlx::query(
            "insert into waiting_requests (id, instance_id, backend, created_at) \
             values ($1, $2, $3, \
             to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
        )
        .bind(&id)
        .bind(&self.instance_id)
        .bind(backend)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let (tx, place) = watch::channel(ahead as usize + 1);
        self.lock().insert(id.clone(), tx);
        Ok(LineSeat {
            line: self.clone(),
            id,
            place,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<usize>>> {
        self.seats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LineSeat {
    /// The place in the whole line (1 is next), as last read.
    pub fn place(&self) -> usize {
        *self.place.borrow()
    }

    /// Waits until the place changes.
    pub async fn moved(&mut self) {
        if self.place.changed().await.is_err() {
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

/// Reads the places of this instance's seats when the line moves, and every `LOOK_AGAIN`.
async fn keep_places(pool: PgPool, instance_id: String, seats: Weak<Seats>, moved: Arc<Notify>) {
    loop {
        tokio::select! {
            _ = moved.notified() => {}
            _ = tokio::time::sleep(LOOK_AGAIN) => {}
        }
        let Some(seats) = seats.upgrade() else {
            return;
        };
        if seats.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            continue;
        }
        let places: Vec<(String, i64)> = match sqlx::query_as(
            "select id, place from (\
                 select id, instance_id, \
                 row_number() over (partition by backend order by created_at, id) as place \
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
        for (id, place) in places {
            if let Some(seat) = seats.get(&id) {
                seat.send_if_modified(|p| std::mem::replace(p, place as usize) != place as usize);
            }
        }
    }
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
