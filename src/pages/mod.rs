//! Route components.

pub mod account;
pub mod admin;
pub mod chat;
pub mod conversation;
pub mod login;
