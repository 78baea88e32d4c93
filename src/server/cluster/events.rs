//! Answer events as NOTIFY payloads (at most 8000 bytes each): `{"e": name, "d": data}`, with
//! long text split over several `token` events.

use serde_json::{Value, json};

use crate::stream_events::{StreamEvent, TokenEvent};

/// Room left for the text of one `token` payload.
const MAX_TEXT: usize = 6000;

/// The payloads carrying `event`.
pub fn encode(event: StreamEvent) -> Vec<String> {
    let one = |event: &StreamEvent| {
        let data: Value = serde_json::from_str(&event.data_json()).unwrap_or(Value::Null);
        json!({ "e": event.name(), "d": data }).to_string()
    };
    match event {
        StreamEvent::Token(token) => split(&token.content)
            .map(|content| {
                one(&StreamEvent::Token(TokenEvent {
                    content: content.to_string(),
                }))
            })
            .collect(),
        other => vec![one(&other)],
    }
}

/// The event in a payload.
pub fn decode(payload: &str) -> Option<StreamEvent> {
    let value: Value = serde_json::from_str(payload).ok()?;
    StreamEvent::parse(value["e"].as_str()?, &value["d"].to_string())?.ok()
}

/// `text` in pieces of at most `MAX_TEXT` bytes, cut between characters.
fn split(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(MAX_TEXT);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream_events::QueuedEvent;

    #[test]
    fn events_survive_the_trip_and_long_text_is_split_between_characters() {
        let queued = StreamEvent::Queued(QueuedEvent { position: 2 });
        assert_eq!(
            encode(queued.clone())
                .iter()
                .map(|p| decode(p))
                .collect::<Vec<_>>(),
            [Some(queued)]
        );
        let text = "⚡é".repeat(4000);
        let payloads = encode(StreamEvent::Token(TokenEvent {
            content: text.clone(),
        }));
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        let joined: String = payloads
            .iter()
            .map(|p| match decode(p) {
                Some(StreamEvent::Token(t)) => t.content,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(joined, text);
    }
}
