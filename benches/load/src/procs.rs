//! The processes under test: the Ollama simulator and the release server, each started fresh
//! on loopback, with the settings a scenario needs, and killed when dropped.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicU16, Ordering},
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

use crate::{
    error::{BenchError, Result},
    proc_stats,
};

/// Where the release build is.
#[derive(Clone, Debug)]
pub struct Build {
    pub bin: PathBuf,
    pub site_root: PathBuf,
}

/// The account every scenario signs in with.
pub const ADMIN_EMAIL: &str = "bench@example.com";
pub const ADMIN_PASSWORD: &str = "bench-password-123";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// Ports 3400-3499; each server gets a new one so nothing waits on a closing socket.
static NEXT_PORT: AtomicU16 = AtomicU16::new(3402);
pub const SIMULATOR_PORT: u16 = 3401;

fn next_port() -> u16 {
    let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
    if port >= 3499 {
        NEXT_PORT.store(3402, Ordering::Relaxed);
    }
    port
}

/// `energyapp-llm ollama-sim`; each request sets its own tokens and delays with a
/// `[sim ...]` directive in the prompt.
pub struct Simulator {
    child: Child,
    pub url: String,
}

impl Simulator {
    pub async fn start(build: &Build) -> Result<Simulator> {
        let bind = format!("127.0.0.1:{SIMULATOR_PORT}");
        let child = Command::new(&build.bin)
            .args(["ollama-sim", "--bind", &bind, "--tokens", "100"])
            .args(["--token-delay-ms", "20"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(BenchError::io(format!("starting {}", build.bin.display())))?;
        let url = format!("http://{bind}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !http
            .get(format!("{url}/api/tags"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if Instant::now() > deadline {
                return Err(BenchError::Server(format!(
                    "the simulator did not answer on {bind}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Simulator { child, url })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `None`: a new SQLite file in the server's temporary folder.
    pub database_url: Option<String>,
    pub bcrypt_cost: u32,
    /// More `ENERGYAPP_*` settings.
    pub env: Vec<(String, String)>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            database_url: None,
            bcrypt_cost: 12,
            env: Vec::new(),
        }
    }
}

/// A running `energyapp-llm serve` (killed when dropped).
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    pub database_url: String,
    dir: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts a server in a new temporary folder; returns it with the time from exec to the
    /// first healthy `/health`.
    pub async fn start(
        build: &Build,
        sim: &Simulator,
        config: &ServerConfig,
    ) -> Result<(Server, Duration)> {
        let port = next_port();
        let dir =
            std::env::temp_dir().join(format!("energyapp-bench-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(BenchError::io("temporary folder"))?;
        let database_url = config
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
        let started = Self::start_in(build, sim, config, dir.clone(), database_url, port).await;
        if started.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        started
    }

    /// Starts again on the same database (and folder), to time a start on existing data.
    pub async fn restart(
        self,
        build: &Build,
        sim: &Simulator,
        config: &ServerConfig,
    ) -> Result<(Server, Duration)> {
        let (dir, database_url) = (self.dir.clone(), self.database_url.clone());
        self.kill().await;
        Self::start_in(build, sim, config, dir, database_url, next_port()).await
    }

    async fn start_in(
        build: &Build,
        sim: &Simulator,
        config: &ServerConfig,
        dir: PathBuf,
        database_url: String,
        port: u16,
    ) -> Result<(Server, Duration)> {
        let bind = format!("127.0.0.1:{port}");
        let log = dir.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(BenchError::io("server log"))?;
        let log_err = log_file.try_clone().map_err(BenchError::io("server log"))?;
        let mut command = Command::new(&build.bin);
        command
            .arg("serve")
            .current_dir(&dir)
            .env("ENERGYAPP_DATABASE__URL", &database_url)
            .env("ENERGYAPP_SERVER__BIND", &bind)
            .env("ENERGYAPP_OLLAMA__HOST", &sim.url)
            // The bench measures the relay, not the line: every answer generates at once.
            .env("ENERGYAPP_OLLAMA__MAX_PARALLEL", "10000")
            .env("ENERGYAPP_OLLAMA__MAX_QUEUE", "10000")
            .env("ENERGYAPP_AUTH__JWT_SECRET", JWT_SECRET)
            .env(
                "ENERGYAPP_AUTH__BCRYPT_COST",
                config.bcrypt_cost.to_string(),
            )
            .env("ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LEPTOS_SITE_ROOT", absolute(&build.site_root))
            .env("RUST_LOG", "warn")
            .envs(config.env.iter().map(|(k, v)| (k, v)))
            .stdout(log_file)
            .stderr(log_err)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(BenchError::io(format!("starting {}", build.bin.display())))?;
        let pid = child.id().unwrap_or_default();
        let base = format!("http://{bind}");
        let http = reqwest::Client::new();
        let deadline = started + Duration::from_secs(30);
        loop {
            let healthy = http
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(BenchError::Server(format!(
                    "exited ({status}) before it was healthy:\n{}",
                    tail(&log)
                )));
            }
            if Instant::now() > deadline {
                return Err(BenchError::Server(format!(
                    "not healthy after 30 s:\n{}",
                    tail(&log)
                )));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = started.elapsed();
        let server = Server {
            child,
            pid,
            base,
            database_url,
            dir,
            log,
        };
        Ok((server, elapsed))
    }

    /// `VmRSS` and `VmHWM` in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        proc_stats::memory_kib(self.pid).unwrap_or_default()
    }

    pub fn cpu_time(&self) -> Duration {
        proc_stats::cpu_time(self.pid).unwrap_or_default()
    }

    /// The last lines of the server's log (for error messages).
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Stops the server as an operator would (SIGTERM) and waits until it has exited: by then
    /// it has finished every write it had started.
    pub async fn terminate(&mut self) -> Result<()> {
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .map_err(BenchError::io("kill -TERM"))?;
        if !sent.success() {
            return Err(BenchError::Server(format!(
                "kill -TERM {}: {sent}",
                self.pid
            )));
        }
        let exited = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .map_err(|_| BenchError::Server("no exit 30 s after SIGTERM".into()))?
            .map_err(BenchError::io("waiting for the server"))?;
        if !exited.success() {
            return Err(BenchError::Server(format!(
                "exited with {exited} after SIGTERM"
            )));
        }
        Ok(())
    }

    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Stops the server and removes its folder.
    pub async fn stop(self) {
        let dir = self.dir.clone();
        self.kill().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
