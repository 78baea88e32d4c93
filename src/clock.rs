//! Today's date (UTC, `YYYY-MM-DD`) on the server and in the browser alike, so that both
//! group conversations the same way.

/// Today and yesterday, UTC.
pub fn today_and_yesterday() -> (String, String) {
    let now_ms = now_millis();
    let day = |ms: f64| {
        let days = (ms / 86_400_000.0).floor() as i64;
        civil_from_days(days)
    };
    (day(now_ms), day(now_ms - 86_400_000.0))
}

#[cfg(feature = "ssr")]
fn now_millis() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64
}

#[cfg(not(feature = "ssr"))]
fn now_millis() -> f64 {
    js_sys::Date::now()
}

/// Days since 1970-01-01 as a date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn days_map_to_dates() {
        assert_eq!(civil_from_days(0), "1970-01-01");
        assert_eq!(civil_from_days(20_417), "2025-11-25");
        assert_eq!(civil_from_days(19_782), "2024-02-29");
    }
}
