//! The HTTP service: routes, headers, listener and graceful shutdown.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, header},
    routing::get,
    serve::ListenerExt,
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::{net::TcpListener, sync::watch};
use tower_http::set_header::SetResponseHeaderLayer;

use super::{health, rest, state::AppState};
use crate::app::{App, shell};

/// Largest request body accepted.
const BODY_LIMIT: usize = 256 * 1024;

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/health", get(health::handler))
        .nest("/api/v1", rest::router())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
}

/// Binds the listener (TCP_NODELAY on every connection, so tokens leave at once).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `stop` resolves; then stops accepting, lets in-flight answers run for `grace`,
/// and after that tells them to end (they are stored as interrupted).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    abort: watch::Sender<bool>,
    grace: Duration,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
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
