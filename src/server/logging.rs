//! Logs to stderr and, if configured, to a file.

use std::{fs::OpenOptions, path::Path, sync::Mutex};

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use super::config::LoggingSection;

/// Installs the global subscriber. `RUST_LOG` wins over `logging.level`.
pub fn init(config: &LoggingSection) -> anyhow::Result<()> {
    let level = config.level.to_ascii_lowercase();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},hyper=warn,sqlx=warn,tower_http=info")))?;
    let file_layer = match &config.file {
        Some(path) => {
            if let Some(parent) = Path::new(path).parent() {
                std::fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            Some(fmt::layer().with_ansi(false).with_writer(Mutex::new(file)))
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    Ok(())
}
