//! Queries on `users`.

use sqlx::Row;

use super::{Db, new_id, now};
use crate::{error::AppError, model::Role};

/// A stored account.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    /// Access tokens issued before this unix time (milliseconds) are refused.
    pub sessions_valid_after: i64,
}

const COLUMNS: &str =
    "id, email, password_hash, role, active, created_at, last_login_at, sessions_valid_after";

fn from_row(row: &sqlx::any::AnyRow) -> Result<UserRow, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).unwrap_or(Role::User),
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
        sessions_valid_after: row.try_get("sessions_valid_after")?,
    })
}

/// Looks an account up by email, case-insensitively.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, AppError> {
    let sql = format!("select {COLUMNS} from users where lower(email) = lower($1)");
    let row = sqlx::query(&sql)
        .bind(email.trim())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<UserRow>, AppError> {
    let sql = format!("select {COLUMNS} from users where id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Creates an account; a taken email (any case) is a conflict.
pub async fn create(
    db: &Db,
    email: &str,
    password_hash: &str,
    role: Role,
) -> Result<UserRow, AppError> {
    let (id, at) = (new_id(), now());
    let result = sqlx::query(
        "insert into users (id, email, password_hash, role, active, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(email.trim())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(1_i64)
    .bind(&at)
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::Conflict(format!(
                "a user with email {} already exists",
                email.trim()
            )));
        }
        Err(e) => return Err(e.into()),
    }
    find_by_id(db, &id).await?.ok_or(AppError::Internal)
}

pub async fn set_password(db: &Db, id: &str, password_hash: &str) -> Result<bool, AppError> {
    let done = sqlx::query("update users set password_hash = $1, updated_at = $2 where id = $3")
        .bind(password_hash)
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the account: refresh tokens and access tokens issued until now.
pub async fn end_sessions(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("update users set sessions_valid_after = $1 where id = $2")
        .bind(chrono::Utc::now().timestamp_millis())
        .bind(id)
        .execute(&db.pool)
        .await?;
    super::refresh_tokens::revoke_user(db, id).await
}

/// Changes an account's active flag and/or role.
pub async fn update_access(
    db: &Db,
    id: &str,
    active: Option<bool>,
    role: Option<Role>,
) -> Result<(), AppError> {
    sqlx::query(
        "update users set active = coalesce($1, active), role = coalesce($2, role), updated_at = $3 where id = $4",
    )
    .bind(active.map(i64::from))
    .bind(role.map(Role::as_str))
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn touch_login(db: &Db, id: &str) -> Result<(), AppError> {
    sqlx::query("update users set last_login_at = $1 where id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<UserRow>, AppError> {
    let sql = format!("select {COLUMNS} from users order by created_at, id");
    let rows = sqlx::query(&sql).fetch_all(&db.pool).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

pub async fn count_active_admins(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("select count(*) as n from users where role = 'admin' and active = $1")
        .bind(1_i64)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// How the admins' users table is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSort {
    /// Newest first.
    Created,
    /// A to Z.
    Email,
    /// Most recent first; never-logged-in last.
    LastLogin,
}

impl UserSort {
    pub fn parse(text: Option<&str>) -> Option<UserSort> {
        match text.unwrap_or("created") {
            "created" => Some(UserSort::Created),
            "email" => Some(UserSort::Email),
            "last_login" => Some(UserSort::LastLogin),
            _ => None,
        }
    }

    /// The sort key (SQL) and whether it descends.
    fn key(self) -> (&'static str, bool) {
        match self {
            UserSort::Created => ("u.created_at", true),
            UserSort::Email => ("lower(u.email)", false),
            UserSort::LastLogin => ("coalesce(u.last_login_at, '')", true),
        }
    }
}

/// Filters of the users table.
pub struct UserQuery<'a> {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub email_like: Option<&'a str>,
    pub sort: UserSort,
    /// Tokens are counted from this instant (start of the month).
    pub month_start: &'a str,
    /// Just this account.
    pub id: Option<&'a str>,
}

/// A page of users with their conversation count and tokens this month.
pub async fn admin_page(
    db: &Db,
    query: &UserQuery<'_>,
    after: Option<&super::Cursor>,
    limit: i64,
) -> Result<(Vec<crate::admin_model::AdminUser>, Option<super::Cursor>), AppError> {
    let (key, descending) = query.sort.key();
    let (cmp, dir) = if descending {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    let sql = format!(
        "select u.id, u.email, u.role, u.active, u.created_at, u.last_login_at, {key} as sort_key, \
         (select count(*) from conversations c where c.user_id = u.id) as conversations, \
         (select cast(coalesce(sum(m.prompt_tokens + m.completion_tokens), 0) as bigint) \
            from messages m join conversations c on c.id = m.conversation_id \
            where c.user_id = u.id and m.created_at >= $1) as tokens_this_month \
         from users u \
         where ($2 is null or u.role = $2) and ($3 is null or u.active = $3) \
         and ($4 is null or lower(u.email) like $4 escape '\\') \
         and ($5 is null or {key} {cmp} $5 or ({key} = $5 and u.id {cmp} $6)) \
         and ($8 is null or u.id = $8) \
         order by {key} {dir}, u.id {dir} limit $7"
    );
    let rows = sqlx::query(&sql)
        .bind(query.month_start)
        .bind(query.role.map(Role::as_str))
        .bind(query.active.map(i64::from))
        .bind(query.email_like)
        .bind(after.map(|c| c.key.as_str()))
        .bind(after.map(|c| c.id.as_str()))
        .bind(limit + 1)
        .bind(query.id)
        .fetch_all(&db.pool)
        .await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let role: String = row.try_get("role")?;
        keys.push(row.try_get::<String, _>("sort_key")?);
        items.push(crate::admin_model::AdminUser {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: Role::parse(&role).unwrap_or(Role::User),
            active: row.try_get::<i64, _>("active")? != 0,
            created_at: row.try_get("created_at")?,
            last_login_at: row.try_get("last_login_at")?,
            conversations: row.try_get("conversations")?,
            tokens_this_month: row.try_get("tokens_this_month")?,
        });
    }
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        let last = items.len() - 1;
        Some(super::Cursor::new(&keys[last], &items[last].id))
    } else {
        None
    };
    Ok((items, next))
}
