//! Simulator-wide settings ([`SimOptions`]) and the catalogue of injectable faults ([`Fault`]).

use std::{fmt, str::FromStr, time::Duration};

/// Models the simulator advertises by default.
pub const DEFAULT_MODELS: [&str; 2] = ["qwen2.5:3b-instruct", "llama3.2:1b"];

/// How the simulator behaves. Change it at runtime with
/// [`Simulator::set_options`](super::Simulator::set_options), or per request with a
/// `[sim ...]` directive in the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// Models that exist (`name:tag`; a name without a tag means `:latest`).
    pub models: Vec<String>,
    /// Tokens per reply (before any `options.num_predict` limit).
    pub tokens: usize,
    /// Pause between two tokens.
    pub token_delay: Duration,
    /// Pause before the first token (model load plus prompt processing).
    pub first_token_delay: Duration,
    /// Failure to inject into `/api/chat` and `/api/generate`, if any.
    pub fault: Option<Fault>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            tokens: 40,
            token_delay: Duration::from_millis(20),
            first_token_delay: Duration::ZERO,
            fault: None,
        }
    }
}

/// A failure the simulator can inject, mimicking what a real Ollama does when things go wrong.
///
/// Parse from text with [`str::parse`]: `500`, `not_found`, `error_mid:N`, `cut:N`, `stall:N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `500 {"error":"llama runner process has terminated: ..."}` before any byte of a stream.
    Http500,
    /// `404 {"error":"model \"x\" not found, try pulling it first"}` whatever the model name.
    ModelNotFound,
    /// After `after` tokens, a line `{"error":"..."}` and the end of the response (status 200 already sent).
    ErrorMidStream {
        /// Tokens sent before the error line.
        after: usize,
    },
    /// After `after` tokens the connection closes with no `done` chunk (the chunked body is aborted).
    CutMidStream {
        /// Tokens sent before the cut.
        after: usize,
    },
    /// After `after` tokens the connection stays open with nothing sent (about 10 minutes,
    /// or until the client goes away), then it is cut.
    Stall {
        /// Tokens sent before the stall.
        after: usize,
    },
}

impl Fault {
    /// Number of tokens streamed before a mid-stream fault fires; `None` for faults that
    /// replace the whole response.
    pub fn after(self) -> Option<usize> {
        match self {
            Self::Http500 | Self::ModelNotFound => None,
            Self::ErrorMidStream { after }
            | Self::CutMidStream { after }
            | Self::Stall { after } => Some(after),
        }
    }
}

impl fmt::Display for Fault {
    /// Formats the fault in the same syntax [`Fault::from_str`] accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http500 => f.write_str("500"),
            Self::ModelNotFound => f.write_str("not_found"),
            Self::ErrorMidStream { after } => write!(f, "error_mid:{after}"),
            Self::CutMidStream { after } => write!(f, "cut:{after}"),
            Self::Stall { after } => write!(f, "stall:{after}"),
        }
    }
}

/// Why a fault description could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError(String);

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (kind, count) = match text.split_once(':') {
            Some((kind, count)) => (kind, Some(count)),
            None => (text, None),
        };
        let after = || -> Result<usize, ParseFaultError> {
            let count = count.ok_or_else(|| {
                ParseFaultError(format!(
                    "fault \"{text}\" needs a token count, e.g. \"{kind}:3\""
                ))
            })?;
            count.trim().parse().map_err(|_| {
                ParseFaultError(format!(
                    "fault \"{text}\": \"{count}\" is not a token count (a whole number >= 0)"
                ))
            })
        };
        match (kind, count) {
            ("500", None) => Ok(Self::Http500),
            ("not_found", None) => Ok(Self::ModelNotFound),
            ("error_mid", _) => Ok(Self::ErrorMidStream { after: after()? }),
            ("cut", _) => Ok(Self::CutMidStream { after: after()? }),
            ("stall", _) => Ok(Self::Stall { after: after()? }),
            _ => Err(ParseFaultError(format!(
                "unknown fault \"{text}\": expected one of 500, not_found, error_mid:N, cut:N, stall:N"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault_kind() {
        assert_eq!("500".parse(), Ok(Fault::Http500));
        assert_eq!("not_found".parse(), Ok(Fault::ModelNotFound));
        assert_eq!(
            "error_mid:3".parse(),
            Ok(Fault::ErrorMidStream { after: 3 })
        );
        assert_eq!(" cut:0 ".parse(), Ok(Fault::CutMidStream { after: 0 }));
        assert_eq!("stall:12".parse(), Ok(Fault::Stall { after: 12 }));
    }

    #[test]
    fn display_round_trips() {
        for text in ["500", "not_found", "error_mid:3", "cut:0", "stall:12"] {
            let fault: Fault = text.parse().expect("valid fault");
            assert_eq!(fault.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_input_with_clear_messages() {
        let err = "boom".parse::<Fault>().expect_err("unknown kind");
        assert!(err.to_string().contains("unknown fault \"boom\""), "{err}");
        let err = "cut".parse::<Fault>().expect_err("missing count");
        assert!(err.to_string().contains("needs a token count"), "{err}");
        let err = "stall:x".parse::<Fault>().expect_err("bad count");
        assert!(
            err.to_string().contains("\"x\" is not a token count"),
            "{err}"
        );
        assert!("500:1".parse::<Fault>().is_err());
        assert!("error_mid:-1".parse::<Fault>().is_err());
    }

    #[test]
    fn defaults_match_the_contract() {
        let opts = SimOptions::default();
        assert_eq!(opts.models, ["qwen2.5:3b-instruct", "llama3.2:1b"]);
        assert_eq!(opts.tokens, 40);
        assert_eq!(opts.token_delay, Duration::from_millis(20));
        assert_eq!(opts.first_token_delay, Duration::ZERO);
        assert_eq!(opts.fault, None);
    }
}
