use energyapp_llm::stream_events::StreamEvent;
use serde_json::{Value, json};

use crate::{
    common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, error_code, read_events},
    on_both_backends,
};

async fn login_returns_a_bearer_token_that_works(app: &TestApp) {
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 15 * 60);
    assert_eq!(body["user"]["role"], "admin");
    let token = body["access_token"].as_str().unwrap();

    for path in ["/api/v1/me", "/api/v1/auth/me"] {
        let me: Value = app.get_json(path, token).await;
        assert_eq!(me["email"], ADMIN_EMAIL);
    }
    // Email is case-insensitive.
    assert_eq!(
        app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
}

async fn bad_credentials_are_refused_alike(app: &TestApp) {
    let wrong = app.login(ADMIN_EMAIL, "wrong-password-123").await;
    let unknown = app.login("nobody@test.local", "wrong-password-123").await;
    let (wrong_status, unknown_status) = (wrong.status(), unknown.status());
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!((wrong_status.as_u16(), unknown_status.as_u16()), (401, 401));
    assert_eq!(wrong, unknown, "no user enumeration through the message");
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

async fn requests_without_valid_token_are_401(app: &TestApp) {
    let res = app.http.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app.get("/api/v1/me", "not-a-jwt").await;
    assert_eq!(error_code(res, 401).await, "unauthorized");
    let res = app
        .http
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401).await, "unauthorized");
}

async fn malformed_bodies_get_clear_4xx(app: &TestApp) {
    let res = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400).await, "bad_request");
    let res = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await, "validation_failed");
    let res = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400).await, "bad_request");
    let res = app
        .http
        .get(app.url("/api/v1/no-such-route"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 404).await, "not_found");
}

async fn deactivated_accounts_stop_working_at_once(app: &TestApp) {
    let token = app.user_token("dora@test.local").await;
    assert_eq!(app.get("/api/v1/me", &token).await.status(), 200);
    sqlx::query("update users set active = 0 where email = $1")
        .bind("dora@test.local")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/me", &token).await.status(), 401);
    // A correct password then says the account is deactivated; a wrong one says nothing more.
    let res = app.login("dora@test.local", "user-password-123").await;
    assert_eq!(error_code(res, 403).await, "account_disabled");
    let res = app.login("dora@test.local", "bad-password-123").await;
    assert_eq!(error_code(res, 401).await, "invalid_credentials");
}

/// A deactivated account's access token is still validly signed until it expires: a chat
/// with it is refused (whatever else is wrong with the request), stores nothing, and any
/// call to Ollama it began is cancelled.
async fn deactivated_accounts_cannot_chat_with_the_tokens_they_hold(app: &TestApp) {
    let email = "ezra@test.local";
    let token = app.user_token(email).await;
    let events = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
            .await,
    )
    .await;
    let Some(StreamEvent::Meta(meta)) = events.first() else {
        panic!("first event is meta: {events:?}")
    };
    let conversation = meta.conversation_id.clone();
    sqlx::query("update users set active = 0 where email = $1")
        .bind(email)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let stored = || async {
        let row: (i64, i64) = sqlx::query_as(
            "select (select count(*) from conversations c join users u on u.id = c.user_id where u.email = $1), \
                    (select count(*) from messages m join conversations c on c.id = m.conversation_id \
                       join users u on u.id = c.user_id where u.email = $1)",
        )
        .bind(email)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        row
    };
    assert_eq!(stored().await, (1, 2));
    let completed = app.sim.stats().completed;

    let slow = "otra [sim tokens=100 delay_ms=20]";
    let attempts = [
        ("/api/v1/chat".to_string(), json!({ "message": slow })),
        (
            "/api/v1/chat".to_string(),
            json!({ "message": slow, "conversation_id": conversation }),
        ),
        (
            format!("/api/v1/conversations/{conversation}/messages"),
            json!({ "content": slow }),
        ),
        ("/api/v1/chat".to_string(), json!({ "message": "" })),
        (
            "/api/v1/chat".to_string(),
            json!({ "message": slow, "conversation_id": "nope" }),
        ),
    ];
    for (path, body) in attempts {
        let res = app.post_json(&path, &token, body.clone()).await;
        assert_eq!(error_code(res, 401).await, "unauthorized", "{path} {body}");
    }
    assert_eq!(stored().await, (1, 2), "nothing more is stored");
    let sim = app.wait_for_sim_idle().await;
    assert_eq!(sim.in_flight, 0, "every call begun was cancelled: {sim:?}");
    assert_eq!(sim.completed, completed, "no answer was generated: {sim:?}");
}

async fn cookie_writes_from_other_sites_are_refused(app: &TestApp) {
    let token = app.admin_token().await;
    let cookie = format!("ea_access={token}");
    let cross = app
        .http
        .post(app.url("/api/v1/chat"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "message": "hola" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(cross, 403).await, "forbidden");
    let evil_origin = app
        .http
        .post(app.url("/api/v1/chat"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({ "message": "hola" }))
        .send()
        .await
        .unwrap();
    assert_eq!(evil_origin.status(), 403);
    // Same-site cookie reads and writes work.
    let me = app
        .http
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let same = app
        .http
        .post(app.url("/api/v1/chat"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "message": "hola" }))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    let _ = crate::common::read_events(same).await;
}

on_both_backends!(
    login_returns_a_bearer_token_that_works,
    bad_credentials_are_refused_alike,
    requests_without_valid_token_are_401,
    malformed_bodies_get_clear_4xx,
    deactivated_accounts_stop_working_at_once,
    deactivated_accounts_cannot_chat_with_the_tokens_they_hold,
    cookie_writes_from_other_sites_are_refused,
);
