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
    assert!(page.contains("data-testid=\"login-email\"") && page.contains("/pkg/energyapp-llm.js"));
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
