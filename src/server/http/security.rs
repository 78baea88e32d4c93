//! Security headers, the page's Content-Security-Policy, and panics turned into 500s.

use std::any::Any;

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::prelude::use_context;

use crate::error::AppError;

/// Sent with every response that does not set its own (JSON, files, errors).
pub const BASELINE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The CSP of a rendered page: our own scripts (the inline boot script by nonce), our WASM,
/// our styles, nothing inline otherwise, no framing.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Runs in the context of every page render: sets the CSP with this request's nonce.
pub fn set_page_csp() {
    let nonce = leptos::nonce::use_nonce();
    let options = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(options)) = (nonce, options)
        && let Ok(value) = HeaderValue::from_str(&page_csp(nonce.as_inner()))
    {
        options.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Server functions (the UI's calls, under `/api/` but not `/api/v1/`) authenticate by cookie,
/// so a call from another site is refused before it runs (no CSRF, login and logout included).
pub async fn server_fns_same_site(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let server_fn = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    if server_fn
        && let Err(err) =
            crate::server::auth::extract::require_same_site(request.method(), request.headers())
    {
        return err.into_response();
    }
    next.run(request).await
}

/// A handler that panicked answers 500 with the JSON error shape; the process carries on.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "a request handler panicked");
    AppError::Internal.into_response()
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, http::Request, routing::get};
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new()
            .route("/", get(boom))
            .layer(CatchPanicLayer::custom(panic_response));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "internal");
    }

    #[test]
    fn page_csp_allows_only_our_scripts() {
        let csp = page_csp("abc");
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
