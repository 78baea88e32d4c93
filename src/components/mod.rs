//! Reusable views.

pub mod chat_state;
pub mod composer;
pub mod conversation_list;
pub mod conversation_settings;
pub mod language_picker;
pub mod message_view;
pub mod ollama_banner;
