//! The deterministic reply text: same prompt and token count, same tokens, on every machine.
//!
//! Tokens are words from a fixed list, picked by a PRNG seeded with the FNV-1a hash of the prompt
//! (never std's randomly keyed hasher). The list mixes accented Spanish, emoji, CJK, markdown,
//! raw-HTML-looking text and JSON-escaping traps so clients' decoding and escaping get exercised.
//! A shorter reply is always a prefix of a longer one for the same prompt.

/// Words the simulator speaks. Each token is one of these plus the separator that follows it.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    // Plain and accented Spanish.
    "la", "el", "de", "que", "y", "en", "un", "una", "para", "con", "por", "más", "energía",
    "información", "consumo", "eficiencia", "ahorro", "tarifa", "potencia", "batería", "solar",
    "eólica", "red", "contador", "factura", "kWh", "medición", "análisis", "también", "según",
    "está", "aquí", "datos", "hogar", "demanda", "renovable", "térmica", "climatización", "señal",
    "año", "mañana", "óptimo", "pequeño", "hola", "ñandú", "50%", "3,5",
    // Emoji and CJK (4-byte and 3-byte UTF-8).
    "⚡", "👋", "🔋", "你好",
    // Markdown, raw HTML and JSON-escaping traps.
    "**negrita**", "`código`", "_cursiva_", "<b>", "\"cita\"", "C:\\datos",
];

/// What follows a word; plain spaces dominate, like real text.
const SEPARATORS: &[&str] = &[" ", " ", " ", " ", " ", " ", " ", ", ", ". ", "\n"];

/// The exact token strings the simulator streams for `prompt` (the last user message or the
/// generate prompt, any `[sim ...]` directive included), `tokens` of them.
///
/// Concatenating them gives the whole reply; `reply_tokens(p, n)` is a prefix of
/// `reply_tokens(p, n + k)`.
pub fn reply_tokens(prompt: &str, tokens: usize) -> Vec<String> {
    Reply::new(prompt).take(tokens).collect()
}

/// The endless token sequence for one prompt; [`reply_tokens`] is its first `n` items.
/// Lazy, so a long reply costs no memory up front.
#[derive(Clone, Debug)]
pub struct Reply {
    rng: SplitMix64,
    sentence_start: bool,
    /// `[sim echo]`: the prompt's own text (without the directive), a few characters at a time.
    echo: Option<std::collections::VecDeque<String>>,
}

/// Marks a prompt whose reply is the prompt itself (for testing how answers render).
pub const ECHO: &str = "[sim echo]";

impl Reply {
    /// The sequence for `prompt`.
    pub fn new(prompt: &str) -> Self {
        Self {
            rng: SplitMix64(fnv1a(prompt.as_bytes())),
            sentence_start: true,
            echo: prompt
                .contains(ECHO)
                .then(|| echo_tokens(&prompt.replacen(ECHO, "", 1))),
        }
    }

    /// For an echo, how many tokens the whole reply has.
    pub fn echo_len(&self) -> Option<usize> {
        self.echo.as_ref().map(|e| e.len())
    }
}

/// The text in tokens of up to 4 characters (split anywhere, even inside words and markup).
fn echo_tokens(text: &str) -> std::collections::VecDeque<String> {
    let chars: Vec<char> = text.trim().chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

impl Iterator for Reply {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if let Some(echo) = &mut self.echo {
            return echo.pop_front();
        }
        let word = WORDS[self.rng.below(WORDS.len())];
        let separator = SEPARATORS[self.rng.below(SEPARATORS.len())];
        let mut token = if self.sentence_start {
            capitalize(word)
        } else {
            word.to_owned()
        };
        token.push_str(separator);
        self.sentence_start = separator != " " && separator != ", ";
        Some(token)
    }
}

/// Uppercases the first character (multi-byte aware: "énfasis" -> "Énfasis").
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// 64-bit FNV-1a: a stable hash, identical across runs, platforms and Rust versions.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64: a tiny deterministic PRNG, plenty for picking words.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_replies_with_the_prompt_in_small_pieces() {
        let tokens = reply_tokens("[sim echo] # Título\n`x` 👋", 100);
        assert_eq!(tokens.concat(), "# Título\n`x` 👋");
        assert!(tokens.iter().all(|t| t.chars().count() <= 4));
    }

    #[test]
    fn deterministic_and_prefix_stable() {
        let a = reply_tokens("¿Cuánto consume mi nevera?", 30);
        assert_eq!(a, reply_tokens("¿Cuánto consume mi nevera?", 30));
        assert_eq!(a.len(), 30);
        assert_eq!(reply_tokens("¿Cuánto consume mi nevera?", 7), a[..7]);
        assert_ne!(a, reply_tokens("¿Cuánto consume mi lavadora?", 30));
        assert!(reply_tokens("x", 0).is_empty());
    }

    #[test]
    fn tokens_are_non_empty_and_end_in_a_separator() {
        for token in reply_tokens("hola", 200) {
            assert!(SEPARATORS.iter().any(|s| token.ends_with(s)), "{token:?}");
            assert!(token.trim().chars().count() > 0, "{token:?}");
        }
    }

    #[test]
    fn replies_contain_multibyte_text() {
        let reply = reply_tokens("hola", 40).concat();
        assert!(
            reply.len() > reply.chars().count(),
            "no multi-byte text in {reply:?}"
        );
        let long = reply_tokens("hola", 2000).concat();
        for needle in [
            "energía",
            "información",
            "⚡",
            "👋",
            "你好",
            "**negrita**",
            "`código`",
            "<b>",
        ] {
            assert!(
                long.to_lowercase().contains(&needle.to_lowercase()),
                "missing {needle}"
            );
        }
    }

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn capitalizes_multibyte_first_letters() {
        assert_eq!(capitalize("énfasis"), "Énfasis");
        assert_eq!(capitalize("ñandú"), "Ñandú");
        assert_eq!(capitalize("⚡"), "⚡");
    }
}
