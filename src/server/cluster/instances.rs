//! Which instances are alive: each holds, for as long as it runs, an advisory lock on its own
//! id (on its slot connection, see `slots`). A lock that can be taken belongs to an instance
//! that is gone, and so do the answers it left `streaming`. A live instance's own answers left
//! `streaming` with nothing generating them are recovered too.

use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::watch;

use super::Cluster;
use crate::{
    error::AppError,
    server::db::{Db, messages},
};

/// The advisory lock key of an instance (FNV-1a, 64 bits).
pub fn key(instance_id: &str) -> i64 {
    instance_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) as i64
}

/// Marks `interrupted` the answers left `streaming` by instances that are gone (those of live
/// instances keep going) and this instance's own orphans ([`recover_orphans`]), and removes the
/// gone instances' seats in the lines; returns how many answers.
pub async fn recover_abandoned(cluster: &Cluster, db: &Db) -> Result<u64, AppError> {
    super::line::forget_gone(&cluster.pool, &cluster.instance_id).await?;
    let mut recovered = 0;
    for instance in messages::streaming_instances(db).await? {
        let gone = match instance.as_deref() {
            None => true,
            Some(id) if id == cluster.instance_id => {
                recovered += recover_orphans(cluster, db).await?;
                false
            }
            Some(id) => is_gone(&cluster.pool, id).await.map_err(AppError::from)?,
        };
        if gone {
            recovered += messages::recover_interrupted_of(db, instance.as_deref()).await?;
        }
    }
    Ok(recovered)
}

/// This instance's answers stored as `streaming` in conversations it is not generating for:
/// their end could not be written (PostgreSQL was away), or was lost in a crash of PostgreSQL
/// (quick commits). Left so, their conversations would refuse new questions. An answer's row
/// exists only while its conversation is claimed, up to the announcement of its end, and the
/// end's write overwrites the mark: one that ends while this looks is stored as it ended.
async fn recover_orphans(cluster: &Cluster, db: &Db) -> Result<u64, AppError> {
    let orphans: Vec<String> = messages::streaming_of(db, &cluster.instance_id)
        .await?
        .into_iter()
        .filter(|(_, conversation)| !cluster.generations.generating(conversation))
        .map(|(id, _)| id)
        .collect();
    if orphans.is_empty() {
        return Ok(0);
    }
    messages::mark_interrupted(db, &orphans, "end_not_stored").await
}

/// How often a running instance looks for answers of instances that died and did not come
/// back (their conversations would refuse new questions meanwhile).
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Looks every `SWEEP_EVERY` until `shutdown` becomes true.
pub fn spawn_sweeper(cluster: Cluster, db: Db, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            match recover_abandoned(&cluster, &db).await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(
                    count,
                    "answers of an instance that is gone are now marked interrupted"
                ),
                Err(err) => tracing::warn!(error = %err, "could not look for abandoned answers"),
            }
        }
    });
}

pub(super) async fn is_gone(pool: &PgPool, instance_id: &str) -> Result<bool, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    let free: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(key(instance_id))
        .fetch_one(&mut *connection)
        .await?;
    if free {
        sqlx::query("select pg_advisory_unlock($1)")
            .bind(key(instance_id))
            .execute(&mut *connection)
            .await?;
    }
    Ok(free)
}
