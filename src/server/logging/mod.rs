//! Logs to standard output and, if configured, to a file rotated by size. JSON in prod (one
//! object per line, for journald/Loki/jq), readable text in dev (`logging.format` overrides).

mod rotate;

use std::sync::Mutex;

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer, fmt, layer::SubscriberExt, registry::LookupSpan, util::SubscriberInitExt,
};

pub use rotate::RotatingFile;

use super::config::{LogFormat, Settings};

/// Installs the global subscriber. `RUST_LOG` wins over `logging.level`.
pub fn init(settings: &Settings) -> anyhow::Result<()> {
    let config = &settings.logging;
    let level = config.level.to_ascii_lowercase();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},hyper=warn,sqlx=warn,tower_http=info")))?;
    let format = settings.log_format();
    // An empty `logging.file` (e.g. ENERGYAPP_LOGGING__FILE= for a one-off command) means none.
    let file_layer = match config.file.as_deref().filter(|f| !f.is_empty()) {
        Some(path) => {
            let file = RotatingFile::open(path, config.max_file_bytes, config.max_files)?;
            Some(layer(format, Mutex::new(file), false))
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer(format, std::io::stdout, true))
        .with(file_layer)
        .try_init();
    Ok(())
}

/// One output in the chosen format.
fn layer<S, W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => fmt::layer()
            .with_ansi(ansi && std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_writer(writer)
            .boxed(),
    }
}
