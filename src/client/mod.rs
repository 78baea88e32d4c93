//! Browser-only code.

pub mod chat;
pub mod session;
