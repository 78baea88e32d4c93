//! One simulated generation as a timed sequence of events, shared by the streamed and the
//! non-streamed responses.
//!
//! Timeline: wait `first_token_delay`, token, wait `token_delay`, token, ..., then the `done`
//! summary right after the last token. Token n is due n × `token_delay` after the first one
//! (a steady rate: waits do not add up their timer rounding). A mid-stream fault takes the place of token `after + 1`
//! (same wait before it), or of the `done` chunk when `after` >= the token count.

use std::time::{Duration, Instant};

use super::{
    options::Fault,
    reply::{Reply, fnv1a},
    state::ActivityGuard,
    wire::Summary,
};

/// How long a [`Fault::Stall`] holds the connection before cutting it.
const STALL_FOR: Duration = Duration::from_secs(600);
/// Most token ids put in generate's `context` (a real one is bounded by `num_ctx`).
const MAX_CONTEXT: u64 = 32_768;
/// The text of a [`Fault::ErrorMidStream`] line.
pub const MID_STREAM_ERROR: &str =
    "an error was encountered while running the model: unexpected EOF";

/// Everything decided before the first byte: what to say, how fast, and how it ends.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The reply's tokens, produced lazily.
    pub reply: Reply,
    /// How many tokens to send, already limited by `num_predict`.
    pub count: usize,
    /// `stop`, or `length` when `num_predict` cut the reply short.
    pub done_reason: &'static str,
    pub first_token_delay: Duration,
    pub token_delay: Duration,
    /// Only the mid-stream kinds matter here.
    pub fault: Option<Fault>,
    pub prompt_eval_count: u64,
    /// Add generate's `context` (token ids) to the summary.
    pub with_context: bool,
}

impl Plan {
    /// `tokens` reply tokens for `prompt`, limited by `num_predict` (negative = no limit).
    pub fn new(prompt: &str, tokens: usize, num_predict: Option<i64>, input_chars: usize) -> Self {
        let reply = Reply::new(prompt);
        let tokens = reply.echo_len().unwrap_or(tokens);
        let limit = num_predict
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < tokens);
        Self {
            reply,
            count: limit.unwrap_or(tokens),
            done_reason: if limit.is_some() { "length" } else { "stop" },
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            fault: None,
            prompt_eval_count: (input_chars / 4 + 1) as u64,
            with_context: false,
        }
    }
}

/// What happens next in a generation.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// One token of text.
    Token(String),
    /// A mid-stream error; nothing follows.
    Error(&'static str),
    /// The connection must be cut; nothing follows.
    Cut,
    /// The natural end.
    Done(Box<Summary>),
}

/// A running generation. Drop it early and the guard counts a cancellation.
#[derive(Debug)]
pub struct Generation {
    plan: Plan,
    guard: ActivityGuard,
    sent: usize,
    finished: bool,
    received_at: Instant,
    started_at: Instant,
    first_token_at: Option<Instant>,
}

impl Generation {
    /// Starts the clock; `received_at` is when the request arrived.
    pub fn new(plan: Plan, guard: ActivityGuard, received_at: Instant) -> Self {
        let started_at = Instant::now();
        Self {
            plan,
            guard,
            sent: 0,
            finished: false,
            received_at,
            started_at,
            first_token_at: None,
        }
    }

    /// Waits as the plan says, then returns the next event; `None` once finished.
    pub async fn next(&mut self) -> Option<Event> {
        if self.finished {
            return None;
        }
        let total = self.plan.count;
        let fault = self
            .plan
            .fault
            .filter(|f| f.after().is_some_and(|a| a.min(total) == self.sent));
        if self.sent < total {
            // Tokens come at a steady rate, as from a model: token n is due `token_delay`
            // after token n-1 was due, not after it was sent, so the timer's rounding (up to
            // its next 1 ms tick) does not add up over an answer. No timer for no wait: even
            // a zero sleep waits for the next tick, which would cap a zero-delay stream near
            // 1,000 tokens/s.
            let due = match self.first_token_at {
                None => self.started_at + self.plan.first_token_delay,
                Some(first) => first + self.plan.token_delay * self.sent as u32,
            };
            let wait = if self.sent == 0 {
                self.plan.first_token_delay
            } else {
                self.plan.token_delay
            };
            if !wait.is_zero() {
                tokio::time::sleep_until(due.into()).await;
            }
            self.first_token_at.get_or_insert_with(Instant::now);
        }
        let event = match fault {
            Some(Fault::ErrorMidStream { .. }) => Event::Error(MID_STREAM_ERROR),
            Some(Fault::CutMidStream { .. }) => Event::Cut,
            Some(Fault::Stall { .. }) => {
                tokio::time::sleep(STALL_FOR).await;
                Event::Cut
            }
            _ if self.sent < total => {
                self.sent += 1;
                let token = self.plan.reply.next().unwrap_or_default();
                return Some(Event::Token(token));
            }
            _ => Event::Done(Box::new(self.summary())),
        };
        self.finished = true;
        self.guard.finish(matches!(event, Event::Done(_)));
        Some(event)
    }

    fn summary(&self) -> Summary {
        let now = Instant::now();
        let first = self.first_token_at.unwrap_or(now);
        let eval_count = self.sent as u64;
        let context = self.plan.with_context.then(|| {
            (0..(self.plan.prompt_eval_count + eval_count).min(MAX_CONTEXT))
                .map(|i| (fnv1a(&i.to_le_bytes()) % 150_000) as u32)
                .collect()
        });
        Summary {
            done_reason: self.plan.done_reason,
            context,
            total_duration: nanos(now - self.received_at),
            load_duration: nanos(self.started_at - self.received_at),
            prompt_eval_count: self.plan.prompt_eval_count,
            prompt_eval_duration: nanos(first - self.started_at),
            eval_count,
            eval_duration: nanos(now - first),
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::{options::SimOptions, state::Simulator};
    use super::*;

    fn run(plan: Plan) -> (Vec<Event>, Simulator) {
        let sim = Simulator::new(SimOptions::default());
        let mut generation = Generation::new(plan, sim.begin("m"), Instant::now());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("rt");
        let events = rt.block_on(async {
            let mut events = Vec::new();
            while let Some(event) = generation.next().await {
                events.push(event);
            }
            events
        });
        (events, sim)
    }

    #[test]
    fn num_predict_limits_and_sets_length() {
        let plan = Plan::new("hola", 10, Some(3), 8);
        assert_eq!(
            (plan.count, plan.done_reason, plan.prompt_eval_count),
            (3, "length", 3)
        );
        assert_eq!(Plan::new("hola", 10, Some(-1), 0).done_reason, "stop");
        assert_eq!(Plan::new("hola", 10, Some(10), 0).done_reason, "stop");
    }

    #[test]
    fn tokens_then_done() {
        let (events, sim) = run(Plan {
            with_context: true,
            ..Plan::new("hola", 4, None, 40)
        });
        assert_eq!(events.len(), 5);
        let Some(Event::Done(summary)) = events.last() else {
            panic!("no done: {events:?}")
        };
        assert_eq!((summary.eval_count, summary.prompt_eval_count), (4, 11));
        assert_eq!(summary.context.as_ref().map(Vec::len), Some(15));
        assert_eq!((sim.stats().completed, sim.stats().in_flight), (1, 0));
    }

    #[test]
    fn faults_replace_the_next_token_or_the_done_chunk() {
        let fault = Some(Fault::ErrorMidStream { after: 2 });
        let (events, sim) = run(Plan {
            fault,
            ..Plan::new("hola", 4, None, 0)
        });
        assert_eq!(events.len(), 3);
        assert_eq!(events[2], Event::Error(MID_STREAM_ERROR));
        assert_eq!((sim.stats().completed, sim.stats().cancelled), (0, 0));
        let fault = Some(Fault::CutMidStream { after: 9 });
        let (events, _) = run(Plan {
            fault,
            ..Plan::new("hola", 4, None, 0)
        });
        assert_eq!((events.len(), events.last()), (5, Some(&Event::Cut)));
    }
}
