//! Browser-only code.

pub mod chat;
pub mod clipboard;
pub mod session;
