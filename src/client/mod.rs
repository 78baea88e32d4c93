//! Browser-only code.

pub mod chat;
pub mod clipboard;
pub mod language;
pub mod session;
pub mod token_batch;
