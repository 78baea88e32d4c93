//! Failed-login counters shared by every instance (`auth::throttle` on PostgreSQL). Each
//! update is one atomic upsert, so concurrent failures on several instances all count.

use super::Db;
use crate::error::AppError;

/// Counts a failure for `key`: a count older than `window_ms` starts again at 1; reaching
/// `limit` locks the key until `now_ms + window_ms`. Returns the count.
pub async fn record(
    db: &Db,
    key: &str,
    now_ms: i64,
    limit: i64,
    window_ms: i64,
) -> Result<i64, AppError> {
    let failures: i64 = sqlx::query_scalar(
        "insert into login_failures (key, failures, since_ms, locked_until_ms) \
         values ($1, 1, $2, case when 1 >= $3 then $2 + $4 else 0 end) \
         on conflict (key) do update set \
           failures = case when login_failures.since_ms <= $2 - $4 then 1 \
                           else login_failures.failures + 1 end, \
           since_ms = case when login_failures.since_ms <= $2 - $4 then $2 \
                           else login_failures.since_ms end, \
           locked_until_ms = case \
             when (case when login_failures.since_ms <= $2 - $4 then 1 \
                        else login_failures.failures + 1 end) >= $3 then $2 + $4 \
             else login_failures.locked_until_ms end \
         returning failures",
    )
    .bind(key)
    .bind(now_ms)
    .bind(limit)
    .bind(window_ms)
    .fetch_one(&db.pool)
    .await?;
    // Forget what no longer matters (keeps the table small).
    sqlx::query("delete from login_failures where since_ms <= $1 and locked_until_ms <= $2")
        .bind(now_ms - window_ms)
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(failures)
}

/// The latest time (unix ms) until which any of `keys` is locked; 0 when none is.
pub async fn locked_until(db: &Db, keys: [&str; 2]) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "select cast(coalesce(max(locked_until_ms), 0) as bigint) from login_failures \
         where key = $1 or key = $2",
    )
    .bind(keys[0])
    .bind(keys[1])
    .fetch_one(&db.pool)
    .await?)
}

pub async fn clear(db: &Db, keys: [&str; 2]) -> Result<(), AppError> {
    sqlx::query("delete from login_failures where key = $1 or key = $2")
        .bind(keys[0])
        .bind(keys[1])
        .execute(&db.pool)
        .await?;
    Ok(())
}
