//! The router and the small informational endpoints (`/`, `/api/version`, `/api/tags`,
//! `/api/ps`, `/api/show`).

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    catalog,
    handlers::{self, parse},
    options::Fault,
    state::Simulator,
    wire::{self, ShowRequest},
};

/// The Ollama version the simulator claims to be.
pub const VERSION: &str = "0.6.2";

/// All routes, sharing `sim`.
pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/", get(|| async { "Ollama is running" }))
        .route(
            "/api/version",
            get(|| async { Json(json!({ "version": VERSION })) }),
        )
        .route("/api/tags", get(tags))
        .route("/api/ps", get(ps))
        .route("/api/show", post(show))
        .route("/api/chat", post(handlers::chat))
        .route("/api/generate", post(handlers::generate))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found") })
        .with_state(sim)
}

async fn tags(State(sim): State<Simulator>) -> Json<Value> {
    let models: Vec<Value> = sim
        .options()
        .models
        .iter()
        .map(|m| catalog::tag_entry(m))
        .collect();
    Json(json!({ "models": models }))
}

async fn ps(State(sim): State<Simulator>) -> Json<Value> {
    let models: Vec<Value> = sim
        .loaded_models()
        .iter()
        .map(|(m, expires)| catalog::ps_entry(m, *expires))
        .collect();
    Json(json!({ "models": models }))
}

async fn show(State(sim): State<Simulator>, body: Bytes) -> Response {
    let req: ShowRequest = match parse(&body) {
        Ok(req) => req,
        Err(message) => return wire::error_response(StatusCode::BAD_REQUEST, message),
    };
    let Some(model) = req.model.or(req.name).filter(|m| !m.is_empty()) else {
        return wire::error_response(StatusCode::BAD_REQUEST, "model is required");
    };
    let opts = sim.options();
    if opts.fault == Some(Fault::ModelNotFound) || !catalog::exists(&opts.models, &model) {
        return wire::error_response(StatusCode::NOT_FOUND, catalog::not_found_message(&model));
    }
    Json(catalog::show(&model)).into_response()
}
