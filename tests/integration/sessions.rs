//! Tokens and sessions: rotation, reuse detection, logout, forged tokens, roles, passwords.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{
    common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, JWT_SECRET, TestApp, error_code},
    on_both_backends,
};

async fn login_pair(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let body: Value = app.login(email, password).await.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().into(),
        body["refresh_token"].as_str().unwrap().into(),
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

async fn refresh_rotates_and_reuse_revokes_the_family(app: &TestApp) {
    let (_, r1) = login_pair(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = refresh(app, &r1).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let (a2, r2) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap().to_string(),
    );
    assert_ne!(r1, r2);
    assert_eq!(app.get("/api/v1/me", a2).await.status(), 200);

    // r1 again at once: the same browser racing itself (two tabs) is let through.
    let raced = refresh(app, &r1).await;
    assert_eq!(raced.status(), 200);

    // r1 again later (its first use is now older than the grace period): theft detected,
    // the whole session (r2 and the raced pair included) is revoked.
    let raced: Value = raced.json().await.unwrap();
    let long_ago = "2000-01-01T00:00:00.000000Z";
    sqlx::query("update refresh_tokens set used_at = $1 where token_hash = $2")
        .bind(long_ago)
        .bind(energyapp_llm::server::auth::sessions::hash_token(&r1))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        error_code(refresh(app, &r1).await, 401).await,
        "unauthorized"
    );
    assert_eq!(refresh(app, &r2).await.status(), 401);
    assert_eq!(
        refresh(app, raced["refresh_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    // Other sessions are untouched.
    let (_, other) = login_pair(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(refresh(app, &other).await.status(), 200);
    assert_eq!(refresh(app, "not-a-token").await.status(), 401);
}

async fn logout_revokes_the_refresh_token(app: &TestApp) {
    let (_, refresh_token) = login_pair(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(refresh(app, &refresh_token).await.status(), 401);
}

fn forge(claims: Value, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_and_expired_tokens_are_refused(app: &TestApp) {
    let (access, _) = login_pair(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me: Value = app.get_json("/api/v1/me", &access).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, iss: &str, aud: &str| json!({ "sub": me["id"], "role": "admin", "iss": iss, "aud": aud, "iat": now - 10, "exp": exp });
    let valid = forge(
        claims(now + 60, "energyapp-llm", "energyapp-llm"),
        Algorithm::HS256,
        JWT_SECRET,
    );
    assert_eq!(
        app.get("/api/v1/me", &valid).await.status(),
        200,
        "the forging helper itself is right"
    );

    let mut tampered = access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let payload = valid.split('.').nth(1).unwrap();
    let cases = [
        ("tampered signature", tampered),
        (
            "expired",
            forge(
                claims(now - 1, "energyapp-llm", "energyapp-llm"),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong secret",
            forge(
                claims(now + 60, "energyapp-llm", "energyapp-llm"),
                Algorithm::HS256,
                "another-secret-another-secret-123",
            ),
        ),
        (
            "other algorithm",
            forge(
                claims(now + 60, "energyapp-llm", "energyapp-llm"),
                Algorithm::HS512,
                JWT_SECRET,
            ),
        ),
        (
            "wrong issuer",
            forge(
                claims(now + 60, "someone", "energyapp-llm"),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "wrong audience",
            forge(
                claims(now + 60, "energyapp-llm", "other-app"),
                Algorithm::HS256,
                JWT_SECRET,
            ),
        ),
        (
            "alg none",
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."),
        ),
    ];
    for (what, token) in cases {
        let res = app.get("/api/v1/me", &token).await;
        assert_eq!(res.status(), 401, "{what}");
        let cookie = app
            .http
            .get(app.url("/api/v1/me"))
            .header("cookie", format!("ea_access={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(cookie.status(), 401, "{what} (cookie)");
    }
    // No other header or query parameter is a credential.
    for res in [
        app.http
            .get(app.url(&format!("/api/v1/me?token={access}")))
            .send()
            .await
            .unwrap(),
        app.http
            .get(app.url("/api/v1/me"))
            .header("x-api-key", &access)
            .send()
            .await
            .unwrap(),
        app.http
            .get(app.url("/api/v1/me"))
            .header("cookie", format!("token={access}"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 401);
    }
}

async fn roles_are_checked_on_every_request(app: &TestApp) {
    let user = app.user_token("ursula@test.local").await;
    for res in [
        app.get("/api/v1/admin/users", &user).await,
        app.patch_json("/api/v1/admin/users/x", &user, json!({ "active": false }))
            .await,
    ] {
        assert_eq!(error_code(res, 403).await, "forbidden");
    }
    let admin = app.admin_token().await;
    let users: Value = app.get_json("/api/v1/admin/users", &admin).await;
    let id_of = |email: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (admin_id, ursula_id) = (id_of(ADMIN_EMAIL), id_of("ursula@test.local"));

    // The last admin cannot be demoted, and nobody demotes themself.
    let res = app
        .patch_json(
            &format!("/api/v1/admin/users/{admin_id}"),
            &admin,
            json!({ "role": "user" }),
        )
        .await;
    assert_eq!(error_code(res, 409).await, "conflict");

    // Promote Ursula: her existing token works on admin routes at once; demote: refused at once.
    let promote = app
        .patch_json(
            &format!("/api/v1/admin/users/{ursula_id}"),
            &admin,
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(promote.status(), 200);
    assert_eq!(app.get("/api/v1/admin/users", &user).await.status(), 200);
    let demote = app
        .patch_json(
            &format!("/api/v1/admin/users/{ursula_id}"),
            &admin,
            json!({ "role": "user" }),
        )
        .await;
    assert_eq!(demote.status(), 200);
    assert_eq!(app.get("/api/v1/admin/users", &user).await.status(), 403);

    // Deactivation ends every token at once.
    let off = app
        .patch_json(
            &format!("/api/v1/admin/users/{ursula_id}"),
            &admin,
            json!({ "active": false }),
        )
        .await;
    assert_eq!(off.status(), 200);
    assert_eq!(app.get("/api/v1/me", &user).await.status(), 401);
    let bad = app
        .patch_json(
            &format!("/api/v1/admin/users/{ursula_id}"),
            &admin,
            json!({ "role": "boss" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
}

async fn changing_the_password_ends_other_sessions(app: &TestApp) {
    let (old_access, old_refresh) = login_pair(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let change = |current: &str, new: &str| {
        app.http
            .post(app.url("/api/v1/auth/password"))
            .bearer_auth(&old_access)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    assert_eq!(
        error_code(
            change("wrong-password-1", "brand-new-password")
                .await
                .unwrap(),
            422
        )
        .await,
        "validation_failed"
    );
    assert_eq!(
        error_code(change(ADMIN_PASSWORD, "short").await.unwrap(), 422).await,
        "validation_failed"
    );
    // Let a second pass so the old token's issue time is before the cut-off.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = change(ADMIN_PASSWORD, "brand-new-password").await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let new_access = body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", new_access).await.status(), 200);
    assert_eq!(app.get("/api/v1/me", &old_access).await.status(), 401);
    assert_eq!(refresh(app, &old_refresh).await.status(), 401);
    assert_eq!(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 401);
    assert_eq!(
        app.login(ADMIN_EMAIL, "brand-new-password").await.status(),
        200
    );
}

on_both_backends!(
    refresh_rotates_and_reuse_revokes_the_family,
    logout_revokes_the_refresh_token,
    forged_and_expired_tokens_are_refused,
    roles_are_checked_on_every_request,
    changing_the_password_ends_other_sessions,
);

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after() {
    let app = TestApp::start_with(Backend::Sqlite, |s| s.auth.login_max_failures = 3)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            app.login(ADMIN_EMAIL, "wrong-password-1").await.status(),
            401
        );
    }
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 429, "locked even with the right password");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry));
    assert_eq!(error_code(res, 429).await, "too_many_requests");
    app.stop().await;
}

#[tokio::test]
async fn the_browser_session_refreshes_through_its_cookie() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let res = app.browser_login().await;
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let refresh_cookie = cookies
        .iter()
        .find(|c| c.starts_with("ea_refresh="))
        .expect("refresh cookie");
    assert!(refresh_cookie.contains("Path=/api;") && refresh_cookie.contains("HttpOnly"));
    assert!(cookies.iter().any(|c| c.starts_with("ea_session=1")));
    let pair = refresh_cookie.split(';').next().unwrap().to_string();

    let cross = app
        .http
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let same = app
        .http
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    let renewed: Vec<String> = same
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        renewed
            .iter()
            .any(|c| c.starts_with("ea_access=") && !c.starts_with("ea_access=;"))
    );
    // The old refresh cookie is now spent: once past the grace period, using it again ends the
    // session and clears the cookies.
    sqlx::query("update refresh_tokens set used_at = $1 where used_at is not null")
        .bind("2000-01-01T00:00:00.000000Z")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let reuse = app
        .http
        .post(app.url("/api/v1/auth/refresh"))
        .header("cookie", &pair)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 401);
    assert!(
        reuse
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ea_access=;"))
    );
    app.stop().await;
}

#[tokio::test]
async fn throttling_behind_a_trusted_proxy_counts_each_client_address() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.auth.login_max_failures_per_ip = 2;
        s.auth.login_max_failures = 100;
    })
    .await
    .unwrap();
    let login_from = |client: &'static str, email: &'static str| {
        app.http
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", client)
            .json(&json!({ "email": email, "password": "wrong-password-1" }))
            .send()
    };
    // The test client connects from 127.0.0.1, a trusted proxy by default.
    assert_eq!(
        login_from("203.0.113.7", "a@test.local")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login_from("203.0.113.7", "b@test.local")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login_from("203.0.113.7", "c@test.local")
            .await
            .unwrap()
            .status(),
        429
    );
    // Another client behind the same proxy is not affected.
    assert_eq!(
        login_from("203.0.113.8", "c@test.local")
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}
