//! Per-request observation: a request id (kept from a sane `X-Request-Id`, or new), a tracing
//! span carrying it (so every log line of the request names it), one access-log line, and the
//! request counter by matched route and status. Never logs the query string, headers, cookies,
//! tokens or bodies.

use std::{net::SocketAddr, time::Instant};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::server::{
    auth::{client_ip, cookies, extract::bearer},
    metrics,
    state::AppState,
};

pub const REQUEST_ID: &str = "x-request-id";

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let method = request.method().as_str().to_owned();
    let route = route_of(&request);
    let user_id = user_id(&state, request.headers());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or([127, 0, 0, 1].into());
    let ip = client_ip::resolve(
        peer,
        request.headers(),
        &state.settings.server.trusted_proxies,
    );
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    let status = response.status().as_u16();
    metrics::global().http_request(&method, &route, status);
    if state.settings.logging.access_log {
        tracing::info!(
            target: "access",
            request_id = %id,
            user_id = user_id.as_deref().unwrap_or("-"),
            %ip,
            method,
            route,
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The caller's `X-Request-Id` if it is short and plain, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
}

/// The route pattern (`/api/v1/conversations/{id}`), never the raw URL: bounded label values
/// and nothing private. Requests no route matched are static files or 404s.
fn route_of(request: &Request) -> String {
    if let Some(path) = request.extensions().get::<MatchedPath>() {
        return path.as_str().to_owned();
    }
    let path = request.uri().path();
    if path.starts_with("/pkg/") {
        "/pkg/*".into()
    } else {
        "(unmatched)".into()
    }
}

/// The account id of a valid access token (Bearer or session cookie), for the log only.
fn user_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = match bearer(headers) {
        Ok(Some(token)) => token,
        _ => cookies::read(headers, cookies::ACCESS_COOKIE)?,
    };
    state.jwt.verify(token).ok().map(|claims| claims.sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_callers_must_be_plain() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123_XYZ"));
        assert_eq!(request_id(&headers), "abc-123_XYZ");
        headers.insert(REQUEST_ID, HeaderValue::from_static("bad id\" with=stuff"));
        let fresh = request_id(&headers);
        assert_eq!(fresh.len(), 32, "{fresh}");
    }
}
