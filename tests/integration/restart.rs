//! The real binary as a process: SIGTERM lets answers in flight finish within the grace
//! period and stores the rest as interrupted; a kill -9 mid-answer followed by a restart
//! leaves the answer interrupted with its last checkpoint. On SQLite and PostgreSQL.

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::common::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Events, JWT_SECRET, POSTGRES_ENV, create_postgres_database,
    drop_postgres_database, fast_sim, streamed_text, within_time_limit,
};
use energyapp_llm::{
    server::ollama_sim::{self, Simulator, reply_tokens},
    stream_events::{MetaEvent, StreamEvent},
};

const BIN: &str = env!("CARGO_BIN_EXE_energyapp-llm");

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `energyapp-llm serve` and waits until `/health` answers.
async fn spawn_server(
    dir: &Path,
    database_url: &str,
    ollama: SocketAddr,
    grace_secs: u64,
) -> Server {
    let port = free_port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("ENERGYAPP_CONFIG", dir.join("none.yaml"))
        .env("ENERGYAPP_DATABASE__URL", database_url)
        .env("ENERGYAPP_OLLAMA__HOST", format!("http://{ollama}"))
        .env("ENERGYAPP_AUTH__JWT_SECRET", JWT_SECRET)
        .env("ENERGYAPP_AUTH__BCRYPT_COST", "4")
        .env("ENERGYAPP_CHAT__CHECKPOINT_TOKENS", "4")
        .env("ENERGYAPP_OLLAMA__MAX_PARALLEL", "4")
        .env(
            "ENERGYAPP_SERVER__SHUTDOWN_GRACE_SECS",
            grace_secs.to_string(),
        )
        .env("ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    crate::common::wait_until_healthy(&server.base).await;
    server
}

impl Server {
    async fn token(&self) -> String {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn start_answer(&self, token: &str, message: &str) -> (MetaEvent, Events) {
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/chat", self.base))
            .bearer_auth(token)
            .json(&json!({ "message": message }))
            .send()
            .await
            .unwrap();
        let mut events = Events::new(res);
        let Some(StreamEvent::Meta(meta)) = events.next().await else {
            panic!("meta first")
        };
        (meta, events)
    }

    async fn answer(&self, token: &str, meta: &MetaEvent) -> Value {
        let res = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/conversations/{}",
                self.base, meta.conversation_id
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let detail: Value = res.json().await.unwrap();
        detail["messages"][1].clone()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns whether it exited successfully.
    async fn exited(&mut self) -> bool {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not exit");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a scenario against a fresh database of each kind, with the simulator.
async fn on_both(scenario: fn(Context) -> futures::future::BoxFuture<'static, ()>) {
    for postgres in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (url, cleanup) = if postgres {
            let Ok(base) = std::env::var(POSTGRES_ENV) else {
                eprintln!("SKIPPED: PostgreSQL variant (set {POSTGRES_ENV})");
                continue;
            };
            let (url, name) = create_postgres_database(&base).await;
            (url, Some((base, name)))
        } else {
            (format!("sqlite://{}/app.db", dir.path().display()), None)
        };
        let sim = Simulator::new(fast_sim());
        let (sim_addr, _) = ollama_sim::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let context = Context {
            dir: dir.path().to_path_buf(),
            url,
            sim,
            sim_addr,
        };
        within_time_limit(scenario(context)).await;
        if let Some((base, name)) = cleanup {
            drop_postgres_database(&base, &name).await;
        }
    }
}

struct Context {
    dir: std::path::PathBuf,
    url: String,
    sim: Simulator,
    sim_addr: SocketAddr,
}

async fn read_some(events: &mut Events, bytes: usize) -> String {
    let mut text = String::new();
    while text.len() < bytes {
        match events.next().await {
            Some(StreamEvent::Token(t)) => text.push_str(&t.content),
            other => panic!("unexpected {other:?}"),
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_short_answers_finish_and_interrupts_the_rest() {
    on_both(|cx| Box::pin(sigterm(cx))).await;
}

async fn sigterm(cx: Context) {
    let mut server = spawn_server(&cx.dir, &cx.url, cx.sim_addr, 2).await;
    let token = server.token().await;
    let long = "larga [sim tokens=3000 delay_ms=10]";
    let short = "corta [sim tokens=40 delay_ms=20]";
    let (long_meta, mut long_events) = server.start_answer(&token, long).await;
    let (short_meta, mut short_events) = server.start_answer(&token, short).await;
    let long_start = read_some(&mut long_events, 5).await;
    let short_start = read_some(&mut short_events, 5).await;

    server.signal("-TERM");
    // New connections are refused at once...
    let mut refused = false;
    for _ in 0..40 {
        if reqwest::get(format!("{}/health", server.base))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "still accepting after SIGTERM");
    // ... the short answer finishes within the grace period, the long one is interrupted.
    let (short_rest, long_rest) = tokio::join!(short_events.rest(), long_events.rest());
    assert!(
        matches!(short_rest.last(), Some(StreamEvent::Done(d)) if d.status.as_str() == "complete"),
        "{:?}",
        short_rest.last()
    );
    assert_eq!(
        short_start + &streamed_text(&short_rest),
        reply_tokens(short, 40).concat()
    );
    assert!(
        matches!(long_rest.last(), Some(StreamEvent::Error(e)) if e.code == "server_shutdown"),
        "{:?}",
        long_rest.last()
    );
    let long_streamed = long_start + &streamed_text(&long_rest);
    assert!(server.exited().await, "clean exit");
    assert_eq!(cx.sim.stats().in_flight, 0, "Ollama was told to stop");

    // After a restart, what was streamed is what was stored.
    let server = spawn_server(&cx.dir, &cx.url, cx.sim_addr, 2).await;
    let token = server.token().await;
    let stored = server.answer(&token, &long_meta).await;
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["meta"]["interrupted_by"], "server_shutdown");
    assert_eq!(stored["content"], long_streamed.as_str());
    assert!(
        reply_tokens(long, 3000)
            .concat()
            .starts_with(&long_streamed)
    );
    let stored = server.answer(&token, &short_meta).await;
    assert_eq!(stored["status"], "complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_answer_then_restart_leaves_it_interrupted_with_its_checkpoint() {
    on_both(|cx| Box::pin(kill_9(cx))).await;
}

async fn kill_9(cx: Context) {
    let mut server = spawn_server(&cx.dir, &cx.url, cx.sim_addr, 2).await;
    let token = server.token().await;
    let message = "se cae [sim tokens=3000 delay_ms=10]";
    let (meta, mut events) = server.start_answer(&token, message).await;
    let streamed = read_some(&mut events, 40).await;
    // Wait until a checkpoint holds at least what was streamed so far.
    let mut checkpoint = String::new();
    for _ in 0..200 {
        let stored = server.answer(&token, &meta).await;
        assert_eq!(stored["status"], "streaming");
        checkpoint = stored["content"].as_str().unwrap().to_string();
        if checkpoint.len() >= streamed.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        checkpoint.len() >= streamed.len(),
        "checkpoints are written"
    );

    server.signal("-KILL");
    assert!(!server.exited().await, "killed");
    drop(server);

    let server = spawn_server(&cx.dir, &cx.url, cx.sim_addr, 2).await;
    let token = server.token().await;
    let stored = server.answer(&token, &meta).await;
    assert_eq!(stored["status"], "interrupted");
    assert_eq!(stored["meta"]["interrupted_by"], "server_restart");
    let kept = stored["content"].as_str().unwrap();
    assert!(kept.starts_with(&checkpoint), "the last checkpoint is kept");
    assert!(reply_tokens(message, 3000).concat().starts_with(kept));
    // The conversation takes new questions again.
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/conversations/{}/messages",
            server.base, meta.conversation_id
        ))
        .bearer_auth(&token)
        .json(&json!({ "content": "¿sigues ahí?" }))
        .send()
        .await
        .unwrap();
    let events = Events::new(res).rest().await;
    assert!(matches!(events.last(), Some(StreamEvent::Done(_))));
}
