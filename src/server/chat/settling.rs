//! Answers whose end was announced before it was stored, and reads that wait for them.
//!
//! On one instance, an answer's listeners hear that it ended (`done`, or its error) at once,
//! and its final text is written just after. Until that write lands, the conversation (and the
//! API key the answer counts towards) is *unsettled*: a read of its messages (or the key's
//! usage) first waits here, so whoever heard `done` and reads next finds the answer stored.
//! With several instances a read may reach another instance, which cannot wait here: there
//! the write comes before the announcement (see `generate`).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::watch;

/// What a pending write is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject<'a> {
    /// A conversation's messages.
    Conversation(&'a str),
    /// An API key's recorded usage.
    Key(&'a str),
}

impl Subject<'_> {
    fn key(self) -> String {
        match self {
            Subject::Conversation(id) => format!("c:{id}"),
            Subject::Key(id) => format!("k:{id}"),
        }
    }
}

/// The writes in progress, by subject.
#[derive(Clone, Default)]
pub struct Settling {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Subject -> the writes in progress about it.
    pending: Mutex<Pending>,
    next: AtomicU64,
}

type Pending = HashMap<String, Vec<Write>>;

/// A write in progress, as a reader sees it.
struct Write {
    number: u64,
    /// Its sender is dropped when the write has landed.
    landed: watch::Receiver<()>,
}

/// A write in progress; the subjects settle when it is dropped.
#[must_use = "the subjects settle when this is dropped"]
pub struct Unsettled {
    inner: Arc<Inner>,
    number: u64,
    subjects: Vec<String>,
    _landed: watch::Sender<()>,
}

impl Settling {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        lock(&self.inner)
    }

    /// Marks `subjects` as being written until the returned guard is dropped.
    pub fn begin(&self, subjects: &[Subject<'_>]) -> Unsettled {
        let number = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (landed, waiting) = watch::channel(());
        let subjects: Vec<String> = subjects.iter().map(|s| s.key()).collect();
        let mut pending = self.lock();
        for subject in &subjects {
            pending.entry(subject.clone()).or_default().push(Write {
                number,
                landed: waiting.clone(),
            });
        }
        Unsettled {
            inner: Arc::clone(&self.inner),
            number,
            subjects,
            _landed: landed,
        }
    }

    /// Waits for the writes about `subject` that are in progress now (none: returns at once).
    pub async fn settled(&self, subject: Subject<'_>) {
        let waits: Vec<watch::Receiver<()>> = self
            .lock()
            .get(&subject.key())
            .map(|writes| writes.iter().map(|w| w.landed.clone()).collect())
            .unwrap_or_default();
        wait_all(waits).await;
    }

    /// Waits for every write in progress now (before the process exits).
    pub async fn all_settled(&self) {
        let waits: Vec<watch::Receiver<()>> = self
            .lock()
            .values()
            .flat_map(|writes| writes.iter().map(|w| w.landed.clone()))
            .collect();
        wait_all(waits).await;
    }

    #[cfg(test)]
    fn is_settled(&self, subject: Subject<'_>) -> bool {
        !self.lock().contains_key(&subject.key())
    }
}

fn lock(inner: &Inner) -> MutexGuard<'_, Pending> {
    inner.pending.lock().unwrap_or_else(|e| e.into_inner())
}

/// Each receiver's `changed` ends with an error once its write's guard (the sender) is gone.
async fn wait_all(waits: Vec<watch::Receiver<()>>) {
    for mut wait in waits {
        let _ = wait.changed().await;
    }
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        let mut pending = lock(&self.inner);
        for subject in &self.subjects {
            if let Some(writes) = pending.get_mut(subject) {
                writes.retain(|w| w.number != self.number);
                if writes.is_empty() {
                    pending.remove(subject);
                }
            }
        }
        // `_landed` is dropped after this: the waiters wake.
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_read_waits_for_the_write_in_progress_and_only_for_its_subject() {
        let settling = Settling::default();
        settling.settled(Subject::Conversation("c1")).await; // nothing pending: at once

        let write = settling.begin(&[Subject::Conversation("c1"), Subject::Key("k1")]);
        assert!(!settling.is_settled(Subject::Conversation("c1")));
        assert!(!settling.is_settled(Subject::Key("k1")));
        assert!(
            settling.is_settled(Subject::Key("c1")),
            "a key and a conversation with the same id are different subjects"
        );
        settling.settled(Subject::Conversation("c2")).await;

        let read = tokio::spawn({
            let settling = settling.clone();
            async move { settling.settled(Subject::Conversation("c1")).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !read.is_finished(),
            "the read waits while the write is in progress"
        );
        drop(write);
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the read goes on once the write landed")
            .unwrap();
        assert!(settling.is_settled(Subject::Conversation("c1")));
        assert!(settling.is_settled(Subject::Key("k1")));
    }

    #[tokio::test]
    async fn overlapping_writes_of_one_subject_are_each_waited_for() {
        let settling = Settling::default();
        let first = settling.begin(&[Subject::Key("k")]);
        let second = settling.begin(&[Subject::Key("k")]);
        drop(first);
        assert!(!settling.is_settled(Subject::Key("k")));
        let read = tokio::spawn({
            let settling = settling.clone();
            async move { settling.all_settled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!read.is_finished(), "the second write is still in progress");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .unwrap()
            .unwrap();
        assert!(settling.is_settled(Subject::Key("k")));
    }
}
