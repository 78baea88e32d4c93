//! What every handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio::sync::watch;

use super::{
    auth::{jwt::JwtKeys, throttle::LoginThrottle},
    backends::{Backends, ModelCatalog},
    chat::{
        checkpoints::Checkpoints, registry::Generations, settling::Settling,
        turn_writer::TurnWriter,
    },
    config::Settings,
    db::Db,
};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The site bundle pages load (`None`: the site was not built).
    pub bundle: Option<super::http::assets::Bundle>,
    pub settings: Arc<Settings>,
    pub db: Db,
    /// The Ollama backends, each with its generation capacity, line and health.
    pub backends: Backends,
    /// Installed models, across the healthy backends.
    pub models: ModelCatalog,
    pub jwt: Arc<JwtKeys>,
    pub throttle: Arc<LoginThrottle>,
    /// Answers being generated now (one per conversation, stoppable).
    pub generations: Generations,
    /// Checkpoints of streaming answers, written in batches.
    pub checkpoints: Checkpoints,
    /// The turns' first rows (question, empty answer), written in groups on SQLite.
    pub turns: TurnWriter,
    /// Answers announced as ended whose final write has not landed yet (reads wait for it).
    pub settling: Settling,
    /// Requests per API key in the last minute.
    pub key_limits: super::auth::api_keys::KeyRateLimiter,
    /// Several instances on one PostgreSQL database: how they reach each other's answers
    /// (none on SQLite).
    pub cluster: Option<super::cluster::Cluster>,
    /// Becomes `true` when in-flight answers must stop (end of the shutdown grace period).
    pub shutdown: watch::Receiver<bool>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The state, from inside a server function.
    pub fn from_context() -> Result<AppState, crate::error::AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the Leptos context");
            crate::error::AppError::Internal
        })
    }
}
