//! Authentication: passwords, tokens, and the one place credentials are read.

pub mod cookies;
pub mod extract;
pub mod jwt;
pub mod login;
pub mod password;
pub mod secret;

pub use extract::AuthUser;
