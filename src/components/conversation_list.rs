//! The sidebar's list of conversations.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use super::chat_state::ChatState;
use crate::{api::conversations::list_conversations, i18n::t, session::with_refresh};

#[component]
pub fn ConversationList() -> impl IntoView {
    let chat = ChatState::get();
    let conversations = Resource::new(
        move || chat.list_version.get(),
        |_| with_refresh(list_conversations),
    );
    let params = use_params_map();
    let current = move || params.read().get("id");
    view! {
        <nav class="conversation-list" aria-label=t().conversations data-testid="conversation-list">
            <Transition fallback=|| view! { <p class="muted">{t().loading}</p> }>
                {move || Suspend::new(async move {
                    match conversations.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">{t().no_conversations}</p> }.into_any(),
                        Ok(list) => view! {
                            <ul>
                                {list.into_iter().map(|c| {
                                    let href = format!("/c/{}", c.id);
                                    let id = c.id.clone();
                                    let active = move || current().as_deref() == Some(id.as_str());
                                    view! {
                                        <li>
                                            <A href=href attr:class=move || if active() { "conversation-item active" } else { "conversation-item" } attr:data-testid="conversation-item">
                                                {if c.title.is_empty() { t().new_chat.to_string() } else { c.title }}
                                            </A>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{crate::i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}
