//! The answers being generated right now: at most one per conversation, a way to stop it,
//! and a way to re-attach to it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::watch;

use super::live::Live;
use crate::error::AppError;

/// Answers in flight, by conversation id.
#[derive(Clone, Default)]
pub struct Generations {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

struct Entry {
    stop: watch::Sender<bool>,
    /// Set once the answer has ids (before that there is nothing to attach to).
    live: Option<Arc<Live>>,
}

/// A conversation's right to generate; released when dropped (the answer ended).
pub struct Slot {
    generations: Generations,
    conversation_id: String,
    /// Becomes `true` when someone pressed Stop.
    pub stop: watch::Receiver<bool>,
}

impl Generations {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims the conversation; 409 if an answer is already being generated for it.
    pub fn claim(&self, conversation_id: &str) -> Result<Slot, AppError> {
        let mut map = self.lock();
        if map.contains_key(conversation_id) {
            return Err(AppError::Conflict(
                "an answer is already being generated in this conversation".into(),
            ));
        }
        let (tx, rx) = watch::channel(false);
        map.insert(
            conversation_id.to_string(),
            Entry {
                stop: tx,
                live: None,
            },
        );
        Ok(Slot {
            generations: self.clone(),
            conversation_id: conversation_id.to_string(),
            stop: rx,
        })
    }

    /// Asks the answer in flight to stop; false when there is none.
    pub fn stop(&self, conversation_id: &str) -> bool {
        self.lock()
            .get(conversation_id)
            .is_some_and(|e| e.stop.send(true).is_ok())
    }

    /// The answer in flight for a conversation, to re-attach to.
    pub fn live(&self, conversation_id: &str) -> Option<Arc<Live>> {
        self.lock()
            .get(conversation_id)
            .and_then(|e| e.live.clone())
    }

    /// Whether an answer of the conversation is being generated here.
    pub fn generating(&self, conversation_id: &str) -> bool {
        self.lock().contains_key(conversation_id)
    }

    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

impl Slot {
    /// Makes the answer visible to re-attaching clients.
    pub fn publish(&self, live: &Arc<Live>) {
        if let Some(entry) = self.generations.lock().get_mut(&self.conversation_id) {
            entry.live = Some(Arc::clone(live));
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.generations.lock().remove(&self.conversation_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream_events::MetaEvent;

    #[test]
    fn one_answer_per_conversation_and_release_on_drop() {
        let g = Generations::default();
        let slot = g.claim("c1").unwrap();
        assert!(matches!(g.claim("c1"), Err(AppError::Conflict(_))));
        assert!(g.claim("c2").is_ok(), "other conversations are independent");
        assert!(g.stop("c1"));
        assert!(*slot.stop.borrow());
        drop(slot);
        assert!(!g.stop("c1"));
        assert!(g.claim("c1").is_ok());
    }

    #[test]
    fn attachable_only_once_published_and_until_released() {
        let g = Generations::default();
        let slot = g.claim("c1").unwrap();
        assert!(g.live("c1").is_none());
        let live = Live::new(
            MetaEvent {
                conversation_id: "c1".into(),
                user_message_id: "u".into(),
                assistant_message_id: "a".into(),
                model: "m".into(),
            },
            None,
        );
        slot.publish(&live);
        assert!(g.live("c1").is_some());
        drop(slot);
        assert!(g.live("c1").is_none());
    }
}
