//! Server functions: what the UI reads and writes. Each delegates to `server::*`.

pub mod admin;
pub mod auth;
pub mod conversations;
pub mod models;
pub mod status;
