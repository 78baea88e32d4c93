//! Making sure someone can log in on a fresh install.

use rand::Rng;

use super::{
    auth::password,
    config::Settings,
    db::{Db, users},
};
use crate::{error::AppError, model::Role};

/// What `ensure_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// An active admin already existed.
    Existing,
    /// The account from `ENERGYAPP_BOOTSTRAP_ADMIN_*` was created.
    CreatedFromEnv { email: String },
    /// No admin and no env: one was created with this generated password (shown once).
    Generated { email: String, password: String },
}

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@energyapp.local";

/// Creates the bootstrap admin if needed.
pub async fn ensure_admin(db: &Db, settings: &Settings) -> Result<AdminBootstrap, AppError> {
    if let (Some(email), Some(pw)) = (
        &settings.bootstrap_admin_email,
        &settings.bootstrap_admin_password,
    ) {
        if users::find_by_email(db, email).await?.is_some() {
            return Ok(AdminBootstrap::Existing);
        }
        password::check_rule(pw)?;
        let hash = password::hash(pw, settings.auth.bcrypt_cost).await?;
        users::create(db, email, &hash, Role::Admin).await?;
        return Ok(AdminBootstrap::CreatedFromEnv {
            email: email.clone(),
        });
    }
    if users::count_active_admins(db).await? > 0 {
        return Ok(AdminBootstrap::Existing);
    }
    let generated = random_password();
    let hash = password::hash(&generated, settings.auth.bcrypt_cost).await?;
    users::create(db, DEFAULT_ADMIN_EMAIL, &hash, Role::Admin).await?;
    Ok(AdminBootstrap::Generated {
        email: DEFAULT_ADMIN_EMAIL.into(),
        password: generated,
    })
}

/// A 20-character password from an unambiguous alphabet.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
