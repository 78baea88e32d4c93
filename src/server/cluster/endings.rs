//! An answer's end, announced before it is written, as every instance sees it.
//!
//! On one instance, an answer's listeners hear `done` at once and the final write follows,
//! while reads of the conversation wait for it in memory (`chat::settling`). With several
//! instances, whoever heard `done` may read next from another instance, which cannot see
//! that memory. So the instance ending an answer first takes an advisory lock named after the
//! conversation ([`begin`]: one round trip, nothing written, no log to flush), then announces
//! the end, writes it on the same connection and lets go ([`Ending::release`]). A read on any
//! instance that finds an answer of the conversation still `streaming` waits until nobody
//! holds that lock and reads again ([`written`]): an end announced before the read began was
//! written by then.

use std::time::Duration;

use sqlx::{AnyConnection, pool::PoolConnection};
use tokio::time::Instant;

use crate::server::db::Db;

/// How long a read waits at most for an end being written (a write that takes longer is
/// stuck; the read then returns what is stored).
const WAIT_AT_MOST: Duration = Duration::from_secs(5);
/// How often a waiting read looks again: an end's write takes about a millisecond.
const LOOK_EVERY: Duration = Duration::from_millis(1);

/// The advisory lock of the ends of a conversation's answers (FNV-1a, 64 bits, of a name
/// unlike any instance id, whose own locks, `instances::key`, hash the bare id).
fn key(conversation_id: &str) -> i64 {
    format!("ending:{conversation_id}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        }) as i64
}

/// An answer's end being written: the lock is held, on the connection that writes it, until
/// [`Ending::release`]. Dropped without it (a cancelled task), the connection is closed rather
/// than pooled, and its lock goes with its session.
pub struct Ending {
    connection: Option<PoolConnection<sqlx::Any>>,
    key: i64,
}

/// Takes the lock of `conversation_id`'s endings, on a connection of `db`'s pool.
pub async fn begin(db: &Db, conversation_id: &str) -> Result<Ending, sqlx::Error> {
    let mut connection = db.pool.acquire().await?;
    let key = key(conversation_id);
    let locked = sqlx::query("select 1 from (select pg_advisory_lock($1)) as held")
        .bind(key)
        .execute(&mut *connection)
        .await;
    if let Err(err) = locked {
        // Whether the lock was taken is not known: the session ends with the connection.
        connection.close_on_drop();
        return Err(err);
    }
    Ok(Ending {
        connection: Some(connection),
        key,
    })
}

impl Ending {
    /// The connection holding the lock, for the end's write.
    pub fn connection(&mut self) -> &mut AnyConnection {
        self.connection
            .as_mut()
            .expect("an ending holds its connection until released")
    }

    /// Lets go of the lock: reads waiting elsewhere go on and find the end written.
    pub async fn release(mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let unlocked = sqlx::query("select pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut *connection)
            .await;
        if let Err(err) = unlocked {
            tracing::warn!(error = %err, "could not let go of an answer's end; closing its connection");
            connection.close_on_drop();
        }
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            connection.close_on_drop();
        }
    }
}

/// Waits until no instance is writing the end of an answer of `conversation_id` (for at most
/// [`WAIT_AT_MOST`]).
pub async fn written(db: &Db, conversation_id: &str) -> Result<(), sqlx::Error> {
    let key = key(conversation_id);
    let give_up = Instant::now() + WAIT_AT_MOST;
    loop {
        // A shared lock is free unless an end is being written; taken, it is let go at once.
        let free: bool = sqlx::query_scalar(
            "select case when pg_try_advisory_lock_shared($1) \
             then pg_advisory_unlock_shared($1) else false end",
        )
        .bind(key)
        .fetch_one(&db.pool)
        .await?;
        if free {
            return Ok(());
        }
        if Instant::now() >= give_up {
            tracing::warn!(
                conversation = conversation_id,
                "an answer's end has been written for too long; reading what is stored"
            );
            return Ok(());
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_conversation_has_its_own_lock_apart_from_the_instances_locks() {
        let (a, b) = ("0f3c9a", "0f3c9b");
        assert_eq!(key(a), key(a));
        assert_ne!(key(a), key(b));
        assert_ne!(key(a), super::super::instances::key(a));
    }
}
