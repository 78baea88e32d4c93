//! `GET /health`: is the service, its database and Ollama usable? Ollama's side is what the
//! backends' health checks last saw (no request to Ollama per call, except for a backend not
//! checked yet), with each backend's state, queue and models.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};

use super::state::AppState;
use crate::model::{HealthReport, OllamaHealth};

/// Checks the database and reads the backends' state.
pub async fn report(state: &AppState) -> HealthReport {
    let (database, ()) = tokio::join!(state.db.ping(), state.backends.check_unknown());
    HealthReport {
        status: if database {
            "ok".into()
        } else {
            "degraded".into()
        },
        version: env!("CARGO_PKG_VERSION").into(),
        database,
        ollama: ollama_summary(state),
        backends: state.backends.reports(),
    }
}

/// Ollama's side alone: what the backends' checks last saw (a backend not checked yet is
/// asked now).
pub async fn ollama(state: &AppState) -> OllamaHealth {
    state.backends.check_unknown().await;
    ollama_summary(state)
}

/// All backends together: reachable when one is healthy; an error when none is, or when no
/// healthy backend has the default model.
fn ollama_summary(state: &AppState) -> OllamaHealth {
    let model = state.settings.ollama.model.clone();
    let healthy: Vec<_> = state.backends.healthy().collect();
    if healthy.is_empty() {
        return OllamaHealth {
            reachable: false,
            latency_ms: None,
            model,
            error: Some(state.backends.why_unavailable().to_string()),
        };
    }
    let installed = healthy.iter().any(|b| b.find_model(&model).is_some());
    OllamaHealth {
        reachable: true,
        latency_ms: healthy
            .iter()
            .filter_map(|b| b.latency_ms())
            .min_by(f64::total_cmp),
        error: (!installed).then(|| format!("model \"{model}\" is not installed in Ollama")),
        model,
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
