//! The generation task: waits for its turn in the queue, relays Ollama's chunks to the
//! answer's listeners as they come, checkpoints the answer, and stores how it ended.
//!
//! It owns the upstream stream, so ending (Stop, nobody listening, shutdown) drops it, which
//! closes the connection and cancels the generation in Ollama.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    attempt::{Retry, Start},
    live::Live,
    queue::Place,
    registry::Slot,
    settling::Subject,
};
use crate::{
    model::MessageStatus,
    server::{
        cluster::endings,
        db::messages,
        metrics,
        ollama::{OllamaError, wire::ChatChunk, wire::ChatRequest},
        state::AppState,
    },
    stream_events::{DoneEvent, ErrorEvent, StreamEvent, Usage},
};

/// How a generation ended.
enum Ending {
    Complete(ChatChunk),
    Stopped,
    Abandoned,
    ShuttingDown,
    Failed(OllamaError),
}

/// `request`: what Ollama is asked (again, on another backend, if the first fails before its
/// first token and `retry` is not used up). `key_id`: the API key the answer was asked with,
/// whose usage it counts towards.
pub async fn run(
    state: AppState,
    start: Start,
    request: ChatRequest,
    mut retry: Retry,
    slot: Slot,
    live: Arc<Live>,
    key_id: Option<String>,
) {
    let grace = Duration::from_millis(state.settings.chat.reattach_grace_ms);
    let abandoned = live.abandoned(grace);
    tokio::pin!(abandoned);
    let mut stop = slot.stop.clone();
    let mut shutdown = state.shutdown.clone();

    // Every wait below also ends on Stop, on nobody listening, and on shutdown.
    macro_rules! or_cancelled {
        ($label:lifetime, $future:expr) => {
            tokio::select! {
                value = $future => value,
                _ = &mut abandoned => break $label Ending::Abandoned,
                _ = stop.wait_for(|s| *s) => break $label Ending::Stopped,
                _ = shutdown.wait_for(|s| *s) => break $label Ending::ShuttingDown,
            }
        };
    }

    let ending = 'run: {
        let mut start = start;
        'attempts: loop {
            // Wait for a slot, then call Ollama.
            let (mut upstream, permit, backend) = loop {
                start = match start {
                    Start::Connected {
                        upstream,
                        permit,
                        backend,
                    } => break (upstream, permit, backend),
                    Start::Queued {
                        mut ticket,
                        backend,
                    } => {
                        while ticket.place() != Place::Admitted {
                            live.set_queued(ticket.position());
                            or_cancelled!('run, ticket.moved());
                        }
                        let Some(permit) = ticket.into_permit() else {
                            break 'run Ending::Failed(OllamaError::ConnectionCut);
                        };
                        Start::Admitted { permit, backend }
                    }
                    Start::Admitted {
                        mut permit,
                        backend,
                    } => {
                        // With several instances, the backend's limit is shared: wait for one
                        // of its slots if the others hold them all.
                        if let Some(cluster) = &state.cluster
                            && !permit.has_shared_slot()
                        {
                            // In turn with those let through on any instance (`cluster::line`).
                            let (url, slots) = (backend.url(), backend.max_parallel());
                            let seat = permit.seat_mut();
                            let report = |place| live.set_queued(Some(place));
                            let waited = cluster.slots.acquire(url, slots, seat, report);
                            let slot = or_cancelled!('run, waited);
                            permit.hold(slot);
                        }
                        match or_cancelled!('run, backend.client().chat(&request)) {
                            Ok(upstream) => break (upstream, permit, backend),
                            Err(err) => {
                                drop(permit);
                                let other = retry.elsewhere(
                                    &state.backends,
                                    &request.model,
                                    &backend,
                                    &err,
                                );
                                match or_cancelled!('run, other) {
                                    Some(next) => next,
                                    None => break 'run Ending::Failed(err),
                                }
                            }
                        }
                    }
                };
            };
            // No longer waiting: the place in line is kept until then, so that a request let
            // through by this instance's line that waits on for a slot shared with other
            // instances is not reported as moving out of line and back in.
            live.set_queued(None);

            let checkpoint_every = state.settings.chat.checkpoint_tokens.max(1);
            let checkpoint_interval = Duration::from_millis(state.settings.chat.checkpoint_ms);
            let (mut since_checkpoint, mut last_checkpoint) = (0usize, Instant::now());
            let mut relay = metrics::Relay::start();
            let mut relayed = false;
            let id = live.meta_id();
            loop {
                let next = match or_cancelled!('run, upstream.next()) {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => Err(OllamaError::ConnectionCut),
                    Err(err) => Err(err),
                };
                let chunk = match next {
                    Ok(chunk) => chunk,
                    // Nothing was relayed yet: the answer can still start over elsewhere.
                    Err(err) if !relayed => {
                        drop((upstream, permit));
                        let other =
                            retry.elsewhere(&state.backends, &request.model, &backend, &err);
                        match or_cancelled!('run, other) {
                            Some(next) => {
                                start = next;
                                continue 'attempts;
                            }
                            None => break 'run Ending::Failed(err),
                        }
                    }
                    Err(err) => break 'run Ending::Failed(err),
                };
                if let Some(token) = chunk.message.as_ref().map(|m| m.content.as_str())
                    && !token.is_empty()
                {
                    live.push(token);
                    relay.token();
                    relayed = true;
                    since_checkpoint += 1;
                }
                if chunk.done {
                    break 'run Ending::Complete(chunk);
                }
                if since_checkpoint >= checkpoint_every
                    || last_checkpoint.elapsed() >= checkpoint_interval
                {
                    // Written in a batch by the checkpoint writer: the relay never waits for it.
                    state.checkpoints.save(&id, live.content());
                    (since_checkpoint, last_checkpoint) = (0, Instant::now());
                }
            }
        }
    };
    // The upstream connection and the queue permit are gone: Ollama stops, the next in line
    // starts.

    let meta = live.meta();
    let id = meta.assistant_message_id.clone();
    let content = live.content();
    let mut counted = Usage::default();
    let (status, meta_json, event) = match ending {
        Ending::Complete(last) => {
            let usage = last.usage();
            counted = usage.clone();
            let json = serde_json::json!({ "model": meta.model, "done_reason": last.done_reason, "usage": usage });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Complete,
                done_reason: last.done_reason,
                usage,
            };
            (MessageStatus::Complete, json, StreamEvent::Done(done))
        }
        Ending::Stopped => {
            let json = serde_json::json!({ "model": meta.model, "stopped_by": "user" });
            let done = DoneEvent {
                message_id: id.clone(),
                status: MessageStatus::Stopped,
                done_reason: None,
                usage: Usage::default(),
            };
            (MessageStatus::Stopped, json, StreamEvent::Done(done))
        }
        Ending::Abandoned | Ending::ShuttingDown => {
            let reason = if matches!(ending, Ending::Abandoned) {
                "client_disconnected"
            } else {
                "server_shutdown"
            };
            let json = serde_json::json!({ "model": meta.model, "interrupted_by": reason });
            let error = ErrorEvent {
                code: reason.into(),
                message: "the answer was interrupted".into(),
                message_id: Some(id.clone()),
            };
            (MessageStatus::Interrupted, json, StreamEvent::Error(error))
        }
        Ending::Failed(err) => {
            tracing::warn!(error = %err, message = %id, "answer failed");
            let json = serde_json::json!({ "model": meta.model, "error": { "code": err.code(), "message": err.to_string() } });
            let error = ErrorEvent {
                code: err.code().into(),
                message: err.to_string(),
                message_id: Some(id.clone()),
            };
            (MessageStatus::Failed, json, StreamEvent::Error(error))
        }
    };
    metrics::global().answer_finished(status.as_str());
    state.checkpoints.forget(&id);

    // The listeners hear the end at once and the final write follows, while reads of the
    // conversation (and of the key's usage) on this instance wait for it (`Settling`). With
    // several instances a read may reach another one: there, reads of the conversation that
    // find the answer still `streaming` wait for the end's lock taken first (`endings`). The
    // usage of an API key has no such mark, and its limits hold across instances: an answer
    // asked with a key is written before its end is announced.
    let mut subjects = vec![Subject::Conversation(&meta.conversation_id)];
    subjects.extend(key_id.as_deref().map(Subject::Key));
    let writing = state.settling.begin(&subjects);
    // The answer's time is when it ended for its listeners, whenever the writes land: a
    // conversation started after this `done` sorts after this one in the lists.
    let ended_at = crate::server::db::now();
    let mut ending = None;
    if state.cluster.is_some() && key_id.is_none() {
        match endings::begin(&state.db, &meta.conversation_id).await {
            Ok(held) => ending = Some(held),
            Err(err) => {
                tracing::warn!(error = %err, "could not take an answer's end; writing it first")
            }
        }
    }
    let mut announcement = Some((event, slot));
    if state.cluster.is_none() || ending.is_some() {
        announce(&live, announcement.take());
    }
    let ended = messages::Ended {
        conversation_id: &meta.conversation_id,
        message_id: &id,
        content: &content,
        status,
        meta: &meta_json,
        usage: &counted,
        at: &ended_at,
    };
    let stored = match &mut ending {
        Some(held) => {
            messages::finish_on_postgres(held.connection(), &ended, state.db.quick_commits()).await
        }
        None => messages::finish(&state.db, &ended).await,
    };
    if let Err(err) = stored {
        tracing::error!(error = %err, message = %id, "could not store the answer");
    }
    if let Some(key_id) = &key_id {
        let recorded = crate::server::db::api_keys::record_usage(
            &state.db,
            key_id,
            &meta.model,
            counted.prompt_tokens as i64,
            counted.completion_tokens as i64,
            status.as_str(),
        )
        .await;
        if let Err(err) = recorded {
            tracing::error!(error = %err, "could not record the key's usage");
        }
    }
    announce(&live, announcement);
    if let Some(held) = ending {
        held.release().await;
    }
    drop(writing);
}

/// Frees the conversation for its next question, then tells the listeners how the answer
/// ended: a client that asks again as soon as it hears the end finds the conversation free
/// (and the next turn's history waits for the end's write, `Settling`). In the other order,
/// a client could hear the end and ask before this task, preempted in between, let go.
fn announce(live: &Live, announcement: Option<(StreamEvent, Slot)>) {
    if let Some((event, slot)) = announcement {
        drop(slot);
        live.end(event);
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        task::{Context, Poll, Wake, Waker},
    };

    use super::*;
    use crate::{server::chat::registry::Generations, stream_events::MetaEvent};

    /// A listener's waker that, when the end wakes it, records whether the conversation could
    /// be claimed for a next question at that moment.
    struct ClaimWhenWoken {
        generations: Generations,
        free: Mutex<Vec<bool>>,
    }

    impl Wake for ClaimWhenWoken {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            let free = self.generations.claim("c1").is_ok();
            self.free.lock().unwrap().push(free);
        }
    }

    #[test]
    fn a_listener_woken_by_the_end_finds_the_conversation_free() {
        let generations = Generations::default();
        let slot = generations.claim("c1").unwrap();
        let meta = MetaEvent {
            conversation_id: "c1".into(),
            user_message_id: "u1".into(),
            assistant_message_id: "a1".into(),
            model: "m".into(),
        };
        let live = Live::new(meta, None);
        slot.publish(&live);
        live.push("Hola");
        let mut listener = live.listen();
        let woken = Arc::new(ClaimWhenWoken {
            generations: generations.clone(),
            free: Mutex::new(Vec::new()),
        });
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);

        // What was produced so far (`meta`, the text), until the listener waits for more.
        let mut heard = Vec::new();
        let mut waiting = loop {
            let mut next = Box::pin(listener.next());
            match next.as_mut().poll(&mut cx) {
                Poll::Ready(Some(event)) => heard.push(event),
                Poll::Ready(None) => panic!("the listener ended before the answer did"),
                Poll::Pending => break next,
            }
        };
        assert_eq!(heard.len(), 2, "meta and the text so far: {heard:?}");
        assert!(woken.free.lock().unwrap().is_empty());

        let done = StreamEvent::Done(DoneEvent {
            message_id: "a1".into(),
            status: MessageStatus::Complete,
            done_reason: Some("stop".into()),
            usage: Usage::default(),
        });
        announce(&live, Some((done, slot)));

        // The end woke the listener (synchronously, inside `announce`), and at that moment
        // the conversation could already be claimed again.
        assert_eq!(*woken.free.lock().unwrap(), vec![true]);
        match waiting.as_mut().poll(&mut cx) {
            Poll::Ready(Some(StreamEvent::Done(done))) => assert_eq!(done.message_id, "a1"),
            other => panic!("expected the end, got {other:?}"),
        }
        assert!(
            generations.live("c1").is_none(),
            "nothing left to re-attach to"
        );
    }
}
