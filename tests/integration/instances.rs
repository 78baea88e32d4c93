//! Two app instances on one PostgreSQL database (as behind a load balancer) behave as one:
//! sessions, their revocation and deactivation, and login throttling are shared; an answer
//! generated on one is followed, stopped and guarded from the other (LISTEN/NOTIFY).
//! Runs when `ENERGYAPP_TEST_POSTGRES_URL` names a server.

use energyapp_llm::{
    server::ollama_sim::reply_tokens,
    stream_events::{MetaEvent, StreamEvent},
};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Events, TestApp, error_code, read_events, streamed_text,
    within_time_limit,
};

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

async fn pair(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let res = app.login(email, password).await;
    assert_eq!(res.status(), 200, "login of {email}");
    let body: Value = res.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_string(),
        body["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_their_revocation_and_deactivation_are_shared() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        // Signed in on one, recognised by the other.
        let (access, refresh_1) = pair(&a, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(b.get("/api/v1/me", &access).await.status(), 200);

        // Rotated on one; reusing the spent token on the other revokes the whole family.
        let res = refresh(&b, &refresh_1).await;
        assert_eq!(res.status(), 200);
        let refresh_2 = res.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_string();
        // (Its first use is made older than the grace given to a browser racing itself.)
        sqlx::query("update refresh_tokens set used_at = $1 where token_hash = $2")
            .bind("2000-01-01T00:00:00.000000Z")
            .bind(energyapp_llm::server::auth::sessions::hash_token(
                &refresh_1,
            ))
            .execute(&a.state.db.pool)
            .await
            .unwrap();
        assert_eq!(
            error_code(refresh(&a, &refresh_1).await, 401).await,
            "unauthorized"
        );
        assert_eq!(refresh(&b, &refresh_2).await.status(), 401);

        // Logged out on one: its refresh token is dead on the other.
        let (_, refresh_3) = pair(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let res = a
            .http
            .post(a.url("/api/v1/auth/logout"))
            .json(&json!({ "refresh_token": refresh_3 }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(refresh(&b, &refresh_3).await.status(), 401);

        // Deactivated on one: refused on the other at the next request.
        let user = b.user_token("ana@test.local").await;
        assert_eq!(a.get("/api/v1/me", &user).await.status(), 200);
        let me: Value = a.get_json("/api/v1/me", &user).await;
        let admin = a.admin_token().await;
        let res = a
            .patch_json(
                &format!("/api/v1/admin/users/{}", me["id"].as_str().unwrap()),
                &admin,
                json!({ "active": false }),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_ne!(b.get("/api/v1/me", &user).await.status(), 200);
    })
    .await;
    stop(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_across_instances() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        // auth.login_max_failures is 5: three failures here and two there lock the account.
        for (app, n) in [(&a, 3), (&b, 2)] {
            for _ in 0..n {
                let res = app.login(ADMIN_EMAIL, "wrong-password").await;
                assert_eq!(res.status(), 401);
            }
        }
        for app in [&a, &b] {
            let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            assert_eq!(res.status(), 429, "locked on both");
            assert!(res.headers().contains_key("retry-after"));
        }
        // Another account is unaffected (the address limit is 20).
        let other = b.user_token("luis@test.local").await;
        assert!(!other.is_empty());
    })
    .await;
    stop(a, b).await;
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

/// An API key's monthly budget holds across instances: an answer asked with a key is stored
/// with its usage before its end is heard (even when that write is held up), so the key's next
/// request, on the other instance at once, finds the budget spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_budget_spent_on_one_instance_is_refused_on_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    within_time_limit(async {
        let admin = a.admin_token().await;
        let res = a
            .post_json(
                "/api/v1/admin/api-keys",
                &admin,
                json!({ "name": "budget", "owner": ADMIN_EMAIL, "monthly_token_budget": 30 }),
            )
            .await;
        assert_eq!(res.status(), 201);
        let key = res.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_string();
        let ask = |prompt: &str| {
            json!({
                "model": "qwen2.5:3b-instruct",
                "messages": [{ "role": "user", "content": prompt }],
            })
        };
        // The usage table locked by someone else: the answer's usage cannot be stored yet, and
        // the answer does not end for its client before it is.
        let mut hold = a.state.db.pool.begin().await.unwrap();
        sqlx::query("lock table api_key_usage in exclusive mode")
            .execute(&mut *hold)
            .await
            .unwrap();
        let answered = a.post_json(
            "/v1/chat/completions",
            &key,
            ask("larga [sim tokens=40 delay_ms=1]"),
        );
        tokio::pin!(answered);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), &mut answered)
                .await
                .is_err(),
            "the answer ends for its client only once its key's usage is stored"
        );
        hold.rollback().await.unwrap();
        let res = answered.await;
        assert_eq!(res.status(), 200);
        let spent = res.json::<Value>().await.unwrap()["usage"]["total_tokens"]
            .as_i64()
            .unwrap();
        assert!(spent > 30, "{spent}");

        let res = b.post_json("/v1/chat/completions", &key, ask("otra")).await;
        assert_eq!(res.status(), 429);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    })
    .await;
    stop(a, b).await;
}

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
            let events = read_events(
                a.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
                    .await,
            )
            .await;
            let StreamEvent::Meta(meta) = &events[0] else {
                panic!("{events:?}")
            };
            // Once its end is stored (a read waits for it), made to look as if `owner` were
            // generating it.
            let stored = a.conversation(&meta.conversation_id, &token).await;
            assert_eq!(stored["messages"][1]["status"], "complete");
            sqlx::query("update messages set status = 'streaming', instance_id = $1 where id = $2")
                .bind(&owner)
                .bind(&meta.assistant_message_id)
                .execute(&a.state.db.pool)
                .await
                .unwrap();
            answers.push(meta.clone());
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
