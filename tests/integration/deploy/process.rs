//! `energyapp-llm serve` as a process, configured by environment variables like the systemd
//! unit does, logging JSON to a file, with `/metrics` on.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, Events, JWT_SECRET};
use energyapp_llm::stream_events::{MetaEvent, StreamEvent};

pub const BIN: &str = env!("CARGO_BIN_EXE_energyapp-llm");
pub const METRICS_TOKEN: &str = "metrics-token-for-the-tests";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct AppProcess {
    child: Child,
    pub base: String,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub database_url: String,
}

/// The environment every command of this installation gets (serve, backup, restore).
pub fn base_env(cmd: &mut Command, dir: &Path, database_url: &str) {
    cmd.current_dir(dir)
        .env("ENERGYAPP_CONFIG", dir.join("none.yaml"))
        .env("ENERGYAPP_DATABASE__URL", database_url)
        .env("ENERGYAPP_AUTH__JWT_SECRET", JWT_SECRET)
        .env("ENERGYAPP_AUTH__BCRYPT_COST", "4")
        .env("ENERGYAPP_LOGGING__FILE", dir.join("logs/app.log"))
        .env("ENERGYAPP_LOGGING__FORMAT", "json")
        .env_remove("RUST_LOG");
}

impl AppProcess {
    /// Starts on a SQLite file in `dir`; `extra` adds or overrides variables.
    pub async fn start(dir: &Path, ollama: SocketAddr, extra: &[(&str, &str)]) -> AppProcess {
        let port = free_port();
        let database_url = format!("sqlite://{}/app.db", dir.display());
        let site = crate::deploy::tools::repo().join("target/site");
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")]);
        base_env(&mut cmd, dir, &database_url);
        cmd.env("LEPTOS_SITE_ROOT", site)
            .env("ENERGYAPP_OLLAMA__HOST", format!("http://{ollama}"))
            .env("ENERGYAPP_OLLAMA__MAX_PARALLEL", "4")
            .env("ENERGYAPP_CHAT__CHECKPOINT_TOKENS", "4")
            .env("ENERGYAPP_SERVER__SHUTDOWN_GRACE_SECS", "2")
            .env("ENERGYAPP_METRICS__ENABLED", "true")
            .env("ENERGYAPP_METRICS__TOKEN", METRICS_TOKEN)
            .env("ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
        for (key, value) in extra {
            cmd.env(key, value);
        }
        let stdout = std::fs::File::create(dir.join("stdout.log")).unwrap();
        let child = cmd.stdout(stdout).stderr(Stdio::null()).spawn().unwrap();
        let app = AppProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
            database_url,
        };
        crate::common::wait_until_healthy(&app.base).await;
        app
    }

    /// Logs in through `base` (the app or a proxy in front of it); returns the access token.
    pub async fn token_via(base: &str) -> String {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Starts an answer through `base` and reads up to its `meta` event.
    pub async fn start_answer(base: &str, token: &str, message: &str) -> (MetaEvent, Events) {
        let res = reqwest::Client::new()
            .post(format!("{base}/api/v1/chat"))
            .bearer_auth(token)
            .header("accept-encoding", "gzip, zstd")
            .json(&json!({ "message": message }))
            .send()
            .await
            .unwrap();
        assert!(
            res.headers().get("content-encoding").is_none(),
            "the event stream must not be compressed"
        );
        let mut events = Events::new(res);
        let Some(StreamEvent::Meta(meta)) = events.next().await else {
            panic!("meta first")
        };
        (meta, events)
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = reqwest::Client::new()
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// Everything logged so far (the JSON log file and standard output).
    pub fn logs(&self) -> String {
        let file = std::fs::read_to_string(self.dir.join("logs/app.log")).unwrap_or_default();
        let stdout = std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default();
        format!("{file}{stdout}")
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not exit");
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `energyapp-llm <args>` against the installation in `dir`; returns (success, output).
pub fn cli(dir: &Path, database_url: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    base_env(&mut cmd, dir, database_url);
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
