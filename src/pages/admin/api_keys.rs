//! `/admin/api-keys`: keys for the company's apps (OpenAI-compatible `/v1`): create (the
//! secret is shown once), disable or enable, revoke; usage this month.

use leptos::prelude::*;

use super::{confirm, non_empty};
use crate::{
    admin_model::{ApiKeyView, NewApiKey},
    api::admin::{
        admin_api_keys, admin_create_api_key, admin_revoke_api_key, admin_set_api_key_disabled,
    },
    i18n::{self, date_time, number, ta},
    session::with_refresh,
};

#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Secret(String, String),
    Failed(String),
}

#[component]
pub fn AdminApiKeysPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<Notice>);
    let keys = Resource::new(
        move || version.get(),
        |_| async move { with_refresh(admin_api_keys).await },
    );
    let refresh = move || version.update(|v| *v += 1);
    let set_disabled = Action::new(move |(id, disabled): &(String, bool)| {
        let (id, disabled) = (id.clone(), *disabled);
        async move {
            if let Err(e) = with_refresh(|| admin_set_api_key_disabled(id.clone(), disabled)).await
            {
                notice.set(Some(Notice::Failed(i18n::error_message(&e))));
            }
            refresh();
        }
    });
    let revoke = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            if let Err(e) = with_refresh(|| admin_revoke_api_key(id.clone())).await {
                notice.set(Some(Notice::Failed(i18n::error_message(&e))));
            }
            refresh();
        }
    });
    view! {
        <section class="admin-page" data-testid="admin-api-keys">
            <h1>{ta().api_keys}</h1>
            <NewKeyForm notice on_created=Callback::new(move |_| refresh()) />
            {move || notice.get().map(|n| match n {
                Notice::Secret(name, secret) => view! {
                    <p class="form-ok" role="status" data-testid="admin-notice">
                        {name} " — " {ta().key_secret} " " <code data-testid="new-key-secret">{secret}</code>
                    </p>
                }.into_any(),
                Notice::Failed(message) => view! { <p class="form-error" role="alert" data-testid="admin-notice">{message}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">{ta().none_found}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="admin-table" data-testid="keys-table">
                                <thead><tr>
                                    <th>{ta().key_name}</th><th>{ta().owner}</th><th>{ta().key_prefix}</th>
                                    <th>{ta().key_limits}</th><th>{ta().state}</th><th>{ta().last_used}</th>
                                    <th class="num">{ta().key_usage}</th><th>{ta().actions}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| key_row(k, set_disabled, revoke)).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn key_row(
    k: ApiKeyView,
    set_disabled: Action<(String, bool), ()>,
    revoke: Action<String, ()>,
) -> impl IntoView {
    let limits = format!(
        "{}: {} · {} · {}",
        ta().model,
        k.allowed_models
            .as_ref()
            .map(|m| m.join(", "))
            .unwrap_or_else(|| ta().all_models.into()),
        k.rate_limit_per_min
            .map(|n| format!("{n}{}", ta().per_minute))
            .unwrap_or_else(|| ta().unlimited.into()),
        k.monthly_token_budget
            .map(|n| format!("{} {}", number(n), ta().per_month))
            .unwrap_or_else(|| ta().unlimited.into()),
    );
    let (state, class) = if k.revoked_at.is_some() {
        (ta().revoked, "badge off")
    } else if k.disabled {
        (ta().disabled, "badge off")
    } else {
        (ta().active, "badge ok")
    };
    let live = k.revoked_at.is_none();
    let (id_toggle, id_revoke, disabled) = (k.id.clone(), k.id.clone(), k.disabled);
    let name_attr = k.name.clone();
    view! {
        <tr data-testid="key-row" data-name=name_attr data-state=state>
            <td>{k.name}{k.store_conversations.then(|| view! { <small class="muted">" · " {ta().key_store}</small> })}</td>
            <td>{k.owner_email}</td>
            <td><code>{k.prefix}"…"</code></td>
            <td>{limits}{k.expires_at.map(|e| format!(" · {} {}", ta().key_expires, date_time(&e)))}</td>
            <td><span class=class>{state}</span></td>
            <td>{k.last_used_at.as_deref().map(date_time).unwrap_or_else(|| ta().never.to_string())}</td>
            <td class="num">{format!("{} · {} + {}", number(k.requests_this_month), number(k.prompt_tokens_this_month), number(k.completion_tokens_this_month))}</td>
            <td class="row-actions">
                {live.then(|| view! {
                    <button type="button" class="button small" data-testid="toggle-key"
                        on:click=move |_| { if confirm(ta().confirm_disable_key) { set_disabled.dispatch((id_toggle.clone(), !disabled)); } }>
                        {if disabled { ta().enable } else { ta().disable }}
                    </button>
                    <button type="button" class="button small" data-testid="revoke-key"
                        on:click=move |_| { if confirm(ta().confirm_revoke_key) { revoke.dispatch(id_revoke.clone()); } }>
                        {ta().revoke}
                    </button>
                })}
            </td>
        </tr>
    }
}

#[component]
fn NewKeyForm(notice: RwSignal<Option<Notice>>, on_created: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let models = RwSignal::new(String::new());
    let rate = RwSignal::new(String::new());
    let budget = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let store = RwSignal::new(false);
    let create = Action::new(move |_: &()| {
        let new = NewApiKey {
            name: name.get_untracked(),
            owner: owner.get_untracked(),
            allowed_models: non_empty(models.get_untracked()).map(|m| {
                m.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            rate_limit_per_min: rate.get_untracked().trim().parse().ok(),
            monthly_token_budget: budget.get_untracked().trim().parse().ok(),
            store_conversations: store.get_untracked(),
            expires_at: non_empty(expires.get_untracked()),
        };
        async move {
            let result = with_refresh(|| admin_create_api_key(new.clone())).await;
            notice.set(Some(match result {
                Ok(created) => {
                    name.set(String::new());
                    on_created.run(());
                    Notice::Secret(created.key.name, created.secret)
                }
                Err(e) => Notice::Failed(i18n::error_message(&e)),
            }));
        }
    });
    let field = move |signal: RwSignal<String>,
                      label: &'static str,
                      kind: &'static str,
                      testid: &'static str| {
        view! {
            <input type=kind placeholder=label aria-label=label data-testid=testid
                prop:value=signal on:input=move |ev| signal.set(event_target_value(&ev)) />
        }
    };
    view! {
        <details class="new-user">
            <summary data-testid="new-key">{ta().new_key}</summary>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                {field(name, ta().key_name, "text", "key-name")}
                {field(owner, ta().key_owner, "email", "key-owner")}
                {field(models, ta().key_models, "text", "key-models")}
                {field(rate, ta().key_rate, "number", "key-rate")}
                {field(budget, ta().key_budget, "number", "key-budget")}
                <label>{ta().key_expires} " " <input type="date" data-testid="key-expires" on:change=move |ev| expires.set(event_target_value(&ev)) /></label>
                <label><input type="checkbox" data-testid="key-store" on:change=move |ev| store.set(event_target_checked(&ev)) /> " " {ta().key_store}</label>
                <button type="submit" class="primary" data-testid="key-submit" disabled=move || create.pending().get()>{ta().create}</button>
            </form>
        </details>
    }
}
