//! `GET /v1/models`: the installed models this caller may use.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use super::{OpenAiError, caller::Caller};
use crate::server::state::AppState;

pub async fn handler(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<Value>, OpenAiError> {
    let installed = state
        .models
        .installed()
        .await
        .map_err(crate::error::AppError::from)?;
    let data: Vec<Value> = installed
        .into_iter()
        .filter(|m| user.key.as_ref().is_none_or(|k| k.allows(&m.name)))
        .map(|m| {
            json!({
                "id": m.name,
                "object": "model",
                "created": 0,
                "owned_by": "energyapp",
            })
        })
        .collect();
    Ok(Json(json!({ "object": "list", "data": data })))
}
