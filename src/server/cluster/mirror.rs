//! Following an answer another instance generates: listen on a fresh channel, ask on
//! `ea_attach` for it to be relayed there, and replay what arrives into a local [`Live`], so
//! that the client is served exactly as for a local answer. When the client leaves, the relay
//! is told to end (`ea_detach`).

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::{ATTACH, AttachRequest, Cluster, DETACH, events};
use crate::{
    server::chat::live::{Listener, Live},
    stream_events::StreamEvent,
};

/// How long the instance generating the answer has to start relaying it.
const FIRST_EVENT_WITHIN: Duration = Duration::from_secs(2);

pub async fn attach(
    cluster: &Cluster,
    conversation_id: &str,
) -> Result<Option<Listener>, sqlx::Error> {
    let channel = format!("ea_live_{}", uuid::Uuid::new_v4().simple());
    // A connection of its own for as long as the client follows the answer.
    let mut incoming = PgListener::connect(&cluster.url).await?;
    incoming.listen(&channel).await?;
    let request = AttachRequest {
        conversation_id: conversation_id.to_string(),
        channel: channel.clone(),
    };
    cluster
        .notify(ATTACH, &serde_json::to_string(&request).unwrap_or_default())
        .await?;
    let first = tokio::time::timeout(FIRST_EVENT_WITHIN, incoming.recv()).await;
    let Ok(Ok(first)) = first else {
        return Ok(None);
    };
    let Some(StreamEvent::Meta(meta)) = events::decode(first.payload()) else {
        return Ok(None);
    };
    let live = Live::new(meta, None);
    let listener = live.listen();
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let left = live.abandoned(Duration::ZERO);
        tokio::pin!(left);
        loop {
            let notification = tokio::select! {
                n = incoming.recv() => n,
                _ = &mut left => {
                    let _ = cluster.notify(DETACH, &channel).await;
                    break;
                }
            };
            let Ok(notification) = notification else {
                live.end(lost());
                break;
            };
            match events::decode(notification.payload()) {
                Some(StreamEvent::Token(t)) => {
                    live.set_queued(None);
                    live.push(&t.content);
                }
                Some(StreamEvent::Queued(q)) => live.set_queued(Some(q.position)),
                Some(end @ (StreamEvent::Done(_) | StreamEvent::Error(_))) => {
                    live.end(end);
                    break;
                }
                Some(StreamEvent::Meta(_)) | None => {}
            }
        }
    });
    Ok(Some(listener))
}

/// What the client gets when the link to the other instance breaks.
fn lost() -> StreamEvent {
    StreamEvent::Error(crate::stream_events::ErrorEvent {
        code: "connection_lost".into(),
        message: "the link to the instance generating this answer was lost".into(),
        message_id: None,
    })
}
