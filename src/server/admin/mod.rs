//! What admins can do, shared by the REST API (`/api/v1/admin`) and the admin views' server
//! functions. Admins supervise: they manage accounts and read conversations, never edit them.
//! Every change is written to the audit log.

pub mod api_keys;
pub mod audit;
pub mod conversations;
mod dates;
pub mod usage;
pub mod users;

use crate::server::auth::AuthUser;

/// The admin acting, and from where (for the audit log).
pub struct Actor {
    pub user: AuthUser,
    pub ip: Option<String>,
}

/// Most items in one page.
pub const MAX_PAGE: i64 = 200;

fn page_limit(limit: Option<i64>) -> Result<i64, crate::error::AppError> {
    match limit.unwrap_or(50) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(crate::error::AppError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}
