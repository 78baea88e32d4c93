//! Sessions, their revocation and deactivation, failed logins and API keys' budgets are
//! shared by the instances.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, create_key, error_code, within_time_limit,
};

use super::{stop, two_instances};

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
        let (key, _) = create_key(
            &a,
            &admin,
            json!({ "name": "budget", "owner": ADMIN_EMAIL, "monthly_token_budget": 30 }),
        )
        .await;
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
