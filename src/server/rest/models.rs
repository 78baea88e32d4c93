//! `GET /api/v1/models`: what Ollama has installed.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::AppError,
    server::{auth::AuthUser, errors::ErrorBody, state::AppState},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Serialize, ToSchema)]
struct Model {
    /// The name to use as `model`, e.g. `qwen2.5:3b-instruct`.
    name: String,
    /// Bytes on disk.
    size: u64,
    family: Option<String>,
    /// e.g. `3.1B`.
    parameter_size: Option<String>,
    quantization_level: Option<String>,
    /// The server's default model.
    default: bool,
}

#[derive(Serialize, ToSchema)]
struct Models {
    items: Vec<Model>,
}

/// The models installed in Ollama.
#[utoipa::path(get, path = "/models", operation_id = "listModels", tag = "models",
    responses(
        (status = 200, body = Models),
        (status = 401, body = ErrorBody),
        (status = 503, description = "Ollama unreachable", body = ErrorBody),
    ))]
async fn list(State(state): State<AppState>, _user: AuthUser) -> Result<Json<Models>, AppError> {
    let installed = state.models.installed().await?;
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
                quantization_level: details.quantization_level,
            }
        })
        .collect();
    Ok(Json(Models { items }))
}
