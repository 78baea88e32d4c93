//! Route components.

pub mod account;
pub mod chat;
pub mod conversation;
pub mod login;
