//! `/admin/conversations`: every user's conversations, filtered; each opens read-only.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{
    non_empty,
    pager::{Pager, PagerButtons},
};
use crate::{
    admin_model::ConversationFilter,
    api::admin::admin_conversations,
    i18n::{self, date_time, ta},
    session::with_refresh,
};

pub(crate) fn status_label(status: &str) -> &'static str {
    match status {
        "open" => ta().status_open,
        "closed" => ta().status_closed,
        _ => ta().status_deleted,
    }
}

#[component]
pub fn AdminConversationsPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let pager = Pager::new();
    let filter = Memo::new(move |_| ConversationFilter {
        q: non_empty(q.get()),
        status: non_empty(status.get()),
        from: non_empty(from.get()),
        to: non_empty(to.get()),
        limit: Some(25),
        ..ConversationFilter::default()
    });
    let page = Resource::new(
        move || (filter.get(), pager.current()),
        |(filter, cursor)| async move {
            let filter = ConversationFilter { cursor, ..filter };
            with_refresh(|| admin_conversations(filter.clone())).await
        },
    );
    view! {
        <section class="admin-page" data-testid="admin-conversations">
            <h1>{ta().conversations}</h1>
            <div class="filters">
                <input type="search" placeholder=ta().search_text aria-label=ta().search_text
                    data-testid="filter-q" on:change=pager.filter(q) />
                <select aria-label=ta().status on:change=pager.filter(status) data-testid="filter-status">
                    <option value="">{ta().any_status}</option>
                    <option value="open">{ta().status_open}</option>
                    <option value="closed">{ta().status_closed}</option>
                    <option value="deleted">{ta().status_deleted}</option>
                </select>
                <label>{ta().from} " " <input type="date" on:change=pager.filter(from) data-testid="filter-from" /></label>
                <label>{ta().to} " " <input type="date" on:change=pager.filter(to) data-testid="filter-to" /></label>
            </div>
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) if page.items.is_empty() => view! { <p class="muted">{ta().none_found}</p> }.into_any(),
                        Ok(page) => view! {
                            <table class="admin-table" data-testid="conversations-table">
                                <thead><tr>
                                    <th>{ta().owner}</th><th>{ta().title}</th><th>{ta().status}</th>
                                    <th>{ta().model}</th><th class="num">{ta().messages}</th><th>{ta().last_activity}</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|c| {
                                        let title = if c.title.is_empty() { ta().untitled.to_string() } else { c.title };
                                        view! {
                                            <tr data-testid="conversation-row" data-status=c.status.clone()>
                                                <td>{c.owner_email}</td>
                                                <td><A href=format!("/admin/conversations/{}", c.id) attr:data-testid="open-conversation">{title}</A></td>
                                                <td><span class=format!("badge {}", c.status)>{status_label(&c.status)}</span></td>
                                                <td>{c.model}</td>
                                                <td class="num">{c.messages}</td>
                                                <td>{date_time(&c.updated_at)}</td>
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
