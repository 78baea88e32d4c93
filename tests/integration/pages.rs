//! The server-rendered pages and the browser's cookie login.

use serde_json::json;

use crate::common::{ADMIN_EMAIL, Backend, TestApp, read_events};

/// A page request; a page that never finishes rendering fails the test instead of hanging it.
fn html(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url(path))
        .header("accept", "text/html")
        .timeout(std::time::Duration::from_secs(60))
}

/// Logs in the way the login form does and returns the session cookie.
async fn browser_login(app: &TestApp) -> String {
    let res = app.browser_login().await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("ea_access="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_login() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    for path in ["/", "/c/00000000-0000-0000-0000-000000000000"] {
        let res = html(&app, path).send().await.unwrap();
        assert_eq!(res.status(), 302, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }
    let login = html(&app, "/login").send().await.unwrap();
    assert_eq!(login.status(), 200);
    let page = login.text().await.unwrap();
    assert!(page.contains("data-testid=\"login-email\"") && page.contains("/energyapp-llm.js"));
    app.stop().await;
}

/// The paths a page loads its bundle from (`/pkg/.../energyapp-llm.{js,wasm,css}`).
fn bundle_paths(page: &str) -> Vec<String> {
    let mut paths: Vec<String> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/pkg/") && s.contains("/energyapp-llm"))
        .map(str::to_string)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test]
async fn pages_load_the_bundle_from_a_path_named_after_its_content() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    if !std::path::Path::new("target/site/pkg/energyapp-llm.wasm").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "target/site is missing: run `cargo leptos build` first (scripts/test.sh does)"
        );
        eprintln!("SKIPPED: no target/site (run `cargo leptos build`)");
        return;
    }
    let page = page_text(&app, "/login", "").await;
    let paths = bundle_paths(&page);
    assert!(paths.iter().any(|p| p.ends_with(".js")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with(".css")), "{paths:?}");
    for path in &paths {
        // /pkg/<12 hex digits>/energyapp-llm…
        let fingerprint = path.split('/').nth(2).unwrap();
        assert!(
            fingerprint.len() == 12 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
            "{path}"
        );
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{path}"
        );
        let local = format!("target/site/pkg/{}", path.rsplit('/').next().unwrap());
        if std::path::Path::new(&local).exists() {
            let body = res.bytes().await.unwrap();
            assert_eq!(
                body.len() as u64,
                std::fs::metadata(&local).unwrap().len(),
                "{path}"
            );
        }
    }
    // Another build's fingerprint is not served.
    let stale = app
        .http
        .get(app.url("/pkg/000000000000/energyapp-llm.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 404);
    app.stop().await;
}

/// A page's HTML, sent with `cookie` (none when empty).
async fn page_text(app: &TestApp, path: &str, cookie: &str) -> String {
    let mut request = html(app, path);
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_language_cookie_chooses_the_pages_language() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let spanish = page_text(&app, "/login", "").await;
    assert!(spanish.contains("<html lang=\"es\""), "{spanish}");
    assert!(spanish.contains("Iniciar sesión") && !spanish.contains("Sign in"));

    let english = page_text(&app, "/login", "energyapp_lang=en").await;
    assert!(english.contains("<html lang=\"en\""), "{english}");
    assert!(english.contains("Sign in") && !english.contains("Iniciar sesión"));

    // Signed in: the chat in English, and an unknown language falls back to Spanish.
    let session = browser_login(&app).await;
    let chat = page_text(&app, "/", &format!("{session}; energyapp_lang=en")).await;
    assert!(
        chat.contains("New chat") && chat.contains("Sign out"),
        "{chat}"
    );
    assert!(!chat.contains("Nueva conversación"));
    let unknown = page_text(&app, "/", &format!("{session}; energyapp_lang=xx")).await;
    assert!(unknown.contains("<html lang=\"es\"") && unknown.contains("Nueva conversación"));
    app.stop().await;
}

#[tokio::test]
async fn the_chat_page_renders_the_persons_history() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let cookie = browser_login(&app).await;
    let token = app.admin_token().await;
    let question = "<script>alert('x')</script> ¿hola?";
    let events = read_events(
        app.post_json("/api/v1/chat", &token, json!({ "message": question }))
            .await,
    )
    .await;
    let energyapp_llm::stream_events::StreamEvent::Meta(meta) = &events[0] else {
        panic!()
    };

    let page = html(&app, &format!("/c/{}", meta.conversation_id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(ADMIN_EMAIL));
    assert!(page.contains("data-testid=\"composer-input\""));
    assert!(
        page.contains("&lt;script&gt;alert("),
        "message text is escaped"
    );
    assert!(
        !page.contains("<script>alert("),
        "raw HTML from a message never reaches the page"
    );

    // Every render resolves its data from the request's context: no render may carry an
    // internal error into the page (the browser would then fail to hydrate it).
    for _ in 0..30 {
        let again = html(&app, &format!("/c/{}", meta.conversation_id))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let again = again.text().await.unwrap();
        assert!(
            again.contains("¿hola?") && !again.contains("Internal"),
            "a render failed"
        );
    }

    let home = html(&app, "/")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(
        home.text()
            .await
            .unwrap()
            .contains("data-testid=\"conversation-item\"")
    );

    // Someone else's conversation does not render.
    let bob = app.user_token("bob@test.local").await;
    let bob_cookie = format!("ea_access={bob}");
    let other = html(&app, &format!("/c/{}", meta.conversation_id))
        .header("cookie", &bob_cookie)
        .send()
        .await
        .unwrap();
    assert!(!other.text().await.unwrap().contains("¿hola?"));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_sets_no_cookie() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let res = app
        .http
        .post(app.url("/api/login"))
        .header("origin", &app.base)
        .form(&[("email", ADMIN_EMAIL), ("password", "not-the-password")])
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(res.status(), 401);
    app.stop().await;
}
