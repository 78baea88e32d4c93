//! SQLite's write-ahead log, copied back into the database file by a connection of its own.
//!
//! By default SQLite copies the log into the database file (a checkpoint: page writes and two
//! `fsync`s) inside whichever commit finds the log past 1,000 pages, and that commit's caller
//! waits for it. While another connection reads, the copy cannot finish, the log stays long,
//! and every following commit tries again: under 500 streams `strace` showed bursts of commits
//! each paying a checkpoint (a few ms, one `fsync` 96 ms), a turn's rows and answers' ends
//! among them. So the pool's connections never checkpoint (`wal_autocheckpoint = 0`), and a
//! task does, every [`INTERVAL`], in `PASSIVE` mode (it waits for no reader and no writer),
//! on a connection that serves nothing else.
//!
//! Once a copy is complete, the next commit starts the log over and syncs its header (one
//! `fsync`): copying every 500 ms made a turn a second pay it nearly every time (+0.35 ms to
//! one stream's first token); every 5 s, one commit in five seconds does.

use std::{sync::Arc, time::Duration};

use sqlx::{AnyConnection, Connection, Executor, any::AnyConnectOptions};
use tokio::{sync::oneshot, time::MissedTickBehavior};

/// How often the log is copied into the database file. A copy with nothing new to copy
/// touches no file.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Run on each of the pool's connections: commits never checkpoint.
pub const NO_AUTOCHECKPOINT: &str = "pragma wal_autocheckpoint = 0;";

/// Keeps the checkpointing task running: it stops, and closes its connection, when the last
/// handle on the database is dropped.
#[derive(Debug)]
pub struct Checkpointer {
    _running: oneshot::Sender<()>,
}

/// Opens the checkpointer's connection and starts its task.
pub async fn start(options: &AnyConnectOptions) -> Result<Arc<Checkpointer>, sqlx::Error> {
    let mut conn = AnyConnection::connect_with(options).await?;
    let (running, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            if let Err(err) = conn.execute("pragma wal_checkpoint(passive)").await {
                tracing::warn!(error = %err, "copying SQLite's log into the database failed");
            }
        }
        // The last connection to close copies what is left and removes the log.
        let _ = conn.close().await;
    });
    Ok(Arc::new(Checkpointer { _running: running }))
}
