//! Everything that runs only on the server. Gated once, in `lib.rs`.

pub mod admin;
pub mod auth;
pub mod backends;
pub mod backup;
pub mod bootstrap;
pub mod chat;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conversations_service;
pub mod db;
pub mod errors;
pub mod health;
pub mod http;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod ollama;
pub mod ollama_hosts;
pub mod ollama_sim;
pub mod openai;
pub mod rest;
pub mod server_fn_context;
pub mod startup;
pub mod state;
