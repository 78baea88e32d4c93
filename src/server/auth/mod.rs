//! Authentication: passwords, tokens, and the one place credentials are read.

pub mod account;
pub mod client_ip;
pub mod cookies;
pub mod extract;
pub mod jwt;
pub mod login;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod throttle;

pub use extract::{AdminUser, AuthUser};
