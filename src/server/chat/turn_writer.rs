//! The turns' rows, written in groups on SQLite (group commit).
//!
//! SQLite takes one writer at a time. When hundreds of people ask at once, each turn's
//! transaction used to wait for all those before it, one by one: the first tokens of the last
//! ones were held back a quarter of a second by the database alone. Here one writer task
//! stores the turns: when it is idle a turn is written at once, alone; turns that arrive while
//! it writes wait together and go in the next transaction, as one. Each turn still gets its
//! own result (a refused account refuses only its own turn; see [`turns::store_group`]).
//!
//! PostgreSQL takes many writers at once: its turns are written directly, on the pool.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, oneshot};

use crate::{
    error::AppError,
    model::ConversationSummary,
    server::db::{
        Backend, Db, messages,
        turns::{self, TurnConversation, TurnRows},
    },
};

/// Most turns in one transaction: enough for any burst, and far below SQLite's limits on a
/// text's arguments (12 per turn, 32,766 in all) and length (~1.2 KB per turn, 1,000,000).
const MAX_GROUP: usize = 256;

#[derive(Clone)]
pub struct TurnWriter {
    db: Db,
    /// The SQLite writer's queue (`None` on PostgreSQL).
    queue: Option<Arc<Queue>>,
}

struct Queue {
    waiting: Mutex<Vec<Waiting>>,
    wake: Notify,
}

/// A turn waiting to be written, and where its result goes.
struct Waiting {
    turn: OwnedTurn,
    done: oneshot::Sender<Result<(), AppError>>,
}

impl TurnWriter {
    /// On SQLite, starts the writer task.
    pub fn start(db: Db) -> TurnWriter {
        let queue = (db.backend == Backend::Sqlite).then(|| {
            let queue = Arc::new(Queue {
                waiting: Mutex::new(Vec::new()),
                wake: Notify::new(),
            });
            tokio::spawn(write_groups(db.clone(), Arc::clone(&queue)));
            queue
        });
        TurnWriter { db, queue }
    }

    /// Writes a turn's rows, all or none (with the next group on SQLite).
    pub async fn store(&self, rows: &TurnRows<'_>) -> Result<(), AppError> {
        let Some(queue) = &self.queue else {
            return turns::store(&self.db, rows).await;
        };
        let (done, result) = oneshot::channel();
        queue.lock().push(Waiting {
            turn: OwnedTurn::from(rows),
            done,
        });
        queue.wake.notify_one();
        result.await.map_err(|_| {
            tracing::error!("the turn writer stopped");
            AppError::Internal
        })?
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The turns that waited, oldest first, up to a group's size.
    fn next_group(&self) -> Vec<Waiting> {
        let mut waiting = self.lock();
        let n = waiting.len().min(MAX_GROUP);
        waiting.drain(..n).collect()
    }
}

/// Writes what waits, a group per transaction (for as long as the runtime runs).
async fn write_groups(db: Db, queue: Arc<Queue>) {
    loop {
        // A turn that arrived while a group was written left a permit.
        queue.wake.notified().await;
        loop {
            let group = queue.next_group();
            if group.is_empty() {
                break;
            }
            let (owned, senders): (Vec<OwnedTurn>, Vec<_>) =
                group.into_iter().map(|w| (w.turn, w.done)).unzip();
            let rows: Vec<TurnRows<'_>> = owned.iter().map(OwnedTurn::rows).collect();
            let results = turns::store_group(&db, &rows).await;
            for ((turn, done), result) in owned.iter().zip(senders).zip(results) {
                let stored = result.is_ok();
                if done.send(result).is_err() && stored {
                    // The request went away while it waited: no answer will ever stream into
                    // its row (the question stays, as asked).
                    if let Err(err) = messages::delete_streaming(&db, &turn.answer_id).await {
                        tracing::warn!(error = %err, "could not remove an abandoned answer row");
                    }
                }
            }
        }
    }
}

/// A turn's rows, owned while they wait for the writer.
struct OwnedTurn {
    conversation: OwnedConversation,
    question_id: String,
    question: String,
    answer_id: String,
    instance_id: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
}

enum OwnedConversation {
    New {
        user_id: String,
        summary: ConversationSummary,
        token_issued_at: Option<i64>,
    },
    Existing {
        id: String,
        title: String,
    },
}

impl From<&TurnRows<'_>> for OwnedTurn {
    fn from(rows: &TurnRows<'_>) -> OwnedTurn {
        OwnedTurn {
            conversation: match &rows.conversation {
                TurnConversation::New {
                    user_id,
                    summary,
                    token_issued_at,
                } => OwnedConversation::New {
                    user_id: user_id.to_string(),
                    summary: (*summary).clone(),
                    token_issued_at: *token_issued_at,
                },
                TurnConversation::Existing { id, title } => OwnedConversation::Existing {
                    id: id.to_string(),
                    title: title.to_string(),
                },
            },
            question_id: rows.question_id.to_string(),
            question: rows.question.to_string(),
            answer_id: rows.answer_id.to_string(),
            instance_id: rows.instance_id.map(str::to_string),
            at: rows.at,
        }
    }
}

impl OwnedTurn {
    fn rows(&self) -> TurnRows<'_> {
        TurnRows {
            conversation: match &self.conversation {
                OwnedConversation::New {
                    user_id,
                    summary,
                    token_issued_at,
                } => TurnConversation::New {
                    user_id,
                    summary,
                    token_issued_at: *token_issued_at,
                },
                OwnedConversation::Existing { id, title } => {
                    TurnConversation::Existing { id, title }
                }
            },
            question_id: &self.question_id,
            question: &self.question,
            answer_id: &self.answer_id,
            instance_id: self.instance_id.as_deref(),
            at: self.at,
        }
    }
}
