use serde_json::{Value, json};

use crate::{
    common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, error_code},
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
        let me: Value = app.get(path, token).await.json().await.unwrap();
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
    cookie_writes_from_other_sites_are_refused,
);
