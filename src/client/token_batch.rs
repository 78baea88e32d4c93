//! Tokens arrive faster than a screen refreshes: they are gathered and added to the answer
//! once per animation frame, so the page re-renders the answer at most once a frame.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use leptos::prelude::{Update, request_animation_frame};

use crate::components::chat_state::ChatState;

#[derive(Clone)]
pub struct TokenBatch {
    chat: ChatState,
    pending: Rc<RefCell<String>>,
    scheduled: Rc<Cell<bool>>,
}

impl TokenBatch {
    pub fn new(chat: ChatState) -> Self {
        TokenBatch {
            chat,
            pending: Rc::default(),
            scheduled: Rc::default(),
        }
    }

    /// Keeps a token for the next frame.
    pub fn push(&self, token: &str) {
        self.pending.borrow_mut().push_str(token);
        if !self.scheduled.replace(true) {
            let batch = self.clone();
            request_animation_frame(move || batch.flush());
        }
    }

    /// Adds what was gathered to the answer now (also before any other event is applied, so
    /// the order of things holds).
    pub fn flush(&self) {
        self.scheduled.set(false);
        let text = std::mem::take(&mut *self.pending.borrow_mut());
        if text.is_empty() {
            return;
        }
        self.chat.live.update(|live| {
            if let Some(turn) = live {
                turn.queued = None;
                turn.answer.push_str(&text);
            }
        });
    }
}
