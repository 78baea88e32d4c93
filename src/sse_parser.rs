//! An incremental parser for `text/event-stream` bodies.
//!
//! Bytes may arrive split anywhere (even inside a multi-byte character); frames are only
//! decoded once their terminating blank line has arrived.

/// One server-sent event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseFrame {
    pub event: String,
    pub data: String,
}

/// Buffers bytes and yields complete frames.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns every frame completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseFrame> {
        self.buf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some((end, sep_len)) = find_frame_end(&self.buf) {
            let raw: Vec<u8> = self.buf.drain(..end + sep_len).take(end).collect();
            if let Some(frame) = parse_frame(&String::from_utf8_lossy(&raw)) {
                frames.push(frame);
            }
        }
        frames
    }
}

/// Position of the first blank line (`\n\n` or `\r\n\r\n`) and its length.
fn find_frame_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn parse_frame(text: &str) -> Option<SseFrame> {
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with(':') {
            continue; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event = value.to_string(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseFrame {
        event,
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_split_at_every_byte() {
        let body = "event: token\ndata: {\"content\":\"h\u{e9}\u{1F44B}\"}\n\n: keep-alive\n\nevent: done\ndata: {}\n\n";
        let mut parser = SseParser::new();
        let mut frames = Vec::new();
        for b in body.as_bytes() {
            frames.extend(parser.push(std::slice::from_ref(b)));
        }
        assert_eq!(
            frames,
            vec![
                SseFrame {
                    event: "token".into(),
                    data: "{\"content\":\"h\u{e9}\u{1F44B}\"}".into()
                },
                SseFrame {
                    event: "done".into(),
                    data: "{}".into()
                },
            ]
        );
    }

    #[test]
    fn joins_multi_line_data_and_defaults_event_name() {
        let mut parser = SseParser::new();
        let frames = parser.push(b"data: a\r\ndata: b\r\n\r\n");
        assert_eq!(
            frames,
            vec![SseFrame {
                event: "message".into(),
                data: "a\nb".into()
            }]
        );
    }

    #[test]
    fn keeps_incomplete_frame_for_later() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"event: token\ndata: x").is_empty());
        assert_eq!(parser.push(b"\n\n").len(), 1);
    }
}
