//! An answer generated on one instance is followed, stopped, guarded and found stored from the
//! other; only the answers of instances that are gone, or that nothing generates, are recovered.

use energyapp_llm::{
    server::ollama_sim::reply_tokens,
    stream_events::{MetaEvent, StreamEvent},
};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Events, TestApp, error_code, read_events, streamed_text, within_time_limit};

use super::{answer_started, stop, two_instances};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_followed_stopped_and_guarded_from_either_instance() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        // Long enough (6 s) to still be generating while the other instance attaches.
        let message = "larga [sim tokens=300 delay_ms=20]";
        let (meta, mut first) = answer_started(&a, &token, message).await;
        let stream_path = format!("/api/v1/conversations/{}/stream", meta.conversation_id);

        // Another question in that conversation, on the other instance: 409.
        let res = b
            .post_json(
                &format!("/api/v1/conversations/{}/messages", meta.conversation_id),
                &token,
                json!({ "content": "y otra" }),
            )
            .await;
        assert_eq!(error_code(res, 409).await, "conflict");

        // Re-attached on the other instance: the whole text, then the same end.
        let res = b.get(&stream_path, &token).await;
        assert_eq!(res.status(), 200);
        let elsewhere = Events::new(res).rest().await;
        let StreamEvent::Meta(seen) = &elsewhere[0] else {
            panic!("{elsewhere:?}")
        };
        assert_eq!(seen, &meta);
        let full = reply_tokens(message, 300).concat();
        assert_eq!(streamed_text(&elsewhere), full);
        assert!(
            matches!(elsewhere.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "complete"),
            "{elsewhere:?}"
        );
        while first.next().await.is_some() {}
        // Nothing in flight any more: 204 on both.
        assert_eq!(b.get(&stream_path, &token).await.status(), 204);
        assert_eq!(a.get(&stream_path, &token).await.status(), 204);

        // Stop pressed on the other instance.
        let (meta, first) = answer_started(&a, &token, "otra [sim tokens=2000 delay_ms=20]").await;
        let res = b
            .stop_answer(&meta.conversation_id, &token)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["stopped"], true);
        let rest = first.rest().await;
        assert!(
            matches!(rest.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "stopped"),
            "{rest:?}"
        );
    })
    .await;
    stop(a, b).await;
}

/// An answer's end is announced before it is written. Whoever heard it and then reads the
/// conversation on the other instance finds the answer stored, and may ask the next question
/// there, even while the write is held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_heard_from_one_instance_is_found_stored_on_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let message = "breve [sim tokens=20 delay_ms=20]";
        let (meta, events) = answer_started(&a, &token, message).await;
        // The answer's row locked by someone else: its end's write waits until let go.
        let mut hold = a.state.db.pool.begin().await.unwrap();
        sqlx::query("select id from messages where id = $1 for update")
            .bind(&meta.assistant_message_id)
            .execute(&mut *hold)
            .await
            .unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(20), events.rest())
            .await
            .expect("the end is announced before it is written");
        assert!(
            matches!(heard.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "complete"),
            "{heard:?}"
        );

        let messages = format!("/api/v1/conversations/{}/messages", meta.conversation_id);
        let read = b.get(&messages, &token);
        let next = b.post_json(
            &messages,
            &token,
            json!({ "content": "y otra [sim tokens=3 delay_ms=1]" }),
        );
        tokio::pin!(read, next);
        let waiting = Duration::from_millis(300);
        assert!(
            tokio::time::timeout(waiting, &mut read).await.is_err(),
            "the read on the other instance waits for the end's write"
        );
        assert!(tokio::time::timeout(waiting, &mut next).await.is_err());
        hold.rollback().await.unwrap();

        let page: Value = read.await.json().await.unwrap();
        let answer = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == meta.assistant_message_id.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{page}"));
        assert_eq!(answer["status"], "complete", "{answer}");
        assert_eq!(answer["content"], reply_tokens(message, 20).concat());

        let res = next.await;
        assert_eq!(
            res.status(),
            200,
            "the next question is not refused as a conflict"
        );
        let rest = read_events(res).await;
        assert!(
            matches!(rest.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "complete"),
            "{rest:?}"
        );
    })
    .await;
    stop(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_starting_leaves_the_answers_of_live_instances_alone() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let message = "larga [sim tokens=2000 delay_ms=20]";
        let (meta, first) = answer_started(&a, &token, message).await;
        // A third instance starts (a rolling restart): the answer in flight on the first is
        // not one a crash left behind.
        let c = b.another_instance().await;
        let detail = c.conversation(&meta.conversation_id, &token).await;
        assert_eq!(detail["messages"][1]["status"], "streaming");
        // It goes on: checkpoints still land, and it ends as its owner says.
        let res = c.stop_answer(&meta.conversation_id, &token).await;
        assert_eq!(res.json::<Value>().await.unwrap()["stopped"], true);
        let rest = first.rest().await;
        assert!(
            matches!(rest.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "stopped"),
            "{rest:?}"
        );
        let detail = c.conversation(&meta.conversation_id, &token).await;
        let answer = &detail["messages"][1];
        assert_eq!(answer["status"], "stopped");
        assert!(!answer["content"].as_str().unwrap().is_empty());
        c.stop().await;
    })
    .await;
    stop(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_answers_of_instances_that_are_gone_are_recovered() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let mut answers = Vec::new();
        for owner in [
            b.state.cluster.as_ref().unwrap().instance_id.clone(),
            "an-instance-that-crashed".to_string(),
        ] {
            // Made to look as if `owner` were generating it.
            let meta = answered(&a, &token).await;
            left_streaming(&a, &meta, &owner).await;
            answers.push(meta);
        }
        let recovered = energyapp_llm::server::cluster::recover_abandoned(
            a.state.cluster.as_ref().unwrap(),
            &a.state.db,
        )
        .await
        .unwrap();
        assert_eq!(recovered, 1);
        let status = |meta: &MetaEvent| {
            let (a, token, id) = (&a, &token, meta.conversation_id.clone());
            async move { a.conversation(&id, token).await["messages"][1]["status"].clone() }
        };
        assert_eq!(
            status(&answers[0]).await,
            "streaming",
            "its instance is alive"
        );
        assert_eq!(status(&answers[1]).await, "interrupted");
    })
    .await;
    stop(a, b).await;
}

/// An answer of this instance left `streaming` with nothing generating it (its end could not be
/// written, or PostgreSQL lost it in a crash) would make its conversation refuse every new
/// question until a restart: the sweep marks it `interrupted`, and leaves alone the answer of a
/// conversation this instance is generating for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_recovers_its_own_answers_that_nothing_generates() {
    let Some(app) = TestApp::start(crate::common::Backend::Postgres).await else {
        return;
    };
    within_time_limit(async {
        let token = app.admin_token().await;
        let cluster = app.state.cluster.as_ref().unwrap();
        let (mut answers, mut claims) = (Vec::new(), Vec::new());
        for _ in 0..2 {
            let meta = answered(&app, &token).await;
            // The second one as if it were being generated here.
            if !answers.is_empty() {
                claims.push(app.state.generations.claim(&meta.conversation_id).unwrap());
            }
            // As if its end had not reached the database.
            left_streaming(&app, &meta, &cluster.instance_id).await;
            answers.push(meta);
        }
        let (orphan, generating) = (&answers[0], &answers[1]);
        let next = format!("/api/v1/conversations/{}/messages", orphan.conversation_id);
        let res = app
            .post_json(&next, &token, json!({ "content": "¿sigues?" }))
            .await;
        assert_eq!(
            error_code(res, 409).await,
            "conflict",
            "stuck before the sweep"
        );

        let recovered = energyapp_llm::server::cluster::recover_abandoned(cluster, &app.state.db)
            .await
            .unwrap();
        assert_eq!(recovered, 1);
        let message = |meta: &MetaEvent| {
            let (app, token, id) = (&app, &token, meta.conversation_id.clone());
            async move { app.conversation(&id, token).await["messages"][1].clone() }
        };
        let lost = message(orphan).await;
        assert_eq!(lost["status"], "interrupted");
        assert_eq!(lost["meta"]["interrupted_by"], "end_not_stored");
        assert_eq!(message(generating).await["status"], "streaming");
        drop(claims);

        let events = read_events(
            app.post_json(&next, &token, json!({ "content": "¿sigues?" }))
                .await,
        )
        .await;
        assert!(
            matches!(events.last(), Some(StreamEvent::Done(_))),
            "the conversation takes questions again: {events:?}"
        );
    })
    .await;
    app.stop().await;
}

/// A new conversation's answer, once its end is stored (a read waits for it).
async fn answered(app: &TestApp, token: &str) -> MetaEvent {
    let events = read_events(
        app.post_json("/api/v1/chat", token, json!({ "message": "hola" }))
            .await,
    )
    .await;
    let StreamEvent::Meta(meta) = &events[0] else {
        panic!("{events:?}")
    };
    let stored = app.conversation(&meta.conversation_id, token).await;
    assert_eq!(stored["messages"][1]["status"], "complete");
    meta.clone()
}

/// Makes an ended answer look as if instance `owner` were still generating it.
async fn left_streaming(app: &TestApp, meta: &MetaEvent, owner: &str) {
    sqlx::query("update messages set status = 'streaming', instance_id = $1 where id = $2")
        .bind(owner)
        .bind(&meta.assistant_message_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}
