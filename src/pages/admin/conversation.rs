//! `/admin/conversations/{id}`: one conversation, every message with its status and metadata.
//! Read-only: there is no control to change anything.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::conversations::status_label;
use crate::{
    api::admin::admin_conversation,
    components::message_view::MessageView,
    i18n::{self, date_time, number, seconds, ta},
    model::MessageView as Message,
    session::with_refresh,
};

#[component]
pub fn AdminConversationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let detail = Resource::new(
        move || id.get(),
        |id| async move { with_refresh(|| admin_conversation(id.clone())).await },
    );
    view! {
        <section class="admin-page" data-testid="admin-conversation">
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => {
                            let c = d.conversation;
                            let title = if c.title.is_empty() { ta().untitled.to_string() } else { c.title };
                            view! {
                                <h1>{title}</h1>
                                <p class="muted" role="note" data-testid="read-only-note">{ta().read_only}</p>
                                <dl class="facts">
                                    <dt>{ta().owner}</dt><dd>{c.owner_email}</dd>
                                    <dt>{ta().status}</dt><dd data-testid="conversation-status">{status_label(&c.status)}</dd>
                                    <dt>{ta().model}</dt><dd>{c.model}</dd>
                                    <dt>{ta().last_activity}</dt><dd>{date_time(&c.updated_at)}</dd>
                                    <dt>{ta().system_prompt}</dt>
                                    <dd>{d.system_prompt.unwrap_or_else(|| ta().default_prompt.to_string())}</dd>
                                </dl>
                                <div class="message-list read-only">
                                    {d.messages.into_iter().map(message).collect_view()}
                                </div>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn message(m: Message) -> impl IntoView {
    let facts = m.meta.as_ref().map(meta_line).filter(|l| !l.is_empty());
    view! {
        <MessageView role=m.role content=m.content status=m.status />
        {facts.map(|line| view! { <p class="message-meta muted" data-testid="message-meta">{line}</p> })}
    }
}

/// Model, token counts, duration and error of an answer, on one line.
fn meta_line(meta: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(model) = meta["model"].as_str() {
        parts.push(model.to_string());
    }
    let usage = &meta["usage"];
    if let (Some(p), Some(c)) = (
        usage["prompt_tokens"].as_u64(),
        usage["completion_tokens"].as_u64(),
    ) {
        parts.push(format!(
            "{} + {} {}",
            number(p as i64),
            number(c as i64),
            ta().tokens
        ));
    }
    if let Some(ms) = usage["total_duration_ms"].as_f64() {
        parts.push(format!("{} {}", ta().duration, seconds(ms / 1000.0)));
    }
    if let Some(error) = meta["error"]["message"].as_str() {
        parts.push(format!("{}: {error}", ta().error));
    }
    if let Some(by) = meta["interrupted_by"].as_str() {
        parts.push(by.to_string());
    }
    parts.join(" · ")
}
