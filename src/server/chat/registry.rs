//! The answers being generated right now: at most one per conversation, and a way to stop it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::watch;

use crate::error::AppError;

/// Answers in flight, by conversation id.
#[derive(Clone, Default)]
pub struct Generations {
    inner: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
}

/// A conversation's right to generate; released when dropped (the answer ended).
pub struct Slot {
    generations: Generations,
    conversation_id: String,
    /// Becomes `true` when someone pressed Stop.
    pub stop: watch::Receiver<bool>,
}

impl Generations {
    /// Claims the conversation; 409 if an answer is already being generated for it.
    pub fn claim(&self, conversation_id: &str) -> Result<Slot, AppError> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if map.contains_key(conversation_id) {
            return Err(AppError::Conflict(
                "an answer is already being generated in this conversation".into(),
            ));
        }
        let (tx, rx) = watch::channel(false);
        map.insert(conversation_id.to_string(), tx);
        Ok(Slot {
            generations: self.clone(),
            conversation_id: conversation_id.to_string(),
            stop: rx,
        })
    }

    /// Asks the answer in flight to stop; false when there is none.
    pub fn stop(&self, conversation_id: &str) -> bool {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(conversation_id)
            .is_some_and(|tx| tx.send(true).is_ok())
    }

    pub fn in_flight(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .generations
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.remove(&self.conversation_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
