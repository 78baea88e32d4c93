//! Each backend's longest line (`ollama.max_queue`) counted over every instance: a request
//! waiting in an instance's line holds a seat (a row of `waiting_requests`) for as long as it
//! waits. Seats of instances that are gone are removed (`instances`).

use sqlx::postgres::PgPool;

use super::Cluster;
use crate::error::AppError;

/// A seat in a backend's shared line; given up when dropped.
pub struct LineSeat {
    pool: PgPool,
    id: String,
}

impl Drop for LineSeat {
    fn drop(&mut self) {
        let (pool, id) = (self.pool.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let gone = sqlx::query("delete from waiting_requests where id = $1")
                    .bind(&id)
                    .execute(&pool)
                    .await;
                if let Err(err) = gone {
                    tracing::warn!(error = %err, "could not give up a seat in a line");
                }
            });
        }
    }
}

impl Cluster {
    /// A seat in `backend`'s line, or 503 (with Retry-After) when the instances' lines
    /// together already hold `max_queue` requests.
    pub async fn take_seat(&self, backend: &str, max_queue: usize) -> Result<LineSeat, AppError> {
        let waiting: i64 =
            sqlx::query_scalar("select count(*) from waiting_requests where backend = $1")
                .bind(backend)
                .fetch_one(&self.pool)
                .await?;
        if waiting as usize >= max_queue {
            return Err(AppError::Busy {
                retry_after_secs: 10,
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "insert into waiting_requests (id, instance_id, backend, created_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&self.instance_id)
        .bind(backend)
        .bind(crate::server::db::now())
        .execute(&self.pool)
        .await?;
        Ok(LineSeat {
            pool: self.pool.clone(),
            id,
        })
    }
}

/// Removes the seats of an instance that is gone.
pub async fn forget(pool: &PgPool, instance_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from waiting_requests where instance_id = $1")
        .bind(instance_id)
        .execute(pool)
        .await?;
    Ok(())
}
