//! Splits a byte stream into lines: a line may span reads, and a read may hold many lines.
//!
//! Lines are taken from a read offset; the consumed front is dropped only when a new read
//! comes in, so a read holding hundreds of short lines (a fast model) costs one copy of the
//! rest, not one per line.

#[derive(Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Where the unread part of `buf` starts.
    start: usize,
    /// How much of the unread part is known to hold no `\n`: a long line arriving in many
    /// reads is searched once, not again from its start at every read.
    searched: usize,
}

impl LineBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete, non-blank line (without its `\n`), if one has arrived.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let unread = &self.buf[self.start..];
            let Some(found) = unread[self.searched..].iter().position(|&b| b == b'\n') else {
                self.searched = unread.len();
                return None;
            };
            let pos = self.searched + found;
            let mut line = &unread[..pos];
            self.start += pos + 1;
            self.searched = 0;
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(line.to_vec());
            }
        }
    }

    /// Whatever is left after the stream ended (a last line with no `\n`).
    pub fn take_rest(&mut self) -> Option<Vec<u8>> {
        let mut rest = std::mem::take(&mut self.buf);
        rest.drain(..std::mem::take(&mut self.start));
        self.searched = 0;
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
    fn a_long_line_over_many_reads_comes_whole_then_the_next() {
        let mut b = LineBuffer::default();
        for _ in 0..300 {
            b.push(&[b'x'; 4096]);
            assert_eq!(b.next_line(), None);
        }
        b.push(b"y\n{\"n\":");
        let line = b.next_line().unwrap();
        assert_eq!(line.len(), 300 * 4096 + 1);
        assert!(line.ends_with(b"xy"));
        assert_eq!(b.next_line(), None);
        b.push(b"1}\n");
        assert_eq!(b.next_line().unwrap(), b"{\"n\":1}");
    }

    #[test]
    fn many_lines_in_one_read_then_more() {
        let mut b = LineBuffer::default();
        let read: String = (0..500).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        b.push(read.as_bytes());
        b.push(b"{\"n\":");
        for i in 0..500 {
            assert_eq!(b.next_line().unwrap(), format!("{{\"n\":{i}}}").as_bytes());
        }
        assert_eq!(b.next_line(), None);
        b.push(b"500}\n");
        assert_eq!(b.next_line().unwrap(), b"{\"n\":500}");
        assert_eq!(b.take_rest(), None);
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
