//! Typed settings: `config/settings.yaml`, then `.env`, then `ENERGYAPP_*` variables
//! (nested keys joined by `__`), validated once at start.

use std::{net::SocketAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Yaml},
};
use serde::{Deserialize, Serialize};

/// Where the settings file is looked for unless `ENERGYAPP_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_FILE: &str = "config/settings.yaml";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub app: AppSection,
    pub server: ServerSection,
    pub database: DatabaseSection,
    pub ollama: OllamaSection,
    pub chat: ChatSection,
    pub auth: AuthSection,
    pub logging: LoggingSection,
    pub metrics: MetricsSection,
    pub demo: DemoSection,
    /// `ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL`: the admin account ensured at start.
    #[serde(skip_serializing)]
    pub bootstrap_admin_email: Option<String>,
    /// `ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD`.
    #[serde(skip_serializing)]
    pub bootstrap_admin_password: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunEnv {
    Dev,
    Prod,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSection {
    pub name: String,
    pub env: RunEnv,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// host:port to listen on.
    pub bind: SocketAddr,
    /// Seconds in-flight answers get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Largest request body accepted (bytes); 413 beyond.
    pub max_body_bytes: usize,
    /// A client that reads nothing of a response for this long is disconnected (its buffers
    /// are full: a stream it was the only listener of then ends `interrupted`).
    pub write_stall_timeout_secs: u64,
    /// Origins allowed to call the API from a browser (CORS). None by default.
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (client addresses for throttling).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL: a turn's rows, the checkpoints of answers in progress and answers' ends are
    /// committed without waiting for the log to reach the disk (`synchronous_commit` off for
    /// those transactions only). They are visible to every instance at once; a crash of
    /// PostgreSQL or of its machine can lose the last fraction of a second of them. `false`:
    /// they wait, like every other write.
    pub quick_commits: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OllamaSection {
    /// The Ollama server when there is only one (used when `hosts` is empty).
    pub host: String,
    /// Several Ollama servers: requests go to the least busy healthy one that has the model.
    /// A list of URLs or `{url, max_parallel}` entries; in the environment, comma separated
    /// (`ENERGYAPP_OLLAMA__HOSTS=http://a:11434,http://b:11434`). Empty: `host` alone.
    #[serde(deserialize_with = "super::ollama_hosts::deserialize")]
    pub hosts: Vec<super::ollama_hosts::OllamaHost>,
    pub model: String,
    pub temperature: f32,
    pub top_p: f32,
    pub num_ctx: u32,
    pub keep_alive: String,
    pub connect_timeout_secs: u64,
    /// Longest wait for the next chunk before the answer is failed.
    pub idle_timeout_secs: u64,
    /// Answers generated at once by this Ollama (set it to Ollama's `OLLAMA_NUM_PARALLEL`);
    /// the rest wait in line, first come first served, and are told their position.
    pub max_parallel: usize,
    /// Longest line of waiting requests; beyond it new ones get 503 with Retry-After.
    pub max_queue: usize,
    /// Seconds between health checks of a healthy backend; an unhealthy one is checked
    /// sooner (after 1 s, doubling up to this).
    pub health_interval_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatSection {
    pub system_prompt: String,
    pub max_message_chars: usize,
    /// Save a streaming answer at least every this many tokens ...
    pub checkpoint_tokens: usize,
    /// ... or this many milliseconds.
    pub checkpoint_ms: u64,
    /// An answer nobody is watching keeps generating this long, so that a page reload (or
    /// another tab) can re-attach to it; then it is cancelled and stored `interrupted`.
    pub reattach_grace_ms: u64,
    /// History sent to Ollama is trimmed, oldest first, to about this many tokens
    /// (estimated from characters); 0 means `ollama.num_ctx` minus room for the answer.
    pub context_budget_tokens: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// HS256 signing secret (at least 32 bytes). Required in prod; generated under `data/` in dev.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<String>,
    pub issuer: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_days: i64,
    pub bcrypt_cost: u32,
    /// Cookies marked `Secure`; defaults to true outside dev.
    pub cookie_secure: Option<bool>,
    /// Failed logins for one account before it is locked for `login_lockout_secs`.
    pub login_max_failures: u32,
    /// Failed logins from one client address before it is locked.
    pub login_max_failures_per_ip: u32,
    pub login_lockout_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSection {
    pub level: String,
    /// `json` or `text`; by default JSON when `app.env` is prod, readable text in dev.
    pub format: Option<LogFormat>,
    /// Optional file to append logs to, besides standard output.
    pub file: Option<String>,
    /// The file is rotated (`app.log` -> `app.log.1` -> ...) when it would grow past this.
    pub max_file_bytes: u64,
    /// Rotated files kept besides the current one.
    pub max_files: usize,
    /// One line per HTTP request (request id, user id, method, route, status, duration).
    pub access_log: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// `GET /metrics` (Prometheus text format). Off by default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    pub enabled: bool,
    /// Bearer token the scraper must send (required when enabled, at least 16 characters).
    #[serde(skip_serializing)]
    pub token: Option<String>,
}

/// The built-in Ollama simulator used by `serve --demo`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSection {
    pub tokens: usize,
    pub token_delay_ms: u64,
    pub first_token_delay_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            app: AppSection {
                name: "energyapp-llm".into(),
                env: RunEnv::Dev,
            },
            server: ServerSection {
                bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
                shutdown_grace_secs: 10,
                max_body_bytes: 256 * 1024,
                write_stall_timeout_secs: 30,
                cors_origins: Vec::new(),
                trusted_proxies: vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()],
            },
            database: DatabaseSection {
                url: "sqlite://data/energyapp.db".into(),
                max_connections: 16,
                quick_commits: true,
            },
            ollama: OllamaSection {
                host: "http://127.0.0.1:11434".into(),
                hosts: Vec::new(),
                model: "qwen2.5:3b-instruct".into(),
                temperature: 0.6,
                top_p: 0.9,
                num_ctx: 4096,
                keep_alive: "5m".into(),
                connect_timeout_secs: 5,
                idle_timeout_secs: 120,
                max_parallel: 1,
                max_queue: 512,
                health_interval_secs: 10,
            },
            chat: ChatSection {
                system_prompt: "Eres el asistente privado de EnergyApp. Responde de forma clara y \
                                concisa, en el idioma de la pregunta."
                    .into(),
                max_message_chars: 32_000,
                checkpoint_tokens: 64,
                checkpoint_ms: 2_000,
                reattach_grace_ms: 5_000,
                context_budget_tokens: 0,
            },
            auth: AuthSection {
                jwt_secret: None,
                issuer: "energyapp-llm".into(),
                access_ttl_secs: 900,
                refresh_ttl_days: 30,
                bcrypt_cost: 12,
                cookie_secure: None,
                login_max_failures: 5,
                login_max_failures_per_ip: 20,
                login_lockout_secs: 300,
            },
            logging: LoggingSection {
                level: "info".into(),
                format: None,
                file: None,
                max_file_bytes: 50 * 1024 * 1024,
                max_files: 5,
                access_log: true,
            },
            metrics: MetricsSection {
                enabled: false,
                token: None,
            },
            demo: DemoSection {
                tokens: 60,
                token_delay_ms: 40,
                first_token_delay_ms: 300,
            },
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
        }
    }
}

impl Default for AppSection {
    fn default() -> Self {
        Settings::default().app
    }
}
impl Default for ServerSection {
    fn default() -> Self {
        Settings::default().server
    }
}
impl Default for DatabaseSection {
    fn default() -> Self {
        Settings::default().database
    }
}
impl Default for OllamaSection {
    fn default() -> Self {
        Settings::default().ollama
    }
}
impl Default for ChatSection {
    fn default() -> Self {
        Settings::default().chat
    }
}
impl Default for AuthSection {
    fn default() -> Self {
        Settings::default().auth
    }
}
impl Default for LoggingSection {
    fn default() -> Self {
        Settings::default().logging
    }
}
impl Default for MetricsSection {
    fn default() -> Self {
        Settings::default().metrics
    }
}
impl Default for DemoSection {
    fn default() -> Self {
        Settings::default().demo
    }
}

/// A setting that is present but wrong; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Loads `.env` (if present), the YAML file (if present) and `ENERGYAPP_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let _ = dotenvy::dotenv();
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("ENERGYAPP_CONFIG").map(Into::into))
            .unwrap_or_else(|| DEFAULT_CONFIG_FILE.into());
        if file.is_some() && !path.exists() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        Self::figment(&path)
            .extract::<Settings>()
            .map_err(|e| ConfigError(describe(e)))?
            .validated()
    }

    fn figment(path: &Path) -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Yaml::file(path))
            .merge(Env::prefixed("ENERGYAPP_").filter(is_setting).split("__"))
    }

    /// Checks values that types alone cannot.
    pub fn validated(self) -> Result<Settings, ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return bad("database.url", "must start with sqlite:// or postgres://");
        }
        if let Some(why) = super::ollama_hosts::url_problem(&self.ollama.host) {
            return bad("ollama.host", why);
        }
        if let Err(why) = super::ollama_hosts::check(&self.ollama.hosts) {
            return bad("ollama.hosts", &why);
        }
        if self.ollama.health_interval_secs == 0 {
            return bad("ollama.health_interval_secs", "must be at least 1");
        }
        if self.ollama.model.trim().is_empty() {
            return bad("ollama.model", "must not be empty");
        }
        if !(0.0..=2.0).contains(&self.ollama.temperature) {
            return bad("ollama.temperature", "must be between 0 and 2");
        }
        if !(0.0..=1.0).contains(&self.ollama.top_p) {
            return bad("ollama.top_p", "must be between 0 and 1");
        }
        if self.ollama.idle_timeout_secs == 0 {
            return bad("ollama.idle_timeout_secs", "must be at least 1");
        }
        if self.ollama.max_parallel == 0 {
            return bad("ollama.max_parallel", "must be at least 1");
        }
        if self.chat.context_budget_tokens != 0 && self.chat.context_budget_tokens < 256 {
            return bad(
                "chat.context_budget_tokens",
                "must be 0 (automatic) or at least 256",
            );
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return bad("auth.bcrypt_cost", "must be between 4 and 31");
        }
        if self.auth.access_ttl_secs < 1 {
            return bad("auth.access_ttl_secs", "must be at least 1");
        }
        if let Some(secret) = &self.auth.jwt_secret {
            if secret.len() < 32 {
                return bad("auth.jwt_secret", "must be at least 32 characters");
            }
        } else if self.app.env == RunEnv::Prod {
            return bad(
                "auth.jwt_secret",
                "is required when app.env is prod (set ENERGYAPP_AUTH__JWT_SECRET)",
            );
        }
        if self.auth.login_max_failures == 0 || self.auth.login_max_failures_per_ip == 0 {
            return bad("auth.login_max_failures", "must be at least 1");
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.write_stall_timeout_secs == 0 {
            return bad("server.write_stall_timeout_secs", "must be at least 1");
        }
        if let Some(origin) =
            self.server.cors_origins.iter().find(|o| {
                !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/')
            })
        {
            return bad(
                "server.cors_origins",
                &format!("{origin:?} is not an origin like https://app.example.com"),
            );
        }
        if self.chat.max_message_chars == 0 {
            return bad("chat.max_message_chars", "must be at least 1");
        }
        if self.metrics.enabled && self.metrics.token.as_ref().is_none_or(|t| t.len() < 16) {
            return bad(
                "metrics.token",
                "must be set (at least 16 characters) when metrics.enabled is true \
                 (ENERGYAPP_METRICS__TOKEN)",
            );
        }
        if self.logging.file.is_some() && self.logging.max_file_bytes < 4096 {
            return bad("logging.max_file_bytes", "must be at least 4096");
        }
        if self.bootstrap_admin_email.is_some() != self.bootstrap_admin_password.is_some() {
            return bad(
                "ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL",
                "ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL and ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD go together",
            );
        }
        Ok(self)
    }

    /// The Ollama backends in use: `ollama.hosts`, or `ollama.host` alone; each with its limit
    /// of answers generated at once (its own `max_parallel`, or `ollama.max_parallel`).
    pub fn ollama_backends(&self) -> Vec<super::ollama_hosts::BackendSettings> {
        super::ollama_hosts::backends(&self.ollama)
    }

    /// Tokens of history sent to Ollama (see `chat.context_budget_tokens`).
    pub fn context_budget_tokens(&self) -> usize {
        match self.chat.context_budget_tokens {
            0 => (self.ollama.num_ctx as usize * 3 / 4).max(256),
            n => n,
        }
    }

    /// The log format in effect (JSON in prod unless set).
    pub fn log_format(&self) -> LogFormat {
        self.logging.format.unwrap_or(match self.app.env {
            RunEnv::Prod => LogFormat::Json,
            RunEnv::Dev => LogFormat::Text,
        })
    }

    pub fn cookie_secure(&self) -> bool {
        self.auth
            .cookie_secure
            .unwrap_or(self.app.env != RunEnv::Dev)
    }
}

/// Top-level sections; other `ENERGYAPP_*` variables (e.g. for tests) are not settings.
const SECTIONS: [&str; 9] = [
    "app", "server", "database", "ollama", "chat", "auth", "logging", "metrics", "demo",
];

/// Whether an `ENERGYAPP_*` variable (prefix removed) is a setting.
fn is_setting(key: &figment::value::UncasedStr) -> bool {
    let key = key.as_str().to_ascii_lowercase();
    let section = key.split("__").next().unwrap_or("");
    SECTIONS.contains(&section) || key.starts_with("bootstrap_admin_")
}

fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("{key}: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_yaml(yaml: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.yaml");
        std::fs::write(&path, yaml).unwrap();
        Settings::figment(&path)
            .extract::<Settings>()
            .map_err(|e| ConfigError(describe(e)))?
            .validated()
    }

    #[test]
    fn defaults_are_safe() {
        let s = Settings::default().validated().unwrap();
        assert_eq!(s.server.bind.ip().to_string(), "127.0.0.1");
        assert!(s.database.url.starts_with("sqlite:"));
        assert!(!s.cookie_secure());
    }

    #[test]
    fn seed_yaml_is_accepted() {
        let s = load_yaml("app:\n  name: energyapp-llm\n  env: dev\nollama:\n  host: http://127.0.0.1:11434\n  model: qwen2.5:3b-instruct\n  temperature: 0.6\n  top_p: 0.9\nlogging:\n  level: INFO\n  file: ./logs/app.log\n").unwrap();
        assert_eq!(s.ollama.temperature, 0.6);
        assert_eq!(s.logging.file.as_deref(), Some("./logs/app.log"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load_yaml("server:\n  bind: not-an-address\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.bind"), "{err}");
        let err = load_yaml("ollama:\n  temperature: 7\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ollama.temperature"), "{err}");
        let err = load_yaml("ollama:\n  tempertaure: 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tempertaure"), "{err}");
    }

    #[test]
    fn the_shipped_settings_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
        let s = Settings::figment(&path)
            .extract::<Settings>()
            .unwrap()
            .validated()
            .unwrap();
        assert_eq!(s.ollama.model, "qwen2.5:3b-instruct");
        assert_eq!(s.auth.access_ttl_secs, 900);
    }

    #[test]
    fn the_production_settings_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/settings.yaml");
        let mut s = Settings::figment(&path).extract::<Settings>().unwrap();
        assert_eq!(s.app.env, RunEnv::Prod);
        assert!(s.metrics.enabled && s.logging.file.is_some());
        // Its secrets come from the env file.
        s.auth.jwt_secret = Some("0123456789abcdef0123456789abcdef".into());
        s.metrics.token = Some("0123456789abcdef".into());
        let s = s.validated().unwrap();
        assert_eq!(s.log_format(), LogFormat::Json);
    }

    #[test]
    fn only_known_sections_are_read_from_the_environment() {
        let key = |k: &str| is_setting(figment::value::UncasedStr::new(k));
        assert!(key("OLLAMA__MODEL") && key("server__bind") && key("BOOTSTRAP_ADMIN_EMAIL"));
        assert!(!key("TEST_POSTGRES_URL") && !key("CONFIG"));
    }

    #[test]
    fn metrics_need_a_token_and_prod_logs_are_json() {
        let err = load_yaml("metrics:\n  enabled: true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.token"), "{err}");
        let ok = load_yaml("metrics:\n  enabled: true\n  token: 0123456789abcdef\n").unwrap();
        assert!(ok.metrics.enabled);
        assert_eq!(ok.log_format(), LogFormat::Text);
        let prod =
            load_yaml("app:\n  env: prod\nauth:\n  jwt_secret: 0123456789abcdef0123456789abcdef\n")
                .unwrap();
        assert_eq!(prod.log_format(), LogFormat::Json);
    }

    #[test]
    fn prod_without_secret_refuses() {
        let err = load_yaml("app:\n  env: prod\n").unwrap_err().to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
        let secure =
            load_yaml("app:\n  env: prod\nauth:\n  jwt_secret: 0123456789abcdef0123456789abcdef\n")
                .unwrap();
        assert!(secure.cookie_secure());
    }
}
