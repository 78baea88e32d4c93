//! Splits a `text/event-stream` body into (event name, data) pairs as bytes arrive.

/// Incremental parser: feed it chunks, take whole events out.
#[derive(Default)]
pub struct SseSplitter {
    buffer: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
}

impl SseSplitter {
    /// Adds `chunk` and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        self.buffer.extend_from_slice(chunk);
        while let Some(end) = find(&self.buffer, b"\n\n") {
            let block = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
            self.buffer.drain(..end + 2);
            let (mut name, mut data) = (String::from("message"), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim_start().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if !data.is_empty() {
                out.push(SseEvent { name, data });
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks() {
        let mut p = SseSplitter::default();
        let mut out = Vec::new();
        p.feed(b"event: token\nda", &mut out);
        assert!(out.is_empty());
        p.feed(
            b"ta: {\"content\":\"a\"}\n\n:keep-alive\n\nevent: done\ndata: {}\n\n",
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name, "token");
        assert_eq!(out[0].data, "{\"content\":\"a\"}");
        assert_eq!(out[1].name, "done");
    }
}
