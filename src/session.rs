//! Keeping the browser's session alive: when a call says the access token expired, refresh
//! it (httpOnly cookie) and try once more; when the session really ended, go to `/login`.

use std::future::Future;

use crate::error::AppError;

/// Runs `call`; on `Unauthorized` in the browser, refreshes the session and runs it again.
pub async fn with_refresh<T, F, Fut>(call: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let first = call().await;
    #[cfg(feature = "hydrate")]
    if matches!(first, Err(AppError::Unauthorized)) {
        if crate::client::session::refresh().await {
            return call().await;
        }
        crate::client::session::go_to_login();
    }
    first
}
