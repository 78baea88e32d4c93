//! Checkpoints of the answers being streamed, written in batches.
//!
//! A generation never waits for the database while relaying tokens: it hands the text so far
//! to [`Checkpoints::save`] and goes on. One writer task stores every pending checkpoint in a
//! single statement, at most once per `BATCH_WINDOW`; a newer text of the same answer
//! replaces one not yet written. So many answers streaming at once cost a few statements a
//! second instead of one write per answer and checkpoint, and a slow database slows nobody's
//! tokens. The final text is stored by the generation itself when the answer ends (a late
//! checkpoint cannot overwrite it: it only touches messages still `streaming`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::sync::Notify;

use crate::server::db::{Db, messages};

/// How long the writer gathers checkpoints before writing them together.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct Checkpoints {
    inner: Arc<Inner>,
}

struct Inner {
    /// Answer id -> its latest unwritten text.
    pending: Mutex<HashMap<String, String>>,
    wake: Notify,
}

impl Checkpoints {
    /// Starts the writer task on `db`.
    pub fn start(db: Db) -> Checkpoints {
        let checkpoints = Checkpoints {
            inner: Arc::new(Inner {
                pending: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        };
        tokio::spawn(write_batches(db, Arc::clone(&checkpoints.inner)));
        checkpoints
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the text so far of a streaming answer; it is written with the next batch.
    pub fn save(&self, message_id: &str, content: String) {
        let fresh = self
            .lock()
            .insert(message_id.to_string(), content)
            .is_none();
        if fresh {
            self.inner.wake.notify_one();
        }
    }

    /// Drops an answer's unwritten checkpoint: its final text is being stored.
    pub fn forget(&self, message_id: &str) {
        self.lock().remove(message_id);
    }
}

/// Writes what is pending, one statement per batch (for as long as the runtime runs).
async fn write_batches(db: Db, inner: Arc<Inner>) {
    loop {
        // A save while a batch was being written left a permit: no checkpoint waits long.
        inner.wake.notified().await;
        tokio::time::sleep(BATCH_WINDOW).await;
        let batch = std::mem::take(&mut *inner.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            continue;
        }
        if let Err(err) = messages::checkpoint_many(&db, &batch).await {
            tracing::error!(error = %err, answers = batch.len(), "checkpoint failed");
        }
    }
}
