//! Numbers and dates written the way each language writes them. Times are UTC, as stored.

use super::{Lang, current};

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A whole number with thousands grouped: `12.345` (Spanish groups from five digits on, as
/// `Intl.NumberFormat('es')` does), `12,345` in English.
pub fn number(n: i64) -> String {
    number_in(current(), n)
}

/// Seconds with one decimal: `1,5 s`, `1.5 s`.
pub fn seconds(secs: f64) -> String {
    let text = format!("{secs:.1} s");
    match current() {
        Lang::Es => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A stored time (`2026-11-25T10:11:12.123Z`) to the minute: `25/11/2026 10:11`,
/// `25 Nov 2026, 10:11`. Anything unexpected is shown as it came.
pub fn date_time(stamp: &str) -> String {
    date_time_in(current(), stamp)
}

/// A day (`2026-11-25`) without its year: `25/11`, `25 Nov`.
pub fn day_month(day: &str) -> String {
    match (current(), parse_date(day)) {
        (Lang::Es, Some((_, m, d))) => format!("{d:02}/{m:02}"),
        (Lang::En, Some((_, m, d))) => format!("{d} {}", MONTHS_EN[m - 1]),
        (_, None) => day.to_string(),
    }
}

fn number_in(lang: Lang, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let (separator, min_digits) = match lang {
        Lang::Es => ('.', 5),
        Lang::En => (',', 4),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    if digits.len() < min_digits {
        out.push_str(&digits);
        return out;
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

fn date_time_in(lang: Lang, stamp: &str) -> String {
    let (Some((y, m, d)), Some(time)) = (parse_date(stamp), stamp.get(11..16)) else {
        return stamp.to_string();
    };
    match lang {
        Lang::Es => format!("{d:02}/{m:02}/{y} {time}"),
        Lang::En => format!("{d} {} {y}, {time}", MONTHS_EN[m - 1]),
    }
}

/// `YYYY-MM-DD…` as (year, month 1-12, day).
fn parse_date(text: &str) -> Option<(u32, usize, u32)> {
    let y = text.get(0..4)?.parse().ok()?;
    let m: usize = text.get(5..7)?.parse().ok()?;
    let d = text.get(8..10)?.parse().ok()?;
    (text.get(4..5) == Some("-") && (1..=12).contains(&m)).then_some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_per_language() {
        assert_eq!(number_in(Lang::Es, 1234), "1234");
        assert_eq!(number_in(Lang::Es, 12345), "12.345");
        assert_eq!(number_in(Lang::Es, 1234567), "1.234.567");
        assert_eq!(number_in(Lang::En, 1234), "1,234");
        assert_eq!(number_in(Lang::En, 999), "999");
        assert_eq!(number_in(Lang::En, -1234567), "-1,234,567");
        assert_eq!(number_in(Lang::En, 0), "0");
    }

    #[test]
    fn times_are_written_per_language() {
        let stamp = "2026-03-05T09:07:12.123Z";
        assert_eq!(date_time_in(Lang::Es, stamp), "05/03/2026 09:07");
        assert_eq!(date_time_in(Lang::En, stamp), "5 Mar 2026, 09:07");
        assert_eq!(date_time_in(Lang::En, "garbage"), "garbage");
        assert_eq!(
            date_time_in(Lang::Es, "2026-13-01T00:00"),
            "2026-13-01T00:00"
        );
    }
}
