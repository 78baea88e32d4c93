//! Day parameters (`YYYY-MM-DD`, UTC) turned into bounds on the stored RFC 3339 timestamps.

use chrono::{Datelike, NaiveDate, Utc};

use crate::error::AppError;

pub fn parse_day(field: &str, text: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::validation(field, "must be a date like 2026-11-25"))
}

/// The first instant of a day, comparable with stored timestamps as text.
pub fn start_of(day: NaiveDate) -> String {
    format!("{}T00:00:00", day.format("%Y-%m-%d"))
}

/// `[from, to]` days as `[start of from, start of the day after to)`; either may be missing.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<String>, Option<String>), AppError> {
    let from = from
        .filter(|d| !d.is_empty())
        .map(|d| parse_day("from", d))
        .transpose()?;
    let to = to
        .filter(|d| !d.is_empty())
        .map(|d| parse_day("to", d))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::validation("to", "must not be before from"));
    }
    Ok((
        from.map(start_of),
        to.and_then(|t| t.succ_opt()).map(start_of),
    ))
}

/// The first instant of the current month (UTC).
pub fn month_start() -> String {
    let today = Utc::now().date_naive();
    start_of(today.with_day(1).unwrap_or(today))
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_half_open_bounds() {
        let (from, to) = range(Some("2026-11-01"), Some("2026-11-30")).unwrap();
        assert_eq!(from.as_deref(), Some("2026-11-01T00:00:00"));
        assert_eq!(to.as_deref(), Some("2026-12-01T00:00:00"));
        // A stored timestamp of the last day sorts inside, the next day's outside.
        assert!("2026-11-30T23:59:59.999999Z" < to.as_deref().unwrap());
        assert!("2026-12-01T00:00:00.000000Z" >= to.as_deref().unwrap());
        assert!(range(Some("2026-13-01"), None).is_err());
        assert!(range(Some("2026-11-02"), Some("2026-11-01")).is_err());
        assert_eq!(range(None, Some("")).unwrap(), (None, None));
    }
}
