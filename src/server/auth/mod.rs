//! Authentication: passwords, tokens, and the one place credentials are read.

pub mod account;
pub mod api_keys;
pub mod client_ip;
pub mod cookies;
pub mod extract;
pub mod jwt;
pub mod key_limits;
pub mod login;
pub mod password;
pub mod request_user;
pub mod secret;
pub mod sessions;
pub mod throttle;

pub use extract::{AdminUser, AuthUser, Caller};
