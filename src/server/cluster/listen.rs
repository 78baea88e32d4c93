//! What every instance hears from the others: requests to relay an answer it generates, to
//! stop one, or to end a relay whose client left; slots freed, or wanted; the line moving.

use sqlx::postgres::PgListener;

use super::{ATTACH, AttachRequest, Cluster, DETACH, STOP, line, relay, slots};
use crate::server::chat::registry::Generations;

/// Starts listening (returns once subscribed, so nothing sent afterwards is missed).
pub async fn spawn(cluster: Cluster, generations: Generations) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(&cluster.pool).await?;
    listener
        .listen_all([
            ATTACH,
            STOP,
            DETACH,
            slots::FREED,
            slots::WANTED,
            line::MOVED,
        ])
        .await?;
    tokio::spawn(async move {
        loop {
            // `recv` reconnects by itself after a lost connection (notifications sent
            // meanwhile are lost: a client re-attaching then gets no answer and retries).
            let notification = match listener.recv().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "cluster listener: connection lost");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            let payload = notification.payload();
            match notification.channel() {
                ATTACH => {
                    let Ok(request) = serde_json::from_str::<AttachRequest>(payload) else {
                        continue;
                    };
                    if let Some(live) = generations.live(&request.conversation_id) {
                        relay::spawn(&cluster, live, request.channel);
                    }
                }
                slots::FREED => cluster.slots.freed.notify_waiters(),
                slots::WANTED => cluster.slots.wanted(payload),
                line::MOVED => cluster.line.moved.notify_one(),
                STOP => {
                    generations.stop(payload);
                }
                DETACH => {
                    let ended = cluster
                        .relays
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(payload);
                    if let Some(end) = ended {
                        let _ = end.send(());
                    }
                }
                _ => {}
            }
        }
    });
    Ok(())
}
