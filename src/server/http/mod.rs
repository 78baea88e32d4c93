//! The HTTP service: routes, headers, listener and graceful shutdown.

pub mod assets;
mod cors;
mod language;
mod observe;
mod security;
mod write_stall;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, header},
    middleware,
    routing::get,
    serve::ListenerExt,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::{net::TcpListener, sync::watch};
use tower_http::{catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer};

use super::{health, metrics, rest, state::AppState};
use crate::app::{App, shell};

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let allowed = cors::AllowedOrigins(Arc::new(state.settings.server.cors_origins.clone()));
    let bundle = match &state.bundle {
        Some(bundle) => bundle.routes(super::startup::PKG_DIR),
        None => Router::new(),
    };
    Router::new()
        .merge(bundle)
        .route("/health", get(health::handler))
        .route("/metrics", get(metrics::handler))
        .nest("/api/v1", rest::router())
        .nest("/v1", super::openai::router())
        .leptos_routes_with_context(
            &state,
            routes,
            || {
                security::set_page_csp();
                language::provide_for_page();
                super::server_fn_context::RequestCaller::provide();
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(DefaultBodyLimit::max(state.settings.server.max_body_bytes))
        .layer(middleware::from_fn(security::server_fns_same_site))
        .layer(middleware::from_fn_with_state(allowed, cors::cors))
        .layer(header_default(
            header::CONTENT_SECURITY_POLICY,
            security::BASELINE_CSP,
        ))
        .layer(header_default(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_default(header::REFERRER_POLICY, "same-origin"))
        .layer(header_default(header::X_FRAME_OPTIONS, "DENY"))
        .layer(CatchPanicLayer::custom(security::panic_response))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

fn header_default(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Binds the listener (TCP_NODELAY on every connection, so tokens leave at once).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `stop` resolves; then stops accepting, lets in-flight answers run for `grace`,
/// and after that tells them to end (they are stored as interrupted). A connection whose
/// writes wait longer than `write_stall` (the client stopped reading) is closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    abort: watch::Sender<bool>,
    grace: Duration,
    write_stall: Duration,
) -> std::io::Result<()> {
    let listener = write_stall::StallGuardListener::new(listener, write_stall).tap_io(|io| {
        let _ = io.get_ref().set_nodelay(true);
    });
    let (stopping_tx, mut stopping_rx) = watch::channel(false);
    let shutdown = async move {
        stop.await;
        let _ = stopping_tx.send(true);
    };
    tokio::spawn(async move {
        if stopping_rx.wait_for(|s| *s).await.is_ok() {
            tracing::info!(
                grace_secs = grace.as_secs(),
                "shutting down: waiting for answers in flight"
            );
            tokio::time::sleep(grace).await;
            let _ = abort.send(true);
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
