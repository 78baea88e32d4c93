//! `/admin/usage`: activity and tokens per day or per user, as a chart and a table.

use leptos::prelude::*;

use super::{chart::TokenChart, non_empty};
use crate::{
    admin_model::UsageRow,
    api::admin::admin_usage,
    i18n::{self, number, seconds, ta},
    session::with_refresh,
};

#[component]
pub fn AdminUsagePage() -> impl IntoView {
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let group_by = RwSignal::new("day".to_string());
    let report = Resource::new(
        move || (from.get(), to.get(), group_by.get()),
        |(from, to, group_by)| async move {
            with_refresh(|| {
                admin_usage(
                    non_empty(from.clone()),
                    non_empty(to.clone()),
                    Some(group_by.clone()),
                )
            })
            .await
        },
    );
    view! {
        <section class="admin-page" data-testid="admin-usage">
            <h1>{ta().usage}</h1>
            <div class="filters">
                <label>{ta().from} " " <input type="date" on:change=move |ev| from.set(event_target_value(&ev)) /></label>
                <label>{ta().to} " " <input type="date" on:change=move |ev| to.set(event_target_value(&ev)) /></label>
                <select aria-label=ta().group_by data-testid="usage-group" on:change=move |ev| group_by.set(event_target_value(&ev))>
                    <option value="day">{ta().group_by_day}</option>
                    <option value="user">{ta().group_by_user}</option>
                </select>
            </div>
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(r) => {
                            let by_day = r.group_by == "day";
                            view! {
                                <p class="muted">{format!("{} → {}", r.from, r.to)}</p>
                                {by_day.then(|| view! { <TokenChart rows=r.rows.clone() title=ta().chart_title /> })}
                                <table class="admin-table" data-testid="usage-table">
                                    <thead><tr>
                                        <th>{if by_day { ta().day } else { ta().user }}</th>
                                        <th class="num">{ta().active_users}</th>
                                        <th class="num">{ta().conversations}</th>
                                        <th class="num">{ta().messages}</th>
                                        <th class="num">{ta().prompt_tokens}</th>
                                        <th class="num">{ta().completion_tokens}</th>
                                        <th class="num">{ta().generation_time}</th>
                                        <th class="num">{ta().failed}</th>
                                        <th class="num">{ta().interrupted}</th>
                                    </tr></thead>
                                    <tbody>
                                        {r.rows.into_iter().map(|row| usage_row(row, false)).collect_view()}
                                        {usage_row(UsageRow { label: ta().total.to_string(), ..r.totals }, true)}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn usage_row(r: UsageRow, total: bool) -> impl IntoView {
    view! {
        <tr class=if total { "total" } else { "" } data-testid=if total { "usage-total" } else { "usage-row" }>
            <td>{r.label}</td>
            <td class="num">{number(r.active_users)}</td>
            <td class="num">{number(r.conversations)}</td>
            <td class="num">{number(r.messages)}</td>
            <td class="num" data-testid="prompt-tokens">{number(r.prompt_tokens)}</td>
            <td class="num" data-testid="completion-tokens">{number(r.completion_tokens)}</td>
            <td class="num">{seconds(r.generation_ms as f64 / 1000.0)}</td>
            <td class="num">{number(r.failed)}</td>
            <td class="num">{number(r.interrupted)}</td>
        </tr>
    }
}
