//! One chat message.

use leptos::prelude::*;

use crate::{
    i18n::t,
    model::{MessageRole, MessageStatus},
};

/// A message bubble. A person's text is shown as typed; an answer is rendered as Markdown that
/// cannot run anything (see `markdown`).
/// Copy buttons of code blocks (browser only).
fn on_content_click(event: &leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    crate::client::clipboard::copy_code_on_click(event);
    #[cfg(not(feature = "hydrate"))]
    let _ = event;
}

#[component]
pub fn MessageView(
    role: MessageRole,
    #[prop(into)] content: Signal<String>,
    #[prop(into)] status: Signal<MessageStatus>,
    #[prop(into, optional)] error: Signal<Option<String>>,
    /// Offered on a failed, stopped or interrupted answer: asks the question again.
    #[prop(into, optional)]
    retry: Signal<Option<Callback<()>>>,
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
            {match role {
                MessageRole::Assistant => view! {
                    <div class="message-content markdown" data-testid="message-content"
                        on:click=move |ev| on_content_click(&ev)
                        inner_html=move || crate::markdown::to_html(&content.get())></div>
                }.into_any(),
                _ => view! {
                    <div class="message-content plain" data-testid="message-content">{move || content.get()}</div>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <p class="message-error" role="alert">{e}</p> })}
            {move || retry.get().map(|retry| view! {
                <button type="button" class="button small retry" data-testid="retry" on:click=move |_| retry.run(())>
                    {t().retry}
                </button>
            })}
        </article>
    }
}
