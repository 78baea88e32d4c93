//! The question box: Enter sends, Shift+Enter is a new line, disabled while an answer streams.

use std::rc::Rc;

use leptos::{ev::KeyboardEvent, prelude::*};
use leptos_router::hooks::use_navigate;

use super::chat_state::ChatState;
use crate::{chat_stream, i18n::t};

#[component]
pub fn Composer(
    #[prop(into)] conversation_id: Signal<Option<String>>,
    /// A closed conversation takes no new questions.
    #[prop(into)]
    closed: Signal<bool>,
) -> impl IntoView {
    let chat = ChatState::get();
    let text = RwSignal::new(String::new());
    let navigate = use_navigate();
    let on_new_conversation: Rc<dyn Fn(String)> =
        Rc::new(move |id: String| navigate(&format!("/c/{id}"), Default::default()));
    let submit = move || {
        let question = text.get_untracked();
        if question.trim().is_empty() || chat.is_streaming() || closed.get_untracked() {
            return;
        }
        text.set(String::new());
        chat_stream::send(
            chat,
            conversation_id.get_untracked(),
            question,
            on_new_conversation.clone(),
        );
    };
    let submit_on_enter = submit.clone();
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <textarea
                data-testid="composer-input"
                aria-label=t().composer_placeholder
                placeholder=t().composer_placeholder
                rows="2"
                disabled=move || closed.get()
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=move |ev: KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit_on_enter();
                    }
                }
            ></textarea>
            <Show
                when=move || chat.is_streaming()
                fallback=|| view! { <button type="submit" class="primary" data-testid="composer-send">{t().send}</button> }
            >
                <button type="button" class="stop" data-testid="composer-stop" on:click=move |_| chat_stream::stop(chat)>
                    {t().stop}
                </button>
            </Show>
        </form>
    }
}
