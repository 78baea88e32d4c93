//! Per-request observation: a request id (kept from a sane `X-Request-Id`, or new), a tracing
//! span carrying it (so every log line of the request names it), one access-log line when the
//! response is over (a streamed answer included), and the request counter by matched route and
//! status. Never logs the query string, headers, cookies, tokens or bodies.

use std::{
    net::{IpAddr, SocketAddr},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use http_body::{Frame, SizeHint};
use tracing::Instrument;

use crate::server::{
    auth::{client_ip, request_user::RequestUser},
    metrics,
    state::AppState,
};

pub const REQUEST_ID: &str = "x-request-id";

pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let method = method_label(request.method()).to_owned();
    let route = route_of(&request);
    // Filled where the request is authenticated: its credentials are verified there, once.
    let user = RequestUser::default();
    if state.settings.logging.access_log {
        request.extensions_mut().insert(user.clone());
    }
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
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if !state.settings.logging.access_log {
        return response;
    }
    let line = AccessLine {
        id,
        user,
        ip,
        method,
        route,
        status,
        started,
        headers_after: started.elapsed(),
    };
    response.map(|inner| {
        Body::new(LoggedBody {
            inner,
            line: Some(line),
        })
    })
}

/// What the access log says about one request.
struct AccessLine {
    id: String,
    /// Read when the line is written: a page's server functions authenticate as it streams.
    user: RequestUser,
    ip: IpAddr,
    method: String,
    route: String,
    status: u16,
    started: Instant,
    headers_after: Duration,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl AccessLine {
    fn emit(self) {
        tracing::info!(
            target: "access",
            request_id = %self.id,
            user_id = self.user.get().unwrap_or("-"),
            ip = %self.ip,
            method = self.method,
            route = self.route,
            status = self.status,
            ttfb_ms = ms(self.headers_after),
            duration_ms = ms(self.started.elapsed()),
            "request"
        );
    }
}

/// The response body, unchanged; the access line is written when it is dropped (sent in
/// full, or the client went away), so a stream's line has the stream's whole duration.
struct LoggedBody {
    inner: Body,
    line: Option<AccessLine>,
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(line) = self.line.take() {
            line.emit();
        }
    }
}

/// The method, or `OTHER` for extension methods (metric labels stay a small, fixed set).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("OTHER", |m| m.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
        let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
    }

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
