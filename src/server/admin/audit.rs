//! Reading the audit log (there is no way to change it).

use super::{dates, page_limit};
use crate::{
    admin_model::{AuditFilter, AuditPage},
    error::AppError,
    server::{
        db::{Cursor, audit},
        state::AppState,
    },
};

pub async fn list(state: &AppState, filter: &AuditFilter) -> Result<AuditPage, AppError> {
    let limit = page_limit(filter.limit)?;
    let range = dates::range(filter.from.as_deref(), filter.to.as_deref())?;
    let after = Cursor::param(filter.cursor.as_deref())?;
    let clean = AuditFilter {
        actor_id: filter.actor_id.clone().filter(|a| !a.is_empty()),
        action: filter.action.clone().filter(|a| !a.is_empty()),
        target_id: filter.target_id.clone().filter(|a| !a.is_empty()),
        ..AuditFilter::default()
    };
    let (items, next) = audit::page(&state.db, &clean, range, after.as_ref(), limit).await?;
    Ok(AuditPage {
        items,
        next_cursor: next.map(|c| c.encode()),
    })
}
