//! `TestApp`: the real server on an ephemeral port, a fresh database (SQLite file or a new
//! PostgreSQL database), and the Ollama simulator in place of Ollama.

use std::{net::SocketAddr, time::Duration};

use energyapp_llm::{
    model::Role,
    server::{
        auth::password,
        config::Settings,
        db::{
            Db, new_id,
            turns::{self, TurnConversation, TurnRows},
            users,
        },
        ollama_sim::{self, SimOptions, SimStats, Simulator},
        startup::{self, Running},
        state::AppState,
    },
    sse_parser::SseParser,
    stream_events::StreamEvent,
};
use futures::StreamExt;
use serde_json::Value;

pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-!";
/// Env variable naming a PostgreSQL server for the PostgreSQL half of the suite.
pub const POSTGRES_ENV: &str = "ENERGYAPP_TEST_POSTGRES_URL";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub sim: Simulator,
    pub state: AppState,
    running: Option<Running>,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

/// Simulator defaults for tests: fast, short answers.
pub fn fast_sim() -> SimOptions {
    SimOptions {
        tokens: 12,
        token_delay: Duration::ZERO,
        ..SimOptions::default()
    }
}

impl TestApp {
    /// Starts on SQLite, or returns `None` (with a note) for PostgreSQL when it is not configured.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let (url, postgres) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/test.db", dir.path().display()), None),
            Backend::Postgres => {
                let Ok(base) = std::env::var(POSTGRES_ENV) else {
                    eprintln!("SKIPPED: PostgreSQL test (set {POSTGRES_ENV} to run it)");
                    return None;
                };
                let (url, name) = create_postgres_database(&base).await;
                (url, Some((base, name)))
            }
        };
        let sim = Simulator::new(fast_sim());
        let (sim_addr, _) = ollama_sim::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let mut settings = Settings::default();
        settings.database.url = url;
        settings.database.max_connections = 8;
        settings.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.server.shutdown_grace_secs = 1;
        settings.ollama.host = format!("http://{sim_addr}");
        settings.ollama.idle_timeout_secs = 2;
        settings.auth.jwt_secret = Some(JWT_SECRET.into());
        settings.auth.bcrypt_cost = 4;
        settings.chat.checkpoint_tokens = 4;
        // Short, so that a closed stream cancels the answer quickly (tests of re-attaching
        // set a longer one).
        settings.chat.reattach_grace_ms = 200;
        settings.bootstrap_admin_email = Some(ADMIN_EMAIL.into());
        settings.bootstrap_admin_password = Some(ADMIN_PASSWORD.into());
        tweak(&mut settings);
        let running = startup::start(settings, false)
            .await
            .expect("server starts");
        Some(TestApp {
            base: format!("http://{}", running.addr),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            sim,
            state: running.state.clone(),
            running: Some(running),
            _dir: dir,
            postgres,
        })
    }

    /// A second server on the same database and the same Ollama (as a second instance behind
    /// a proxy would be); the database stays the first one's to drop.
    pub async fn another_instance(&self) -> TestApp {
        let mut settings = (*self.state.settings).clone();
        settings.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        let running = startup::start(settings, false)
            .await
            .expect("server starts");
        TestApp {
            base: format!("http://{}", running.addr),
            http: self.http.clone(),
            sim: self.sim.clone(),
            state: running.state.clone(),
            running: Some(running),
            _dir: tempfile::tempdir().unwrap(),
            postgres: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in over the REST API and returns the access token.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let res = self.login(email, password).await;
        assert_eq!(res.status(), 200, "login of {email}");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates an account directly in the database and returns a token for it.
    pub async fn user_token(&self, email: &str) -> String {
        let hash = password::hash("user-password-123", 4).await.unwrap();
        users::create(&self.state.db, email, &hash, Role::User)
            .await
            .unwrap();
        self.token(email, "user-password-123").await
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The JSON body of `GET path` as the holder of `token`; fails the test unless it is a 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let res = self.get(path, token).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// The JSON body of `GET path`, asked without credentials.
    pub async fn public_json(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// `POST /api/v1/conversations/{id}/stop` as the holder of `token`.
    pub async fn stop_answer(&self, conversation_id: &str, token: &str) -> reqwest::Response {
        let path = format!("/api/v1/conversations/{conversation_id}/stop");
        self.post_json(&path, token, serde_json::json!({})).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/v1/conversations/{id}` as JSON.
    pub async fn conversation(&self, id: &str, token: &str) -> Value {
        self.get_json(&format!("/api/v1/conversations/{id}"), token)
            .await
    }

    /// Waits (up to 2 s) until the simulator has seen `n` generations cancelled; returns the count.
    pub async fn wait_for_cancelled(&self, n: u64) -> u64 {
        for _ in 0..100 {
            if self.sim.stats().cancelled >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.sim.stats().cancelled
    }

    /// Waits (up to 2 s) until the simulator has no generation in flight; returns its counters.
    pub async fn wait_for_sim_idle(&self) -> SimStats {
        for _ in 0..100 {
            if self.sim.stats().in_flight == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.sim.stats()
    }

    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Logs in the way the browser's login form does; returns the response (cookies, redirect).
    pub async fn browser_login(&self) -> reqwest::Response {
        self.http
            .post(self.url("/api/login"))
            .header("accept", "text/html")
            .header("origin", &self.base)
            .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
        self.state.db.pool.close().await;
        if let Some((base, name)) = self.postgres.take() {
            drop_postgres_database(&base, &name).await;
        }
    }
}

/// Reads an SSE response event by event, as a client sees them arrive.
pub struct Events {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    parser: SseParser,
    pending: std::collections::VecDeque<StreamEvent>,
}

impl Events {
    pub fn new(response: reqwest::Response) -> Events {
        assert_eq!(response.status(), 200);
        Events {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::new(),
            pending: Default::default(),
        }
    }

    /// The next event, or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let chunk = self.body.next().await?.expect("stream read");
            for frame in self.parser.push(&chunk) {
                self.pending.push_back(
                    StreamEvent::parse(&frame.event, &frame.data)
                        .expect("known event")
                        .expect("valid json"),
                );
            }
        }
    }

    /// Every event up to the end of the stream.
    pub async fn rest(mut self) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

/// Reads a whole SSE response into events.
pub async fn read_events(response: reqwest::Response) -> Vec<StreamEvent> {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        for frame in parser.push(&chunk.unwrap()) {
            events.push(
                StreamEvent::parse(&frame.event, &frame.data)
                    .expect("known event")
                    .expect("valid json"),
            );
        }
    }
    events
}

/// The concatenated `token` events.
pub fn streamed_text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Token(t) => Some(t.content.as_str()),
            _ => None,
        })
        .collect()
}

/// Asserts an error response has the API's JSON shape and returns its code.
pub async fn error_code(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("JSON error body");
    let message = body["error"]["message"].as_str().expect("error.message");
    assert!(!message.is_empty());
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_string()
}

async fn admin_pool(base: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .expect("PostgreSQL reachable")
}

pub async fn create_postgres_database(base: &str) -> (String, String) {
    let name = format!("energyapp_test_{}", uuid::Uuid::new_v4().simple());
    let pool = admin_pool(base).await;
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    (format!("{prefix}/{name}"), name)
}

pub async fn drop_postgres_database(base: &str, name: &str) {
    let pool = admin_pool(base).await;
    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&pool)
        .await;
    pool.close().await;
}

/// Waits until the server at `base` answers `/health` with a success (up to 15 s).
pub async fn wait_until_healthy(base: &str) {
    for _ in 0..300 {
        if let Ok(res) = reqwest::get(format!("{base}/health")).await
            && res.status().is_success()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server at {base} did not become healthy");
}

/// Fails a scenario that runs for more than two minutes (a hang must fail, not stall CI).
pub async fn within_time_limit(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(120), scenario)
        .await
        .expect("the scenario did not finish within 120 s");
}

/// Runs each scenario `async fn name(app: &TestApp)` on SQLite and on PostgreSQL; with
/// `settings = f;` first, `f(&mut Settings)` adjusts the server's settings.
#[macro_export]
macro_rules! on_both_backends {
    (settings = $tweak:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::start_with($crate::common::Backend::Sqlite, $tweak).await.unwrap();
                    $crate::common::within_time_limit(super::$name(&app)).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::start_with($crate::common::Backend::Postgres, $tweak).await else { return };
                    $crate::common::within_time_limit(super::$name(&app)).await;
                    app.stop().await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::start($crate::common::Backend::Sqlite).await.unwrap();
                    $crate::common::within_time_limit(super::$name(&app)).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::start($crate::common::Backend::Postgres).await else { return };
                    $crate::common::within_time_limit(super::$name(&app)).await;
                    app.stop().await;
                }
            )*
        }
    };
}

/// The ids of a page of items (`{"items": [{"id": ...}, ...]}`), in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of a turn stored as the app stores one: its conversation, and its answer's row (in
/// progress).
pub struct StoredTurn {
    pub conversation: String,
    pub answer: String,
}

/// Stores `question` of `user_id` as the first turn of a new conversation titled `title`.
pub async fn store_first_turn(db: &Db, user_id: &str, title: &str, question: &str) -> StoredTurn {
    let at = chrono::Utc::now();
    let summary = turns::new_conversation(new_id(), title.into(), "m".into(), None, at);
    let (question_id, answer_id) = (new_id(), new_id());
    let rows = TurnRows {
        conversation: TurnConversation::New {
            user_id,
            summary: &summary,
            token_issued_at: None,
        },
        question_id: &question_id,
        question,
        answer_id: &answer_id,
        instance_id: None,
        at,
    };
    turns::store(db, &rows).await.unwrap();
    StoredTurn {
        conversation: summary.id,
        answer: answer_id,
    }
}

/// Creates an API key as `admin`: its secret, and the key as listed.
pub async fn create_key(app: &TestApp, admin: &str, body: Value) -> (String, Value) {
    let res = app.post_json("/api/v1/admin/api-keys", admin, body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    (
        created["secret"].as_str().unwrap().to_string(),
        created["key"].clone(),
    )
}
