//! The first start of `serve` on a new database (an SQLite file that does not exist yet, an empty
//! PostgreSQL database): it prints a generated admin password once, that password logs in, and
//! the next start on the same database prints none and keeps the account.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::{Value, json};

use crate::common::{
    JWT_SECRET, POSTGRES_ENV, create_postgres_database, drop_postgres_database, within_time_limit,
};
use energyapp_llm::server::bootstrap::DEFAULT_ADMIN_EMAIL;

const BIN: &str = env!("CARGO_BIN_EXE_energyapp-llm");

/// A running `energyapp-llm serve` whose standard output is read line by line.
struct Serve {
    child: Child,
    base: String,
    stdout: mpsc::Receiver<String>,
}

impl Serve {
    async fn start(dir: &std::path::Path, database_url: &str) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .env("ENERGYAPP_CONFIG", dir.join("none.yaml"))
            .env("ENERGYAPP_DATABASE__URL", database_url)
            .env("ENERGYAPP_OLLAMA__HOST", "http://127.0.0.1:9")
            .env("ENERGYAPP_AUTH__JWT_SECRET", JWT_SECRET)
            .env("ENERGYAPP_AUTH__BCRYPT_COST", "4")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Read to the end (a closed pipe would fail the server's next print).
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
        };
        crate::common::wait_until_healthy(&serve.base).await;
        serve
    }

    /// The lines printed up to the first with `label` (printed before the server listens, so
    /// already in the pipe), or all of them once the server has exited.
    fn printed_through(&self, label: &str) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(10)) {
            let found = line.trim().starts_with(label);
            lines.push(line);
            if found {
                break;
            }
        }
        lines
    }

    async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Stops the server; returns what it printed that was not read yet.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout.iter().collect()
    }
}

/// The value printed after `label` (e.g. `password:`), if any line has it.
fn printed_value(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|line| {
        let value = line.trim().strip_prefix(label)?;
        Some(value.trim().to_string())
    })
}

async fn first_start_prints_an_admin_that_logs_in(dir: &std::path::Path, database_url: &str) {
    let first = Serve::start(dir, database_url).await;
    let printed = first.printed_through("password:");
    let email = printed_value(&printed, "email:").expect("the admin's email is printed");
    let password = printed_value(&printed, "password:").expect("its password is printed");
    assert_eq!(email, DEFAULT_ADMIN_EMAIL);
    assert_eq!(password.len(), 20, "{printed:?}");
    let res = first.login(&email, &password).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin", "{body}");
    assert_eq!(
        first.login(&email, "not-the-password-1").await.status(),
        401
    );
    first.stop();

    let second = Serve::start(dir, database_url).await;
    assert_eq!(second.login(&email, &password).await.status(), 200);
    let printed = second.stop();
    assert_eq!(printed_value(&printed, "password:"), None, "{printed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/new.db", dir.path().display());
    within_time_limit(first_start_prints_an_admin_that_logs_in(dir.path(), &url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_postgres_database() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("SKIPPED: PostgreSQL variant (set {POSTGRES_ENV})");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = create_postgres_database(&base).await;
    within_time_limit(first_start_prints_an_admin_that_logs_in(dir.path(), &url)).await;
    drop_postgres_database(&base, &name).await;
}
