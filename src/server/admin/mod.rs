//! What admins can do, shared by the REST API (`/api/v1/admin`) and the admin views' server
//! functions. Admins supervise: they manage accounts and read conversations, never edit them.
//! Every change is written to the audit log.

pub mod api_keys;
pub mod audit;
pub mod conversations;
mod dates;

pub use dates::month_start;
pub mod usage;
pub mod users;

use crate::server::auth::AuthUser;

/// The admin acting, and from where (for the audit log).
pub struct Actor {
    pub user: AuthUser,
    pub ip: Option<String>,
}

/// What an action was done to, as the audit log names it.
struct Target<'a> {
    kind: &'a str,
    id: &'a str,
    label: &'a str,
}

impl Actor {
    /// Writes one entry of the audit log for an action of this admin.
    async fn audit(
        &self,
        state: &crate::server::state::AppState,
        action: &str,
        target: Target<'_>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), crate::error::AppError> {
        crate::server::db::audit::record(
            &state.db,
            crate::server::db::audit::NewEntry {
                actor_id: &self.user.id,
                actor_email: &self.user.email,
                action,
                target_type: target.kind,
                target_id: target.id,
                target_label: target.label,
                before,
                after,
                ip: self.ip.clone(),
            },
        )
        .await
    }
}

fn page_limit(limit: Option<i64>) -> Result<i64, crate::error::AppError> {
    crate::server::db::page_size(limit, 50)
}
