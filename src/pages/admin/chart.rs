//! A small bar chart drawn as SVG (no chart library): one bar per row, stacked prompt and
//! completion tokens.

use leptos::prelude::*;

use crate::{
    admin_model::UsageRow,
    i18n::{day_month, number},
};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const BOTTOM: f64 = 20.0;

#[component]
pub fn TokenChart(rows: Vec<UsageRow>, title: &'static str) -> impl IntoView {
    let max = rows
        .iter()
        .map(|r| r.prompt_tokens + r.completion_tokens)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = rows.len().max(1) as f64;
    let slot = WIDTH / n;
    let bar = (slot * 0.7).max(1.0);
    let scale = (HEIGHT - BOTTOM) / max;
    let label_every = (rows.len() / 8).max(1);
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let x = i as f64 * slot + (slot - bar) / 2.0;
            let prompt_h = r.prompt_tokens as f64 * scale;
            let completion_h = r.completion_tokens as f64 * scale;
            let base = HEIGHT - BOTTOM;
            let tip = format!(
                "{}: {} + {}",
                r.label,
                number(r.prompt_tokens),
                number(r.completion_tokens)
            );
            let label = (i % label_every == 0).then(|| {
                let short = day_month(&r.label);
                view! {
                    <text x=x + bar / 2.0 y=HEIGHT - 5.0 text-anchor="middle" class="chart-label">{short}</text>
                }
            });
            view! {
                <g data-testid="chart-bar">
                    <title>{tip}</title>
                    <rect x=x y=base - prompt_h width=bar height=prompt_h class="bar-prompt" />
                    <rect x=x y=base - prompt_h - completion_h width=bar height=completion_h class="bar-completion" />
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title data-testid="usage-chart">
                <line x1="0" x2=WIDTH y1=HEIGHT - BOTTOM y2=HEIGHT - BOTTOM class="chart-axis" />
                {bars}
            </svg>
            <figcaption class="muted">{title}</figcaption>
        </figure>
    }
}
