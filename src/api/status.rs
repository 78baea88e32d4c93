//! Service status for the UI's banner.

use leptos::prelude::*;

use crate::{error::AppError, model::HealthReport};

#[server(endpoint = "service_status")]
pub async fn service_status() -> Result<HealthReport, AppError> {
    use crate::server::{health, server_fn_context::ServerFnContext};
    let cx = ServerFnContext::get()?;
    Ok(health::report(&cx.state).await)
}
