//! energyapp-llm: a private chat front end and gateway for a local Ollama.
//!
//! Shared by both builds: `app` (routes), `pages`, `components`, `api` (server functions),
//! `model`, `error`, `stream_events`, `sse_parser`. Server only: `server`. Browser only:
//! `client` and `hydrate()`.

pub mod admin_model;
pub mod api;
pub mod app;
pub mod chat_stream;
pub mod clock;
pub mod components;
pub mod error;
pub mod i18n;
pub mod markdown;
pub mod model;
pub mod pages;
pub mod session;
pub mod sse_parser;
pub mod stream_events;

#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets end-to-end tests (and curious people) know the page is interactive.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
