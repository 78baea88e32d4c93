//! The streamed answer: an NDJSON body (`application/x-ndjson`, chunked) fed by a [`Generation`].
//!
//! The generation lives inside the body stream, so when the client goes away hyper drops the
//! body, the generation's guard is dropped unfinished and the request counts as cancelled.
//! A cut is an `Err` from the body stream: hyper then closes the connection without the final
//! zero-length chunk, which is what a client sees when a real server dies mid-reply.

use std::io;

use axum::{
    body::Body,
    http::header,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures::stream;

use super::{
    generation::{Event, Generation},
    wire::{self, Endpoint},
};

/// The NDJSON content type Ollama uses for streams.
pub const NDJSON: &str = "application/x-ndjson";

struct Streamer {
    generation: Generation,
    endpoint: Endpoint,
    model: String,
}

/// Streams `generation` as NDJSON lines: one per token, then the `done` chunk (or an error line,
/// or a cut).
pub fn ndjson_response(generation: Generation, endpoint: Endpoint, model: String) -> Response {
    let start = Some(Streamer {
        generation,
        endpoint,
        model,
    });
    let lines = stream::unfold(start, |state| async move {
        let mut streamer = state?;
        let line = match streamer.generation.next().await? {
            Event::Token(token) => wire::token_line(streamer.endpoint, &streamer.model, &token),
            Event::Error(message) => wire::error_line(message),
            Event::Done(summary) => {
                wire::final_line(streamer.endpoint, &streamer.model, "", &summary)
            }
            Event::Cut => {
                // Let hyper flush the tokens already written before the connection is dropped.
                tokio::task::yield_now().await;
                return Some((Err(cut_error()), None));
            }
        };
        Some((Ok::<Bytes, io::Error>(line), Some(streamer)))
    });
    ([(header::CONTENT_TYPE, NDJSON)], Body::from_stream(lines)).into_response()
}

/// A `200` whose body fails at once: the connection closes before any complete answer.
pub fn aborted_response() -> Response {
    Body::from_stream(stream::once(async { Err::<Bytes, io::Error>(cut_error()) })).into_response()
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "ollama simulator: connection cut (injected fault)",
    )
}
