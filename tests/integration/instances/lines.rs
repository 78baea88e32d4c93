//! Each backend's limit and line hold across the instances.

use energyapp_llm::{
    server::ollama_sim::reply_tokens,
    stream_events::{MetaEvent, StreamEvent},
};

use serde_json::{Value, json};

use crate::common::{
    Backend, Events, TestApp, error_code, read_events, streamed_text, within_time_limit,
};

use super::{answer_started, stop, two_instances};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backends_limit_holds_across_instances() {
    // ollama.max_parallel is 1 in the tests: one answer at a time on the one backend.
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let (meta, _first) =
            answer_started(&a, &token, "larga [sim tokens=2000 delay_ms=20]").await;

        // The other instance's own line is empty, but the backend's slot is taken: it waits.
        let mut second = Events::new(
            b.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
                .await,
        );
        assert_eq!(second.next().await.map(|e| e.name()), Some("meta"));
        assert!(
            matches!(second.next().await, Some(StreamEvent::Queued(q)) if q.position == 1),
            "queued"
        );
        assert_eq!(a.sim.stats().in_flight, 1);

        // The first one stopped: the second gets the slot and its whole answer.
        let res = a.stop_answer(&meta.conversation_id, &token).await;
        assert_eq!(res.status(), 200);
        let rest = second.rest().await;
        assert!(
            matches!(rest.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "complete"),
            "{rest:?}"
        );
        assert_eq!(streamed_text(&rest), reply_tokens("hola", 12).concat());
    })
    .await;
    stop(a, b).await;
}

/// A question whose answer is long (2,000 tokens, 40 s).
fn long(message: &str) -> Value {
    json!({ "message": format!("{message} [sim tokens=2000 delay_ms=20]") })
}

/// Reads a chat response up to its place in line.
async fn place_in_line(res: reqwest::Response, message: &str) -> (MetaEvent, usize, Events) {
    let mut events = Events::new(res);
    let Some(StreamEvent::Meta(meta)) = events.next().await else {
        panic!("meta first")
    };
    match events.next().await {
        Some(StreamEvent::Queued(q)) => (meta, q.position, events),
        other => panic!("{message}: expected to wait, got {other:?}"),
    }
}

/// Asks `app` for a long answer and reads up to its place in line.
async fn queued(app: &TestApp, token: &str, message: &str) -> (MetaEvent, usize, Events) {
    let res = app.post_json("/api/v1/chat", token, long(message)).await;
    place_in_line(res, message).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backends_longest_line_holds_across_instances() {
    // One answer at a time, and one more waiting, over both instances together.
    let Some(a) = TestApp::start_with(Backend::Postgres, |s| s.ollama.max_queue = 1).await else {
        return;
    };
    let b = a.another_instance().await;
    within_time_limit(async {
        let token = a.admin_token().await;
        let earlier = read_events(
            a.post_json("/api/v1/chat", &token, json!({ "message": "cero" }))
                .await,
        )
        .await;
        let Some(StreamEvent::Meta(earlier)) = earlier.first() else {
            panic!("meta first")
        };
        let _first = answer_started(&a, &token, "primera [sim tokens=2000 delay_ms=20]").await;
        // Let through by the other instance, whose own line is empty: it waits for the
        // backend's slot, and that takes the line's one seat.
        let (second, place, _events) = queued(&b, &token, "segunda").await;
        assert_eq!(place, 1);
        // Neither instance lets a third one wait: not the first, whose own line is empty, nor
        // the other, which already lets one through. Nothing of the refused turns is kept:
        // neither a new conversation nor a question in an existing one.
        for app in [&a, &b] {
            for body in [
                long("tercera"),
                json!({ "message": "tercera", "conversation_id": earlier.conversation_id }),
            ] {
                let res = app.post_json("/api/v1/chat", &token, body).await;
                assert!(res.headers().contains_key("retry-after"));
                assert_eq!(error_code(res, 503).await, "server_busy");
            }
        }
        let kept: i64 =
            sqlx::query_scalar("select count(*) from messages where content like 'tercera%'")
                .fetch_one(&a.state.db.pool)
                .await
                .unwrap();
        assert_eq!(kept, 0, "a refused question was stored");
        let conversations: i64 = sqlx::query_scalar("select count(*) from conversations")
            .fetch_one(&a.state.db.pool)
            .await
            .unwrap();
        assert_eq!(conversations, 3, "cero, primera and segunda");
        assert_eq!(a.sim.stats().in_flight, 1);

        // The seat is given back when the one waiting is stopped: the next one gets it.
        let res = b.stop_answer(&second.conversation_id, &token).await;
        assert_eq!(res.status(), 200);
        let (_, place, _events) = poll_until_queued(&a, &token).await;
        assert_eq!(place, 1);
    })
    .await;
    stop(a, b).await;
}

/// Reads a waiting answer's events until it is told `place` (it may be told its place again
/// meanwhile); anything but a place in line fails.
async fn until_place(events: &mut Events, place: usize) {
    loop {
        match events.next().await {
            Some(StreamEvent::Queued(q)) if q.position == place => return,
            Some(StreamEvent::Queued(q)) if q.position > place => continue,
            other => panic!("expected to move up to place {place}, got {other:?}"),
        }
    }
}

/// Reads a waiting answer's events until its first token; anything but a place in line
/// before it fails.
async fn until_answered(events: &mut Events) {
    loop {
        match events.next().await {
            Some(StreamEvent::Token(_)) => return,
            Some(StreamEvent::Queued(_)) => continue,
            other => panic!("expected the answer to start, got {other:?}"),
        }
    }
}

/// Puts a ready seat `id` of `instance_id` first in the line of `app`'s backend, as a request
/// let through by that instance and waiting for a slot.
async fn seat_first_in_line(app: &TestApp, id: &str, instance_id: &str) {
    let report: Value = app.public_json("/health").await;
    let backend = report["backends"][0]["url"].as_str().unwrap().to_string();
    sqlx::query(
        "insert into waiting_requests (id, instance_id, backend, created_at, ready) \
         values ($1, $2, $3, '2000-01-01T00:00:00.000000Z', 1)",
    )
    .bind(id)
    .bind(instance_id)
    .bind(&backend)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

/// Asks `app` for a long answer until it is let wait (the seat given up is being removed).
async fn poll_until_queued(app: &TestApp, token: &str) -> (MetaEvent, usize, Events) {
    for _ in 0..100 {
        let res = app.post_json("/api/v1/chat", token, long("cuarta")).await;
        if res.status() != 503 {
            return place_in_line(res, "cuarta").await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the seat was never given back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn places_in_line_count_the_requests_waiting_on_every_instance() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let (first, _listening) =
            answer_started(&a, &token, "primera [sim tokens=2000 delay_ms=20]").await;
        // Each waits behind the ones that came before, whichever instance they came to: the
        // second for the backend's slot, the third and fourth in their instances' own lines.
        let (_, second, mut second_events) = queued(&b, &token, "segunda").await;
        let (_, third, mut third_events) = queued(&a, &token, "tercera").await;
        let (_, fourth, mut fourth_events) = queued(&b, &token, "cuarta").await;
        assert_eq!((second, third, fourth), (1, 2, 3));
        assert_eq!(a.sim.stats().in_flight, 1);
        // Each instance's /health: what it generates, and what waits on it (the second, let
        // through by its instance but waiting for the slot, counts as waiting).
        for (app, generating, waiting) in [(&a, 1, 1), (&b, 0, 2)] {
            let report: Value = app.public_json("/health").await;
            let backend = &report["backends"][0];
            assert_eq!(
                (backend["in_flight"].as_u64(), backend["queued"].as_u64()),
                (Some(generating), Some(waiting)),
                "{report}"
            );
        }

        // The first ends on the first instance: the slot goes to the second, which came
        // before the third although the third waits on the instance that freed it; the others
        // move up.
        let res = a.stop_answer(&first.conversation_id, &token).await;
        assert_eq!(res.status(), 200);
        until_answered(&mut second_events).await;
        until_place(&mut third_events, 1).await;
        until_place(&mut fourth_events, 2).await;
        // Only the one that got the slot called Ollama.
        while a.sim.stats().requests < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(a.sim.stats().requests, 2);
        assert!(a.sim.stats().in_flight <= 1);
    })
    .await;
    stop(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_left_by_an_instance_that_is_gone_does_not_hold_up_the_line() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        let (first, _listening) =
            answer_started(&a, &token, "primera [sim tokens=2000 delay_ms=20]").await;
        // An instance died while its request waited for the slot: its seat is first in line.
        seat_first_in_line(&a, "left-behind", "an-instance-that-crashed").await;
        let (_, place, mut events) = queued(&b, &token, "segunda").await;
        assert_eq!(place, 2);
        // The instance waiting behind it finds it gone within seconds, not at the next sweep
        // (every 30 s)...
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            until_place(&mut events, 1),
        )
        .await
        .expect("the seat left behind was still first in line after 10 s");
        // ...and gets the slot when it is freed.
        let res = a.stop_answer(&first.conversation_id, &token).await;
        assert_eq!(res.status(), 200);
        until_answered(&mut events).await;
    })
    .await;
    stop(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_slot_waits_for_the_request_whose_turn_it_is_on_another_instance() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let token = a.admin_token().await;
        // A request on the first instance, let through by its own line, is about to take the
        // backend's free slot.
        let first_instance = a.state.cluster.as_ref().unwrap().instance_id.clone();
        seat_first_in_line(&a, "ahead", &first_instance).await;
        // One asked on the other instance waits behind it, although the slot is free.
        let (_, place, mut events) = queued(&b, &token, "segunda").await;
        assert_eq!(place, 2);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(a.sim.stats().requests, 0, "nobody called Ollama");
        // The one ahead leaves the line: now it is its turn.
        sqlx::query(
            "with gone as (delete from waiting_requests where id = 'ahead' returning id) \
             select pg_notify('ea_line_moved', '') from gone",
        )
        .execute(&a.state.db.pool)
        .await
        .unwrap();
        until_answered(&mut events).await;
    })
    .await;
    stop(a, b).await;
}
