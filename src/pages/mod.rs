//! Route components.

pub mod chat;
pub mod conversation;
pub mod login;
