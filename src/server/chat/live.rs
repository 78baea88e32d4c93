//! An answer being generated, watched by any number of listeners: the request that started
//! it, and any page or app that re-attaches later (a reload, a second tab). A listener first
//! gets what was produced so far, then the rest as it comes, then how the answer ended.
//!
//! The generation never waits for a listener: a slow listener gets the new text in one
//! larger `token` event instead of many small ones.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::sync::watch;

use crate::stream_events::{MetaEvent, QueuedEvent, StreamEvent, TokenEvent};

pub struct Live {
    state: Mutex<State>,
    /// Bumped after every change of `state`.
    changed: watch::Sender<u64>,
    /// How many listeners are attached.
    listeners: watch::Sender<usize>,
}

struct State {
    meta: MetaEvent,
    queued: Option<usize>,
    content: String,
    end: Option<StreamEvent>,
}

impl Live {
    pub fn new(meta: MetaEvent, queued: Option<usize>) -> Arc<Live> {
        Arc::new(Live {
            state: Mutex::new(State {
                meta,
                queued,
                content: String::new(),
                end: None,
            }),
            changed: watch::channel(0).0,
            listeners: watch::channel(0).0,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The place in line while waiting, `None` once generating. Listeners are woken only when
    /// it changes.
    pub fn set_queued(&self, position: Option<usize>) {
        if self.lock().queued != position {
            self.update(|s| s.queued = position);
        }
    }

    pub fn push(&self, token: &str) {
        self.update(|s| s.content.push_str(token));
    }

    pub fn meta(&self) -> MetaEvent {
        self.lock().meta.clone()
    }

    /// The id of the answer's message.
    pub fn meta_id(&self) -> String {
        self.lock().meta.assistant_message_id.clone()
    }

    /// The text produced so far.
    pub fn content(&self) -> String {
        self.lock().content.clone()
    }

    /// The last event every listener gets (`done` or `error`).
    pub fn end(&self, event: StreamEvent) {
        self.update(|s| s.end = Some(event));
    }

    /// A new listener; it starts from the beginning of the answer.
    pub fn listen(self: &Arc<Self>) -> Listener {
        self.listeners.send_modify(|n| *n += 1);
        Listener {
            live: Arc::clone(self),
            changed: self.changed.subscribe(),
            meta_sent: false,
            queued_sent: None,
            bytes_sent: 0,
            finished: false,
        }
    }

    /// Resolves once nobody has listened for `grace` without interruption.
    pub async fn abandoned(&self, grace: Duration) {
        let mut listeners = self.listeners.subscribe();
        loop {
            if listeners.wait_for(|n| *n == 0).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(grace) => return,
                _ = listeners.wait_for(|n| *n > 0) => {}
            }
        }
    }
}

/// One attached client's view of the answer.
pub struct Listener {
    live: Arc<Live>,
    changed: watch::Receiver<u64>,
    meta_sent: bool,
    queued_sent: Option<usize>,
    bytes_sent: usize,
    finished: bool,
}

impl Listener {
    pub fn meta(&self) -> MetaEvent {
        self.live.lock().meta.clone()
    }

    /// The next event, or `None` after the last one.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        loop {
            if self.finished {
                return None;
            }
            self.changed.borrow_and_update();
            if let Some(event) = self.pending() {
                return Some(event);
            }
            if self.changed.changed().await.is_err() {
                return None;
            }
        }
    }

    fn pending(&mut self) -> Option<StreamEvent> {
        let state = self.live.lock();
        if !self.meta_sent {
            self.meta_sent = true;
            return Some(StreamEvent::Meta(state.meta.clone()));
        }
        if state.queued != self.queued_sent {
            self.queued_sent = state.queued;
            if let Some(position) = state.queued {
                return Some(StreamEvent::Queued(QueuedEvent { position }));
            }
        }
        if state.content.len() > self.bytes_sent {
            let content = state.content[self.bytes_sent..].to_string();
            self.bytes_sent = state.content.len();
            return Some(StreamEvent::Token(TokenEvent { content }));
        }
        if let Some(end) = &state.end {
            self.finished = true;
            return Some(end.clone());
        }
        None
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.live
            .listeners
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::MessageStatus,
        stream_events::{DoneEvent, Usage},
    };

    fn meta() -> MetaEvent {
        MetaEvent {
            conversation_id: "c".into(),
            user_message_id: "u".into(),
            assistant_message_id: "a".into(),
            model: "m".into(),
        }
    }

    fn done() -> StreamEvent {
        StreamEvent::Done(DoneEvent {
            message_id: "a".into(),
            status: MessageStatus::Complete,
            done_reason: Some("stop".into()),
            usage: Usage::default(),
        })
    }

    async fn text_until_end(listener: &mut Listener) -> (String, Vec<&'static str>) {
        let (mut text, mut names) = (String::new(), Vec::new());
        while let Some(event) = listener.next().await {
            names.push(event.name());
            if let StreamEvent::Token(t) = event {
                text.push_str(&t.content);
            }
        }
        (text, names)
    }

    #[tokio::test]
    async fn a_late_listener_gets_the_text_so_far_then_the_rest() {
        let live = Live::new(meta(), Some(2));
        let mut first = live.listen();
        live.set_queued(None);
        live.push("Hola, ");
        live.push("¿qué ");
        let mut late = live.listen();
        live.push("tal? 👋");
        live.end(done());
        let (text, names) = text_until_end(&mut first).await;
        assert_eq!(text, "Hola, ¿qué tal? 👋");
        assert_eq!(names.first(), Some(&"meta"));
        assert_eq!(names.last(), Some(&"done"));
        let (late_text, late_names) = text_until_end(&mut late).await;
        assert_eq!(late_text, text);
        assert!(
            !late_names.contains(&"queued"),
            "position is only sent while waiting"
        );
    }

    #[tokio::test]
    async fn queue_positions_are_reported_while_waiting() {
        let live = Live::new(meta(), Some(3));
        let mut listener = live.listen();
        assert_eq!(listener.next().await.map(|e| e.name()), Some("meta"));
        assert_eq!(
            listener.next().await,
            Some(StreamEvent::Queued(QueuedEvent { position: 3 }))
        );
        live.set_queued(Some(1));
        assert_eq!(
            listener.next().await,
            Some(StreamEvent::Queued(QueuedEvent { position: 1 }))
        );
    }

    #[tokio::test]
    async fn the_same_place_twice_is_one_event_and_wakes_no_one() {
        let live = Live::new(meta(), Some(1));
        let mut listener = live.listen();
        assert_eq!(listener.next().await.map(|e| e.name()), Some("meta"));
        assert_eq!(listener.next().await.map(|e| e.name()), Some("queued"));
        live.set_queued(Some(1));
        assert!(
            !listener.changed.has_changed().unwrap(),
            "the same place again woke the listener"
        );
        live.push("Hola");
        assert_eq!(
            listener.next().await,
            Some(StreamEvent::Token(TokenEvent {
                content: "Hola".into()
            }))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_only_after_the_grace_period_without_listeners() {
        let live = Live::new(meta(), None);
        let listener = live.listen();
        let grace = Duration::from_secs(5);
        let watch = {
            let live = Arc::clone(&live);
            tokio::spawn(async move { live.abandoned(grace).await })
        };
        drop(listener);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let back = live.listen(); // a reload re-attached in time
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!watch.is_finished());
        drop(back);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(watch.is_finished());
    }
}
