//! The usage report: per day or per user, over a range of days (default: the last 30).

use super::dates;
use crate::{
    admin_model::UsageReport,
    error::AppError,
    server::{
        db::usage::{self, GroupBy},
        state::AppState,
    },
};

/// One row per day of the range (days without activity are zeros): a continuous series.
fn every_day(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    rows: Vec<crate::admin_model::UsageRow>,
) -> Vec<crate::admin_model::UsageRow> {
    let mut by_day: std::collections::HashMap<String, _> =
        rows.into_iter().map(|r| (r.key.clone(), r)).collect();
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let key = d.format("%Y-%m-%d").to_string();
            by_day
                .remove(&key)
                .unwrap_or_else(|| crate::admin_model::UsageRow {
                    label: key.clone(),
                    key,
                    ..Default::default()
                })
        })
        .collect()
}

/// Longest report, in days.
const MAX_DAYS: i64 = 366;

pub async fn report(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    group_by: Option<&str>,
) -> Result<UsageReport, AppError> {
    let group = match group_by.unwrap_or("day") {
        "day" => GroupBy::Day,
        "user" => GroupBy::User,
        _ => return Err(AppError::validation("group_by", "must be day or user")),
    };
    let to_day = match to.filter(|t| !t.is_empty()) {
        Some(t) => dates::parse_day("to", t)?,
        None => dates::today(),
    };
    let from_day = match from.filter(|f| !f.is_empty()) {
        Some(f) => dates::parse_day("from", f)?,
        None => to_day - chrono::Days::new(29),
    };
    if from_day > to_day {
        return Err(AppError::validation("to", "must not be before from"));
    }
    if (to_day - from_day).num_days() >= MAX_DAYS {
        return Err(AppError::validation(
            "from",
            "the range is at most 366 days",
        ));
    }
    let end = to_day.succ_opt().unwrap_or(to_day);
    // Every answer announced as ended is counted.
    state.settling.all_settled().await;
    let (rows, totals) = usage::report(
        &state.db,
        &dates::start_of(from_day),
        &dates::start_of(end),
        group,
    )
    .await?;
    let rows = if group == GroupBy::Day {
        every_day(from_day, to_day, rows)
    } else {
        rows
    };
    Ok(UsageReport {
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        group_by: if group == GroupBy::Day { "day" } else { "user" }.into(),
        rows,
        totals,
    })
}
