//! CORS, security headers, body limits, and conversations scoped to their owner.

use serde_json::{Value, json};

use crate::{
    common::{Backend, TestApp, error_code, read_events},
    on_both_backends,
};

fn preflight(app: &TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/chat"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

#[tokio::test]
async fn cors_is_closed_unless_an_origin_is_listed() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.server.cors_origins = vec!["https://erp.example.com".into()]
    })
    .await
    .unwrap();
    let refused = preflight(&app, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(error_code(refused, 403).await, "forbidden");

    let allowed = preflight(&app, "https://erp.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://erp.example.com"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );

    let token = app.admin_token().await;
    let call = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .header("origin", "https://erp.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        call.headers()["access-control-allow-origin"],
        "https://erp.example.com"
    );
    let other = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_a_strict_csp_with_the_boot_script_nonce() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let page = app
        .http
        .get(app.url("/login"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    let html = page.text().await.unwrap();
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(!csp.contains("unsafe-inline"));
    // Inline scripts without the nonce would be blocked: every <script> in the page carries it.
    let scripts = html.matches("<script").count();
    let with_nonce = html
        .match_indices("<script")
        .map(|(at, _)| &html[at..])
        .filter(|s| {
            s.split('>')
                .next()
                .unwrap()
                .contains(&format!("nonce=\"{nonce}\""))
        })
        .count();
    assert_eq!(scripts, with_nonce, "every script carries the nonce");

    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert!(
        health.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_configured_limit_are_413() {
    let app = TestApp::start_with(Backend::Sqlite, |s| s.server.max_body_bytes = 4096)
        .await
        .unwrap();
    let token = app.admin_token().await;
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "x".repeat(5000) }),
        )
        .await;
    assert_eq!(error_code(res, 413).await, "payload_too_large");
    let res = app
        .post_json(
            "/api/v1/chat",
            &token,
            json!({ "message": "x".repeat(3000) }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let _ = read_events(res).await;
    app.stop().await;
}

async fn conversations_are_renamed_and_closed_only_by_their_owner(app: &TestApp) {
    let alice = app.user_token("alice@test.local").await;
    let bob = app.user_token("bob@test.local").await;
    let events = read_events(
        app.post_json("/api/v1/chat", &alice, json!({ "message": "mía" }))
            .await,
    )
    .await;
    let energyapp_llm::stream_events::StreamEvent::Meta(meta) = &events[0] else {
        panic!()
    };
    let path = format!("/api/v1/conversations/{}", meta.conversation_id);

    let res = app
        .patch_json(&path, &bob, json!({ "title": "robada" }))
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app
        .patch_json(&path, &bob, json!({ "status": "closed" }))
        .await;
    assert_eq!(res.status(), 404);
    let detail: Value = app.get_json(&path, &alice).await;
    assert_eq!(
        (
            detail["conversation"]["title"].as_str(),
            detail["conversation"]["status"].as_str()
        ),
        (Some("mía"), Some("open"))
    );

    let res = app
        .patch_json(&path, &alice, json!({ "title": "  Renombrada  " }))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["conversation"]["title"], "Renombrada");
    for bad in [
        json!({ "title": "" }),
        json!({ "status": "archived" }),
        json!({ "title": "a\nb" }),
        json!({ "owner": "bob" }),
    ] {
        let res = app.patch_json(&path, &alice, bad.clone()).await;
        assert_eq!(res.status(), 422, "{bad}");
    }
}

on_both_backends!(conversations_are_renamed_and_closed_only_by_their_owner);

#[tokio::test]
async fn server_functions_refuse_cross_site_calls_and_wrong_methods_are_405() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let form = [
        ("email", crate::common::ADMIN_EMAIL),
        ("password", crate::common::ADMIN_PASSWORD),
    ];
    let cross = app
        .http
        .post(app.url("/api/login"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(cross, 403).await, "forbidden");
    assert!(
        app.http
            .post(app.url("/api/logout"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap()
            .status()
            == 403
    );
    let same = app
        .http
        .post(app.url("/api/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        same.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ea_access="))
    );

    let res = app.http.get(app.url("/api/v1/chat")).send().await.unwrap();
    assert_eq!(error_code(res, 405).await, "method_not_allowed");
    app.stop().await;
}
