//! `GET /metrics`: 404 unless `metrics.enabled`; then `Authorization: Bearer <metrics.token>`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use super::render::{Gauges, render};
use crate::{error::AppError, server::state::AppState};

pub async fn handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = &state.settings.metrics;
    if !config.enabled {
        return AppError::NotFound("not found".into()).into_response();
    }
    if let Some(expected) = &config.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compare digests: equal length, no early exit on the secret's bytes.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
            return AppError::Unauthorized.into_response();
        }
    }
    let body = render(super::global(), &Gauges::of(&state));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
