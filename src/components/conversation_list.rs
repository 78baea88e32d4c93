//! The sidebar's conversations: search by title, grouped by Today / Yesterday / Older, each
//! with rename (inline), close/reopen and delete.

use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use super::chat_state::ChatState;
use crate::{
    api::conversations::{delete_conversation, list_conversations, update_conversation},
    clock::today_and_yesterday,
    i18n::t,
    model::ConversationSummary,
    session::with_refresh,
};

#[component]
pub fn ConversationList() -> impl IntoView {
    let chat = ChatState::get();
    let conversations = Resource::new(
        move || chat.list_version.get(),
        |_| with_refresh(list_conversations),
    );
    let search = RwSignal::new(String::new());
    view! {
        <div class="conversation-search">
            <input type="search" placeholder=t().search_conversations aria-label=t().search_conversations
                data-testid="conversation-search" prop:value=search
                on:input=move |ev| search.set(event_target_value(&ev)) />
        </div>
        <nav class="conversation-list" aria-label=t().conversations data-testid="conversation-list">
            <Transition fallback=|| view! { <div class="skeleton list" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match conversations.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">{t().no_conversations}</p> }.into_any(),
                        Ok(list) => view! { <Groups list search /> }.into_any(),
                        Err(e) => view! { <p class="form-error">{crate::i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}

#[component]
fn Groups(list: Vec<ConversationSummary>, search: RwSignal<String>) -> impl IntoView {
    let list = StoredValue::new(list);
    move || {
        let needle = search.get().trim().to_lowercase();
        let (today, yesterday) = today_and_yesterday();
        let mut groups: [(&'static str, Vec<ConversationSummary>); 3] = [
            (t().today, vec![]),
            (t().yesterday, vec![]),
            (t().older, vec![]),
        ];
        for c in list.get_value() {
            if !needle.is_empty() && !c.title.to_lowercase().contains(&needle) {
                continue;
            }
            let day = c.updated_at.get(..10).unwrap_or_default();
            let slot = if day == today {
                0
            } else if day == yesterday {
                1
            } else {
                2
            };
            groups[slot].1.push(c);
        }
        groups
            .into_iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(label, items)| view! {
                <section class="conversation-group">
                    <h2 class="group-label">{label}</h2>
                    <ul>{items.into_iter().map(|c| view! { <Item conversation=c /> }).collect_view()}</ul>
                </section>
            })
            .collect_view()
    }
}

#[component]
fn Item(conversation: ConversationSummary) -> impl IntoView {
    let chat = ChatState::get();
    let params = use_params_map();
    let navigate = use_navigate();
    let ConversationSummary {
        id, title, status, ..
    } = conversation;
    let closed = status == "closed";
    let href = StoredValue::new(format!("/c/{id}"));
    let id = StoredValue::new(id);
    let shown_title = StoredValue::new(if title.is_empty() {
        t().new_chat.to_string()
    } else {
        title.clone()
    });
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(title);
    let active = move || params.read().get("id").as_deref() == Some(id.get_value().as_str());

    let update = Action::new(move |(title, status): &(Option<String>, Option<String>)| {
        let (title, status) = (title.clone(), status.clone());
        async move {
            let _ =
                with_refresh(|| update_conversation(id.get_value(), title.clone(), status.clone()))
                    .await;
            chat.list_version.update(|v| *v += 1);
        }
    });
    let remove = Action::new(move |_: &()| {
        let navigate = navigate.clone();
        let was_open = active();
        async move {
            if with_refresh(|| delete_conversation(id.get_value()))
                .await
                .is_ok()
                && was_open
            {
                navigate("/", Default::default());
            }
            chat.list_version.update(|v| *v += 1);
        }
    });
    let save = move || {
        editing.set(false);
        let title = draft.get_untracked().trim().to_string();
        if !title.is_empty() {
            update.dispatch((Some(title), None));
        }
    };
    view! {
        <li class="conversation-row" data-testid="conversation-row" data-closed=closed.to_string()>
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <A href=href.get_value()
                        attr:class=move || if active() { "conversation-item active" } else { "conversation-item" }
                        attr:data-testid="conversation-item">
                        {closed.then_some("🔒 ")}{shown_title.get_value()}
                    </A>
                    <span class="item-actions">
                        <button type="button" class="icon" title=t().rename aria-label=t().rename data-testid="rename"
                            on:click=move |_| editing.set(true)>"✎"</button>
                        <button type="button" class="icon" data-testid="toggle-closed"
                            title=if closed { t().reopen_conversation } else { t().close_conversation }
                            aria-label=if closed { t().reopen_conversation } else { t().close_conversation }
                            on:click=move |_| { update.dispatch((None, Some(if closed { "open" } else { "closed" }.to_string()))); }>
                            {if closed { "↺" } else { "✓" }}
                        </button>
                        <button type="button" class="icon" title=t().delete_conversation aria-label=t().delete_conversation
                            data-testid="delete" on:click=move |_| {
                                if crate::pages::admin::confirm(t().confirm_delete) { remove.dispatch(()); }
                            }>"🗑"</button>
                    </span>
                }
            >
                <input class="rename-input" data-testid="rename-input" aria-label=t().rename
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                        "Enter" => { ev.prevent_default(); save(); }
                        "Escape" => editing.set(false),
                        _ => {}
                    }
                    on:blur=move |_| { if editing.get_untracked() { save() } } />
            </Show>
        </li>
    }
}
