//! Browser-only code.

pub mod chat;
