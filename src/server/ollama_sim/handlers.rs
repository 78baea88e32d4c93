//! `POST /api/chat` and `POST /api/generate`: validate, apply faults and directives, then answer
//! streamed (NDJSON, the default) or as one JSON object.

use std::time::Instant;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{
    catalog,
    directive::Directive,
    generation::{Event, Generation, Plan},
    options::Fault,
    state::Simulator,
    stream,
    wire::{self, ChatRequest, Endpoint, GenerateRequest},
};

/// The `500` text for [`Fault::Http500`].
pub const RUNNER_TERMINATED: &str = "llama runner process has terminated: exit status 2";

/// A generation request reduced to what the simulator needs.
struct SimRequest {
    endpoint: Endpoint,
    model: String,
    /// Last user message (chat) or the prompt (generate): seeds the reply, may hold a directive.
    prompt: String,
    /// Characters of all input text, for `prompt_eval_count`.
    input_chars: usize,
    /// Nothing to generate from: Ollama just loads the model (`done_reason: "load"`).
    load_only: bool,
    stream: bool,
    num_predict: Option<i64>,
}

/// `POST /api/chat`.
pub async fn chat(State(sim): State<Simulator>, body: Bytes) -> Response {
    let received_at = Instant::now();
    sim.count_request();
    sim.record_chat(&body);
    let req: ChatRequest = match parse(&body) {
        Ok(req) => req,
        Err(message) => return wire::error_response(StatusCode::BAD_REQUEST, message),
    };
    let Some(model) = req.model.filter(|m| !m.is_empty()) else {
        return model_required();
    };
    let messages = req.messages.unwrap_or_default();
    let prompt = messages
        .iter()
        .rev()
        .find(|m| m.role.as_deref() == Some("user"))
        .and_then(|m| m.content.clone())
        .unwrap_or_default();
    let input_chars = messages
        .iter()
        .filter_map(|m| m.content.as_deref())
        .map(|c| c.chars().count())
        .sum();
    let request = SimRequest {
        endpoint: Endpoint::Chat,
        model,
        prompt,
        input_chars,
        load_only: messages.is_empty(),
        stream: req.stream.unwrap_or(true),
        num_predict: req.options.and_then(|o| o.num_predict),
    };
    respond(sim, request, received_at).await
}

/// `POST /api/generate`.
pub async fn generate(State(sim): State<Simulator>, body: Bytes) -> Response {
    let received_at = Instant::now();
    sim.count_request();
    let req: GenerateRequest = match parse(&body) {
        Ok(req) => req,
        Err(message) => return wire::error_response(StatusCode::BAD_REQUEST, message),
    };
    let Some(model) = req.model.filter(|m| !m.is_empty()) else {
        return model_required();
    };
    let prompt = req.prompt.unwrap_or_default();
    let system_chars = req.system.as_deref().map_or(0, |s| s.chars().count());
    let request = SimRequest {
        endpoint: Endpoint::Generate,
        model,
        input_chars: prompt.chars().count() + system_chars,
        load_only: prompt.is_empty(),
        prompt,
        stream: req.stream.unwrap_or(true),
        num_predict: req.options.and_then(|o| o.num_predict),
    };
    respond(sim, request, received_at).await
}

/// Parses a JSON body; the error is the message for a `400 {"error": ...}`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))
}

fn model_required() -> Response {
    wire::error_response(StatusCode::BAD_REQUEST, "model is required")
}

async fn respond(sim: Simulator, req: SimRequest, received_at: Instant) -> Response {
    let mut opts = sim.options();
    match Directive::find(&req.prompt) {
        Ok(Some(directive)) => directive.apply(&mut opts),
        Ok(None) => {}
        Err(message) => return wire::error_response(StatusCode::BAD_REQUEST, message),
    }
    if opts.fault == Some(Fault::ModelNotFound) || !catalog::exists(&opts.models, &req.model) {
        return wire::error_response(
            StatusCode::NOT_FOUND,
            catalog::not_found_message(&req.model),
        );
    }
    if opts.fault == Some(Fault::Http500) {
        return wire::error_response(StatusCode::INTERNAL_SERVER_ERROR, RUNNER_TERMINATED);
    }
    let mut guard = sim.begin(&req.model);
    if req.load_only {
        guard.finish(true);
        return wire::load_response(req.endpoint, &req.model);
    }
    let plan = Plan {
        first_token_delay: opts.first_token_delay,
        token_delay: opts.token_delay,
        fault: opts.fault,
        with_context: req.endpoint == Endpoint::Generate,
        ..Plan::new(&req.prompt, opts.tokens, req.num_predict, req.input_chars)
    };
    let generation = Generation::new(plan, guard, received_at);
    if req.stream {
        stream::ndjson_response(generation, req.endpoint, req.model)
    } else {
        collect(generation, req.endpoint, &req.model).await
    }
}

/// The non-streamed answer: wait for the whole generation, then send one JSON object.
async fn collect(mut generation: Generation, endpoint: Endpoint, model: &str) -> Response {
    let mut content = String::new();
    while let Some(event) = generation.next().await {
        match event {
            Event::Token(token) => content.push_str(&token),
            Event::Error(message) => {
                return wire::error_response(StatusCode::INTERNAL_SERVER_ERROR, message);
            }
            Event::Cut => return stream::aborted_response(),
            Event::Done(summary) => {
                return wire::final_response(endpoint, model, &content, &summary);
            }
        }
    }
    // `next` always ends with one of the terminal events above; answer something sane anyway.
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "generation ended without a result",
    )
        .into_response()
}
