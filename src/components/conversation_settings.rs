//! The conversation's bar: its model, and a small panel to choose the model and the system
//! prompt. In a new chat the choice waits for the first question (it creates the conversation
//! with them); in an existing one it is saved and applies from the next question.

use leptos::prelude::*;

use super::chat_state::{ChatState, DraftSettings};
use crate::{
    api::{conversations::update_conversation_settings, models::available_models},
    i18n::{self, t},
    model::{ConversationSummary, ModelChoices},
    session::with_refresh,
};

#[derive(Clone, PartialEq)]
enum Notice {
    Saved(&'static str),
    Failed(String),
}

#[component]
pub fn ConversationSettings(
    /// `None`: a new chat, not created yet.
    conversation: Option<ConversationSummary>,
) -> impl IntoView {
    let chat = ChatState::get();
    let id = conversation.as_ref().map(|c| c.id.clone());
    let is_new = id.is_none();
    let closed = conversation.as_ref().is_some_and(|c| c.status == "closed");
    // What the conversation uses now (a new chat: what the person chose for it, if anything).
    let (model, prompt) = match &conversation {
        Some(c) => (
            Some(c.model.clone()),
            c.system_prompt.clone().unwrap_or_default(),
        ),
        None => chat
            .draft
            .with_untracked(|d| (d.model.clone(), d.system_prompt.clone())),
    };
    let model = RwSignal::new(model);
    let prompt = RwSignal::new(prompt);
    let open = RwSignal::new(false);
    let choices = RwSignal::new(None::<Result<ModelChoices, String>>);
    let notice = RwSignal::new(None::<Notice>);
    let saving = RwSignal::new(false);

    let toggle = move |_| {
        notice.set(None);
        open.update(|o| *o = !*o);
        if open.get_untracked() && choices.get_untracked().is_none() {
            leptos::task::spawn_local(async move {
                let found = with_refresh(available_models).await;
                choices.set(Some(found.map_err(|e| i18n::error_message(&e))));
            });
        }
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen_model = model.get_untracked();
        let chosen_prompt = prompt.get_untracked();
        let Some(id) = id.clone() else {
            chat.draft.set(DraftSettings {
                model: chosen_model,
                system_prompt: chosen_prompt,
            });
            notice.set(Some(Notice::Saved(t().settings_apply_next)));
            return;
        };
        let default = choices.with_untracked(|c| match c {
            Some(Ok(c)) => c.default.clone(),
            _ => String::new(),
        });
        let chosen_model = chosen_model.unwrap_or(default);
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = with_refresh(|| {
                update_conversation_settings(
                    id.clone(),
                    chosen_model.clone(),
                    chosen_prompt.clone(),
                )
            })
            .await;
            saving.set(false);
            notice.set(Some(match result {
                Ok(()) => Notice::Saved(t().settings_saved),
                Err(e) => Notice::Failed(i18n::error_message(&e)),
            }));
        });
    };
    let shown_model = move || {
        model.get().or_else(|| {
            choices.with(|c| match c {
                Some(Ok(c)) => Some(c.default.clone()),
                _ => None,
            })
        })
    };

    view! {
        <div class="conversation-bar">
            <span class="model-chip" data-testid="model-chip" title=t().model>
                {move || shown_model().unwrap_or_else(|| t().default_model.to_string())}
            </span>
            <button type="button" class="button small settings-toggle" data-testid="settings-toggle"
                aria-expanded=move || open.get().to_string() aria-controls="conversation-settings"
                disabled=closed on:click=toggle>
                "⚙ " {t().settings}
            </button>
        </div>
        <Show when=move || open.get()>
            <form id="conversation-settings" class="settings-panel" data-testid="settings-panel"
                aria-label=t().settings on:submit=save.clone()>
                <label>
                    <span>{t().model}</span>
                    <select data-testid="settings-model"
                        on:change=move |ev| model.set(Some(event_target_value(&ev)))>
                        {move || model_options(choices.get(), model.get_untracked())}
                    </select>
                </label>
                <label>
                    <span>{t().system_prompt}</span>
                    <textarea data-testid="settings-prompt" rows="4" aria-describedby="system-prompt-hint"
                        prop:value=move || prompt.get()
                        on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
                </label>
                <p class="muted hint" id="system-prompt-hint">{t().system_prompt_hint}</p>
                {move || notice.get().map(|n| match n {
                    Notice::Saved(text) => view! { <p class="notice ok" role="status" data-testid="settings-notice">{text}</p> }.into_any(),
                    Notice::Failed(text) => view! { <p class="form-error" role="alert" data-testid="settings-notice">{text}</p> }.into_any(),
                })}
                <div class="row-actions">
                    <button type="submit" class="primary" data-testid="settings-save" disabled=move || saving.get()>
                        {t().save}
                    </button>
                    <button type="button" class="button" on:click=move |_| open.set(false)>{t().close}</button>
                </div>
                {is_new.then(|| view! { <p class="muted hint">{t().settings_apply_next}</p> })}
            </form>
        </Show>
    }
}

/// The model list: the installed models (the default one marked), or the current model alone
/// while they load or when Ollama cannot be asked.
fn model_options(
    choices: Option<Result<ModelChoices, String>>,
    current: Option<String>,
) -> impl IntoView {
    match choices {
        Some(Ok(c)) => {
            let current = current.unwrap_or_else(|| c.default.clone());
            let mut names = c.names.clone();
            if !names.contains(&current) {
                names.insert(0, current.clone());
            }
            names
                .into_iter()
                .map(|name| {
                    let label = if name == c.default {
                        format!("{name} ({})", t().default_mark)
                    } else {
                        name.clone()
                    };
                    {
                        let selected = name == current;
                        view! { <option value=name selected=selected>{label}</option> }
                    }
                })
                .collect_view()
                .into_any()
        }
        Some(Err(message)) => view! {
            {current.map(|m| view! { <option value=m.clone() selected=true>{m.clone()}</option> })}
            <option disabled=true>{message}</option>
        }
        .into_any(),
        None => view! { <option disabled=true>{t().loading}</option> }.into_any(),
    }
}
