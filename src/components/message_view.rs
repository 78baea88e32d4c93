//! One chat message.

use leptos::prelude::*;

use crate::{
    i18n::t,
    model::{MessageRole, MessageStatus},
};

/// A message bubble. Text is always rendered as text (never as HTML).
#[component]
pub fn MessageView(
    role: MessageRole,
    #[prop(into)] content: Signal<String>,
    #[prop(into)] status: Signal<MessageStatus>,
    #[prop(into, optional)] error: Signal<Option<String>>,
) -> impl IntoView {
    let who = match role {
        MessageRole::User => t().you,
        _ => t().assistant,
    };
    let note = move || match status.get() {
        MessageStatus::Streaming => {
            Some(view! { <span class="generating">{t().generating}</span> }.into_any())
        }
        MessageStatus::Failed => {
            Some(view! { <span class="status-note failed">{t().status_failed}</span> }.into_any())
        }
        MessageStatus::Stopped => {
            Some(view! { <span class="status-note">{t().status_stopped}</span> }.into_any())
        }
        MessageStatus::Interrupted => {
            Some(view! { <span class="status-note">{t().status_interrupted}</span> }.into_any())
        }
        MessageStatus::Complete => None,
    };
    view! {
        <article
            class=format!("message {}", role.as_str())
            data-testid="message"
            data-role=role.as_str()
            data-status=move || status.get().as_str()
        >
            <header class="message-author">{who} {note}</header>
            <div class="message-content" data-testid="message-content">{move || content.get()}</div>
            {move || error.get().map(|e| view! { <p class="message-error" role="alert">{e}</p> })}
        </article>
    }
}
