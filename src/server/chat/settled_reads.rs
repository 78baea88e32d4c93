//! Reading a conversation's messages as whoever heard its last answer end expects them: with
//! that end stored, though it is announced before it is written.
//!
//! This instance's own ends are waited for in memory ([`super::settling`]). With several
//! instances, an end announced by another one is waited for only when the read finds an
//! answer still `streaming` (`cluster::endings`): then the read waits until no end of the
//! conversation is being written, and is made again.

use crate::{
    error::AppError,
    model::{MessageStatus, MessageView},
    server::{chat::settling::Subject, cluster::endings, state::AppState},
};

/// Whether what was read shows an answer still being generated.
pub trait ShowsStreaming {
    fn shows_streaming(&self) -> bool;
}

impl ShowsStreaming for bool {
    fn shows_streaming(&self) -> bool {
        *self
    }
}

impl ShowsStreaming for [MessageView] {
    fn shows_streaming(&self) -> bool {
        self.iter().any(|m| m.status == MessageStatus::Streaming)
    }
}

impl ShowsStreaming for Vec<MessageView> {
    fn shows_streaming(&self) -> bool {
        self.as_slice().shows_streaming()
    }
}

impl<T: ShowsStreaming> ShowsStreaming for (T, bool) {
    fn shows_streaming(&self) -> bool {
        self.0.shows_streaming()
    }
}

impl<T: ShowsStreaming> ShowsStreaming for Option<T> {
    fn shows_streaming(&self) -> bool {
        self.as_ref().is_some_and(T::shows_streaming)
    }
}

/// `read` of conversation `id`'s messages, made after the ends announced so far were stored.
pub async fn read<T: ShowsStreaming, F: Future<Output = Result<T, AppError>>>(
    state: &AppState,
    id: &str,
    read: impl Fn() -> F,
) -> Result<T, AppError> {
    state.settling.settled(Subject::Conversation(id)).await;
    let first = read().await?;
    match &state.cluster {
        Some(_) if first.shows_streaming() => {
            endings::written(&state.db, id).await?;
            read().await
        }
        _ => Ok(first),
    }
}
