//! `GET /health`: is the service, its database and Ollama usable?

use std::time::Instant;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};

use super::state::AppState;
use crate::model::{HealthReport, OllamaHealth};

/// Checks the database and times a call to Ollama.
pub async fn report(state: &AppState) -> HealthReport {
    let (database, ollama) = tokio::join!(state.db.ping(), probe_ollama(state));
    HealthReport {
        status: if database {
            "ok".into()
        } else {
            "degraded".into()
        },
        version: env!("CARGO_PKG_VERSION").into(),
        database,
        ollama,
    }
}

async fn probe_ollama(state: &AppState) -> OllamaHealth {
    let started = Instant::now();
    let model = state.settings.ollama.model.clone();
    match state.ollama.tags().await {
        Ok(models) => {
            let installed = models.iter().any(|m| m.name == model);
            OllamaHealth {
                reachable: true,
                latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                error: (!installed)
                    .then(|| format!("model \"{model}\" is not installed in Ollama")),
                model,
            }
        }
        Err(err) => OllamaHealth {
            reachable: false,
            latency_ms: None,
            model,
            error: Some(err.to_string()),
        },
    }
}

/// 200 while the database answers (Ollama being down is reported, not fatal), 503 otherwise.
pub async fn handler(State(state): State<AppState>) -> impl IntoResponse {
    let report = report(&state).await;
    let status = if report.database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [("cache-control", "no-store")], Json(report))
}
