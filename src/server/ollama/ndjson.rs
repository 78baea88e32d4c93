//! Splits a byte stream into lines: a line may span reads, and a read may hold many lines.

#[derive(Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete, non-blank line (without its `\n`), if one has arrived.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let pos = self.buf.iter().position(|&b| b == b'\n')?;
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line);
            }
        }
    }

    /// Whatever is left after the stream ended (a last line with no `\n`).
    pub fn take_rest(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_and_merged_across_reads() {
        let mut b = LineBuffer::default();
        b.push(b"{\"a\":1}\n{\"b\":");
        assert_eq!(b.next_line().unwrap(), b"{\"a\":1}");
        assert_eq!(b.next_line(), None);
        b.push(b"2}\r\n\n{\"c\":3}\n{\"d\"");
        assert_eq!(b.next_line().unwrap(), b"{\"b\":2}");
        assert_eq!(b.next_line().unwrap(), b"{\"c\":3}");
        assert_eq!(b.next_line(), None);
        assert_eq!(b.take_rest().unwrap(), b"{\"d\"");
    }

    #[test]
    fn multibyte_split_inside_a_character() {
        let text = "{\"t\":\"⚡\"}\n".as_bytes();
        let mut b = LineBuffer::default();
        b.push(&text[..8]);
        assert_eq!(b.next_line(), None);
        b.push(&text[8..]);
        assert_eq!(
            String::from_utf8(b.next_line().unwrap()).unwrap(),
            "{\"t\":\"⚡\"}"
        );
    }
}
