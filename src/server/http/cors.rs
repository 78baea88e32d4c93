//! CORS: only the configured origins may call the API from a browser (none by default).
//! A preflight from any other origin is refused with 403.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::AppError;

#[derive(Clone)]
pub struct AllowedOrigins(pub Arc<Vec<String>>);

pub async fn cors(State(allowed): State<AllowedOrigins>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    let listed = origin
        .to_str()
        .is_ok_and(|o| allowed.0.iter().any(|a| a == o));
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !listed {
            let mut refused = AppError::Forbidden.into_response();
            refused
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("origin"));
            return refused;
        }
        let mut ok = StatusCode::NO_CONTENT.into_response();
        let headers = ok.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, accept"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
        return ok;
    }
    let mut response = next.run(request).await;
    if listed {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "x-conversation-id, x-user-message-id, x-assistant-message-id, retry-after",
            ),
        );
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
