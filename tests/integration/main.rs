//! Integration tests: the real server over HTTP, a real database, the Ollama simulator.
//! PostgreSQL variants run when `ENERGYAPP_TEST_POSTGRES_URL` is set.

mod common;

mod admin;
mod auth;
mod backends;
mod chat;
mod checkpoints;
mod cli;
mod cluster_endings;
mod cluster_slots;
mod conversations;
mod db_pool;
mod deploy;
mod faults;
mod first_start;
mod health;
mod instances;
mod live;
mod openai;
mod openapi;
mod pages;
mod perimeter;
mod postgres_socket;
mod quick_commits;
mod restart;
mod sessions;
mod slow_client;
mod stop;
mod turn_rows;
