//! `GET /api/v1/models`: what Ollama has installed.

use axum::{Json, Router, extract::State, routing::get};
use serde::Serialize;

use crate::{
    error::AppError,
    server::{auth::AuthUser, state::AppState},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/models", get(list))
}

#[derive(Serialize)]
struct Model {
    name: String,
    size: u64,
    family: Option<String>,
    parameter_size: Option<String>,
    default: bool,
}

#[derive(Serialize)]
struct Models {
    items: Vec<Model>,
}

async fn list(State(state): State<AppState>, _user: AuthUser) -> Result<Json<Models>, AppError> {
    let installed = state.ollama.tags().await?;
    let items = installed
        .into_iter()
        .map(|m| {
            let details = m.details.unwrap_or_default();
            Model {
                default: m.name == state.settings.ollama.model,
                name: m.name,
                size: m.size,
                family: details.family,
                parameter_size: details.parameter_size,
            }
        })
        .collect();
    Ok(Json(Models { items }))
}
