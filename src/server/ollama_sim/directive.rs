//! Per-request overrides written into the prompt: `[sim tokens=5 delay_ms=10 first_ms=200 fault=error_mid:3]`.
//!
//! Any subset of keys may appear; unknown keys (and words without `=`) are ignored. `fault=none`
//! clears a fault set in the simulator's options. A known key with a bad value is an error, so a
//! typo in a test shows up as a `400` instead of silently doing something else.

use std::time::Duration;

use super::options::{Fault, SimOptions};

/// The overrides found in one `[sim ...]` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directive {
    /// `tokens=N`: tokens in the reply.
    pub tokens: Option<usize>,
    /// `delay_ms=N`: pause between tokens.
    pub token_delay: Option<Duration>,
    /// `first_ms=N`: pause before the first token.
    pub first_token_delay: Option<Duration>,
    /// `fault=...`: `Some(None)` for `fault=none`.
    pub fault: Option<Option<Fault>>,
}

impl Directive {
    /// Finds the first `[sim ...]` directive in `text`. `Ok(None)` when there is none.
    pub fn find(text: &str) -> Result<Option<Self>, String> {
        let mut rest = text;
        while let Some(start) = rest.find("[sim") {
            let after_tag = &rest[start + "[sim".len()..];
            let is_tag_end = after_tag.starts_with(|c: char| c == ']' || c.is_whitespace());
            if let (true, Some(end)) = (is_tag_end, after_tag.find(']')) {
                return Self::parse_body(&after_tag[..end]).map(Some);
            }
            rest = after_tag;
        }
        Ok(None)
    }

    /// Parses the `key=value` words between `[sim` and `]`.
    fn parse_body(body: &str) -> Result<Self, String> {
        let mut directive = Self::default();
        for (key, value) in body
            .split_whitespace()
            .filter_map(|word| word.split_once('='))
        {
            match key {
                "tokens" => directive.tokens = Some(number(key, value)?),
                "delay_ms" => directive.token_delay = Some(millis(key, value)?),
                "first_ms" => directive.first_token_delay = Some(millis(key, value)?),
                "fault" if value == "none" => directive.fault = Some(None),
                "fault" => {
                    let fault = value.parse().map_err(|e| format!("sim directive: {e}"))?;
                    directive.fault = Some(Some(fault));
                }
                _ => {}
            }
        }
        Ok(directive)
    }

    /// Writes the overrides over `opts` (keys that were not given keep their value).
    pub fn apply(&self, opts: &mut SimOptions) {
        if let Some(tokens) = self.tokens {
            opts.tokens = tokens;
        }
        if let Some(delay) = self.token_delay {
            opts.token_delay = delay;
        }
        if let Some(delay) = self.first_token_delay {
            opts.first_token_delay = delay;
        }
        if let Some(fault) = self.fault {
            opts.fault = fault;
        }
    }
}

fn number(key: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("sim directive: {key}=\"{value}\" is not a whole number >= 0"))
}

fn millis(key: &str, value: &str) -> Result<Duration, String> {
    number(key, value).map(|ms| Duration::from_millis(ms as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Directive {
        Directive::find(text).expect("valid").expect("present")
    }

    #[test]
    fn parses_all_keys() {
        let d = find("hola [sim tokens=5 delay_ms=10 first_ms=200 fault=error_mid:3] ¿qué tal?");
        assert_eq!(d.tokens, Some(5));
        assert_eq!(d.token_delay, Some(Duration::from_millis(10)));
        assert_eq!(d.first_token_delay, Some(Duration::from_millis(200)));
        assert_eq!(d.fault, Some(Some(Fault::ErrorMidStream { after: 3 })));
    }

    #[test]
    fn subset_and_unknown_keys() {
        let d = find("[sim tokens=3 colour=blue loose-word]");
        assert_eq!(
            d,
            Directive {
                tokens: Some(3),
                ..Directive::default()
            }
        );
        assert_eq!(find("[sim]"), Directive::default());
        assert_eq!(find("x [sim fault=none]").fault, Some(None));
    }

    #[test]
    fn absent_or_unterminated_is_none() {
        assert_eq!(Directive::find("just a question"), Ok(None));
        assert_eq!(Directive::find("[simple] [sim tokens=2"), Ok(None));
        assert_eq!(
            Directive::find("[simple] [sim tokens=2]")
                .expect("ok")
                .and_then(|d| d.tokens),
            Some(2)
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let err = Directive::find("[sim tokens=many]").expect_err("bad number");
        assert!(err.contains("tokens=\"many\""), "{err}");
        let err = Directive::find("[sim fault=explode]").expect_err("bad fault");
        assert!(err.contains("unknown fault"), "{err}");
    }

    #[test]
    fn apply_overrides_only_given_keys() {
        let mut opts = SimOptions {
            fault: Some(Fault::Http500),
            ..SimOptions::default()
        };
        find("[sim delay_ms=1 fault=none]").apply(&mut opts);
        assert_eq!(opts.token_delay, Duration::from_millis(1));
        assert_eq!(opts.tokens, 40);
        assert_eq!(opts.fault, None);
    }
}
