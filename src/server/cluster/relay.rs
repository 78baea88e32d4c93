//! Relaying an answer this instance generates to a client attached on another instance: a
//! listener like any other (it keeps the answer alive while attached), whose events go out as
//! notifications on the channel the other instance chose. A slow database only makes the
//! pieces of text bigger, as for a slow client.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Cluster, events};
use crate::server::chat::live::Live;

pub fn spawn(cluster: &Cluster, live: Arc<Live>, channel: String) {
    let (end_tx, mut end_rx) = oneshot::channel();
    cluster
        .relays
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(channel.clone(), end_tx);
    let mut listener = live.listen();
    let cluster = cluster.clone();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = listener.next() => event,
                _ = &mut end_rx => None,
            };
            let Some(event) = event else {
                break;
            };
            for payload in events::encode(event) {
                if let Err(err) = cluster.notify(&channel, &payload).await {
                    tracing::warn!(error = %err, "could not relay an answer to another instance");
                }
            }
        }
        cluster
            .relays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&channel);
    });
}
