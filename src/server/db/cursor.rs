//! Keyset pagination: a page ends at its last item, and the next page starts after it, so
//! rows inserted meanwhile never shift or repeat items.

/// The sort key and id of the last item of a page. Opaque to clients (hex of `key|id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: String,
}

impl Cursor {
    pub fn new(key: &str, id: &str) -> Cursor {
        Cursor {
            key: key.to_string(),
            id: id.to_string(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}|{}", self.key, self.id)
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        if !text.len().is_multiple_of(2) || text.len() > 1000 {
            return None;
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let text = String::from_utf8(bytes).ok()?;
        let (key, id) = text.rsplit_once('|')?;
        Some(Cursor::new(key, id))
    }

    /// Decodes the `cursor` parameter of a request (422 when it is not one of ours).
    pub fn param(text: Option<&str>) -> Result<Option<Cursor>, crate::error::AppError> {
        match text.filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => Cursor::decode(t).map(Some).ok_or_else(|| {
                crate::error::AppError::validation("cursor", "is not a cursor from this API")
            }),
        }
    }
}

/// Most items in one page of any list.
pub const MAX_PAGE: i64 = 200;

/// A page size from a `limit` parameter (1 to 200; `default` when absent), or 422.
pub fn page_size(limit: Option<i64>, default: i64) -> Result<i64, crate::error::AppError> {
    match limit.unwrap_or(default) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(crate::error::AppError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor::new("2026-11-25T10:00:00.000001Z", "0193a-b");
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let with_bar = Cursor::new("a|b", "id");
        assert_eq!(Cursor::decode(&with_bar.encode()), Some(with_bar));
        for bad in ["", "zz", "abc", "6869"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
