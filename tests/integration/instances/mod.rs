//! Two app instances on one PostgreSQL database (as behind a load balancer) behave as one:
//! sessions, their revocation and deactivation, and login throttling are shared; an answer
//! generated on one is followed, stopped and guarded from the other (LISTEN/NOTIFY); each
//! backend's limit and line hold across them.
//! Runs when `ENERGYAPP_TEST_POSTGRES_URL` names a server.

mod accounts;
mod answers;
mod lines;

use energyapp_llm::stream_events::{MetaEvent, StreamEvent};
use serde_json::json;

use crate::common::{Backend, Events, TestApp};

/// Two instances on a fresh PostgreSQL database; `None` (skipped) without PostgreSQL.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    let first = TestApp::start(Backend::Postgres).await?;
    let second = first.another_instance().await;
    Some((first, second))
}

async fn stop(first: TestApp, second: TestApp) {
    second.stop().await;
    first.stop().await;
}

/// Starts an answer on `app` and reads up to its first token.
async fn answer_started(app: &TestApp, token: &str, message: &str) -> (MetaEvent, Events) {
    let mut events = Events::new(
        app.post_json("/api/v1/chat", token, json!({ "message": message }))
            .await,
    );
    let Some(StreamEvent::Meta(meta)) = events.next().await else {
        panic!("meta first")
    };
    loop {
        match events.next().await {
            Some(StreamEvent::Token(_)) => return (meta, events),
            Some(StreamEvent::Queued(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
}
