//! A JSON body extractor whose rejections use the API's error shape.

use axum::extract::{FromRequest, Request, rejection::JsonRejection};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::validation("body", e.body_text()))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest(
                "expected Content-Type: application/json".into(),
            )),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// An optional JSON body: empty means `None`; anything else must parse.
pub fn optional<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Data => AppError::validation("body", e.to_string()),
            _ => AppError::BadRequest(e.to_string()),
        })
}

/// A query-string extractor whose rejections use the API's error shape (422).
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(e) => Err(AppError::validation("query", e.body_text())),
        }
    }
}
