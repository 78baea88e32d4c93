//! A chat turn: store the question, stream the answer from Ollama, store the answer.

pub mod attempt;
pub mod checkpoints;
mod generate;
pub mod history;
pub mod live;
pub mod queue;
pub mod registry;
pub mod settled_reads;
pub mod settling;
pub mod sse;
mod turn;
pub mod turn_writer;

pub use turn::{Turn, TurnRequest, start_turn};
