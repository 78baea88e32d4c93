//! Service status for the UI's banner.

use leptos::prelude::*;

use crate::{error::AppError, model::HealthReport};

#[server(endpoint = "service_status")]
pub async fn service_status() -> Result<HealthReport, AppError> {
    use crate::server::{health, state::AppState};
    Ok(health::report(&AppState::from_context()?).await)
}
