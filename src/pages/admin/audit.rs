//! `/admin/audit`: who did what to whom, when and from where. Read-only.

use leptos::prelude::*;

use super::{
    non_empty,
    pager::{Pager, PagerButtons},
};
use crate::{
    admin_model::AuditFilter,
    api::admin::admin_audit,
    i18n::{self, audit_action, date_time, ta},
    session::with_refresh,
};

const ACTIONS: [&str; 9] = [
    "user.created",
    "user.activated",
    "user.deactivated",
    "user.role_changed",
    "user.password_reset",
    "api_key.created",
    "api_key.disabled",
    "api_key.enabled",
    "api_key.revoked",
];

/// The fields that changed, as `field: before → after`; for a creation, the new values.
fn describe_change(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> String {
    let Some(after) = after.and_then(|a| a.as_object()) else {
        return String::new();
    };
    after
        .iter()
        .filter_map(|(field, new)| match before.map(|b| &b[field]) {
            Some(old) if old == new => None,
            Some(old) => Some(format!("{field}: {old} → {new}")),
            None => Some(format!("{field}: {new}")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let pager = Pager::new();
    let filter = Memo::new(move |_| AuditFilter {
        action: non_empty(action.get()),
        from: non_empty(from.get()),
        to: non_empty(to.get()),
        limit: Some(50),
        ..AuditFilter::default()
    });
    let page = Resource::new(
        move || (filter.get(), pager.current()),
        |(filter, cursor)| async move {
            let filter = AuditFilter { cursor, ..filter };
            with_refresh(|| admin_audit(filter.clone())).await
        },
    );
    view! {
        <section class="admin-page" data-testid="admin-audit">
            <h1>{ta().audit}</h1>
            <div class="filters">
                <select aria-label=ta().action on:change=pager.filter(action) data-testid="filter-action">
                    <option value="">{ta().any_action}</option>
                    {ACTIONS.into_iter().map(|a| view! { <option value=a>{audit_action(a)}</option> }).collect_view()}
                </select>
                <label>{ta().from} " " <input type="date" on:change=pager.filter(from) /></label>
                <label>{ta().to} " " <input type="date" on:change=pager.filter(to) /></label>
            </div>
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) if page.items.is_empty() => view! { <p class="muted">{ta().none_found}</p> }.into_any(),
                        Ok(page) => view! {
                            <table class="admin-table" data-testid="audit-table">
                                <thead><tr>
                                    <th>{ta().when}</th><th>{ta().who}</th><th>{ta().action}</th>
                                    <th>{ta().target}</th><th>{ta().change}</th><th>{ta().ip}</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|e| {
                                        let change = describe_change(e.before.as_ref(), e.after.as_ref());
                                        view! {
                                            <tr data-testid="audit-row" data-action=e.action.clone()>
                                                <td>{date_time(&e.created_at)}</td>
                                                <td>{e.actor_email}</td>
                                                <td>{audit_action(&e.action)}</td>
                                                <td>{e.target_label}</td>
                                                <td><code>{change}</code></td>
                                                <td>{e.ip.unwrap_or_default()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <PagerButtons pager next=page.next_cursor />
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
