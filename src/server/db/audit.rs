//! The audit log: written once per admin action, read by admins; never updated or deleted.

use sqlx::Row;

use super::{Cursor, Db, new_id, now};
use crate::{
    admin_model::{AuditEntry, AuditFilter},
    error::AppError,
};

/// What an admin did.
pub struct NewEntry<'a> {
    pub actor_id: &'a str,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub target_label: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

pub async fn record(db: &Db, entry: NewEntry<'_>) -> Result<(), AppError> {
    sqlx::query(
        "insert into audit_log (id, actor_id, actor_email, action, target_type, target_id, \
         target_label, before_json, after_json, ip, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new_id())
    .bind(entry.actor_id)
    .bind(entry.actor_email)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(entry.target_label)
    .bind(entry.before.map(|v| v.to_string()))
    .bind(entry.after.map(|v| v.to_string()))
    .bind(entry.ip)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// A page of entries, newest first.
pub async fn page(
    db: &Db,
    filter: &AuditFilter,
    range: (Option<String>, Option<String>),
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<Cursor>), AppError> {
    let rows = sqlx::query(
        "select id, actor_id, actor_email, action, target_type, target_id, target_label, \
         before_json, after_json, ip, created_at from audit_log \
         where ($1 is null or actor_id = $1) and ($2 is null or action = $2) \
         and ($3 is null or target_id = $3) \
         and ($4 is null or created_at >= $4) and ($5 is null or created_at < $5) \
         and ($6 is null or created_at < $6 or (created_at = $6 and id < $7)) \
         order by created_at desc, id desc limit $8",
    )
    .bind(filter.actor_id.as_deref())
    .bind(filter.action.as_deref())
    .bind(filter.target_id.as_deref())
    .bind(range.0)
    .bind(range.1)
    .bind(after.map(|c| c.key.as_str()))
    .bind(after.map(|c| c.id.as_str()))
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let mut items = rows
        .iter()
        .map(|r| {
            Ok::<_, sqlx::Error>(AuditEntry {
                id: r.try_get("id")?,
                actor_id: r.try_get("actor_id")?,
                actor_email: r.try_get("actor_email")?,
                action: r.try_get("action")?,
                target_type: r.try_get("target_type")?,
                target_id: r.try_get("target_id")?,
                target_label: r.try_get("target_label")?,
                before: json(r.try_get("before_json")?),
                after: json(r.try_get("after_json")?),
                ip: r.try_get("ip")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = (items.len() as i64 > limit).then(|| {
        items.truncate(limit as usize);
        items.last().map(|e| Cursor::new(&e.created_at, &e.id))
    });
    Ok((items, next.flatten()))
}
