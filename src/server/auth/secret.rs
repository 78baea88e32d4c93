//! The JWT signing secret: from config, or (dev only) generated once and kept under `data/`.

use std::{io::Write, path::Path};

use rand::Rng;

use crate::server::config::{RunEnv, Settings};

/// File the dev secret is kept in.
pub const DEV_SECRET_FILE: &str = "data/jwt_secret";

pub fn resolve(settings: &Settings) -> anyhow::Result<String> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.clone());
    }
    anyhow::ensure!(
        settings.app.env == RunEnv::Dev,
        "auth.jwt_secret is required in prod"
    );
    let path = Path::new(DEV_SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let secret: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(secret.as_bytes())?;
    tracing::info!("generated a development JWT secret in {DEV_SECRET_FILE}");
    Ok(secret)
}
