//! `/admin/users`: the accounts table, with activation, role and password actions, and a form
//! to create an account.

use leptos::prelude::*;

use super::{
    confirm, non_empty,
    pager::{Pager, PagerButtons},
};
use crate::{
    admin_model::{AdminUser, UserFilter},
    api::admin::{admin_create_user, admin_reset_password, admin_update_user, admin_users},
    i18n::{self, date_time, number, t, ta},
    model::{Role, UserView},
    session::with_refresh,
};

/// A message after an action: done, a password to show once, or an error.
#[derive(Clone, Debug, PartialEq)]
enum Notice {
    Done(String),
    Password(String, String),
    Failed(String),
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let active = RwSignal::new(String::new());
    let sort = RwSignal::new("created".to_string());
    let pager = Pager::new();
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<Notice>);
    let me = StoredValue::new(expect_context::<UserView>().id);

    let filter = Memo::new(move |_| UserFilter {
        q: non_empty(q.get()),
        role: Role::parse(&role.get()),
        active: match active.get().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        sort: Some(sort.get()),
        limit: Some(25),
        cursor: None,
    });
    let users = Resource::new(
        move || (filter.get(), pager.current(), version.get()),
        |(filter, cursor, _)| async move {
            let filter = UserFilter { cursor, ..filter };
            with_refresh(|| admin_users(filter.clone())).await
        },
    );
    let refresh = move || version.update(|v| *v += 1);

    let change = Action::new(
        move |(id, active, role): &(String, Option<bool>, Option<Role>)| {
            let (id, active, role) = (id.clone(), *active, *role);
            async move {
                let result = with_refresh(|| admin_update_user(id.clone(), active, role)).await;
                notice.set(match result {
                    Ok(user) => Some(Notice::Done(user.email)),
                    Err(e) => Some(Notice::Failed(i18n::error_message(&e))),
                });
                refresh();
            }
        },
    );
    let reset = Action::new(move |(id, email): &(String, String)| {
        let (id, email) = (id.clone(), email.clone());
        async move {
            let result = with_refresh(|| admin_reset_password(id.clone())).await;
            notice.set(Some(match result {
                Ok(Some(password)) => Notice::Password(email, password),
                Ok(None) => Notice::Done(email),
                Err(e) => Notice::Failed(i18n::error_message(&e)),
            }));
        }
    });

    view! {
        <section class="admin-page" data-testid="admin-users">
            <h1>{ta().users}</h1>
            <NewUserForm notice on_created=Callback::new(move |_| refresh()) />
            <NoticeView notice />
            <div class="filters">
                <input type="search" placeholder=ta().search_email aria-label=ta().search_email
                    data-testid="filter-q" on:input=pager.filter(q) prop:value=q />
                <select aria-label=ta().role on:change=pager.filter(role) data-testid="filter-role">
                    <option value="">{ta().all_roles}</option>
                    <option value="admin">{ta().role_admin}</option>
                    <option value="user">{ta().role_user}</option>
                </select>
                <select aria-label=ta().state on:change=pager.filter(active) data-testid="filter-active">
                    <option value="">{ta().any_state}</option>
                    <option value="true">{ta().active}</option>
                    <option value="false">{ta().inactive}</option>
                </select>
                <select aria-label=ta().sort_by on:change=pager.filter(sort) data-testid="filter-sort">
                    <option value="created">{ta().sort_created}</option>
                    <option value="email">{ta().sort_email}</option>
                    <option value="last_login">{ta().sort_last_login}</option>
                </select>
            </div>
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(page) if page.items.is_empty() => view! { <p class="muted">{ta().none_found}</p> }.into_any(),
                        Ok(page) => view! {
                            <table class="admin-table" data-testid="users-table">
                                <thead><tr>
                                    <th>{t().email}</th><th>{ta().role}</th><th>{ta().state}</th>
                                    <th>{ta().created}</th><th>{ta().last_login}</th>
                                    <th class="num">{ta().conversation_count}</th><th class="num">{ta().tokens_month}</th>
                                    <th>{ta().actions}</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|u| {
                                        let is_me = me.with_value(|id| u.id == *id);
                                        view! { <UserRow user=u change reset is_me /> }
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

type ChangeAction = Action<(String, Option<bool>, Option<Role>), ()>;

#[component]
fn UserRow(
    user: AdminUser,
    change: ChangeAction,
    reset: Action<(String, String), ()>,
    /// The signed-in admin's own row: no deactivating or demoting oneself.
    is_me: bool,
) -> impl IntoView {
    let AdminUser {
        id,
        email,
        role,
        active,
        created_at,
        last_login_at,
        conversations,
        tokens_this_month,
    } = user;
    let (toggle_label, toggle_confirm) = if active {
        (ta().deactivate, ta().confirm_deactivate)
    } else {
        (ta().activate, ta().confirm_activate)
    };
    let (role_label, new_role) = match role {
        Role::Admin => (ta().make_user, Role::User),
        Role::User => (ta().make_admin, Role::Admin),
    };
    let (id_toggle, id_role, id_reset) = (id.clone(), id.clone(), id);
    let (email_reset, email_attr) = (email.clone(), email.clone());
    view! {
        <tr data-testid="user-row" data-email=email_attr data-active=active.to_string() data-role=role.as_str()>
            <td>{email}</td>
            <td>{if role == Role::Admin { ta().role_admin } else { ta().role_user }}</td>
            <td>
                <span class=if active { "badge ok" } else { "badge off" }>
                    {if active { ta().active } else { ta().inactive }}
                </span>
            </td>
            <td>{date_time(&created_at)}</td>
            <td>{last_login_at.as_deref().map(date_time).unwrap_or_else(|| ta().never.to_string())}</td>
            <td class="num">{number(conversations)}</td>
            <td class="num">{number(tokens_this_month)}</td>
            <td class="row-actions">
                <button type="button" class="button small" data-testid="toggle-active"
                    disabled=move || is_me || change.pending().get()
                    on:click=move |_| {
                        if confirm(toggle_confirm) {
                            change.dispatch((id_toggle.clone(), Some(!active), None));
                        }
                    }>{toggle_label}</button>
                <button type="button" class="button small" data-testid="toggle-role"
                    disabled=move || is_me || change.pending().get()
                    on:click=move |_| {
                        if confirm(ta().confirm_role) {
                            change.dispatch((id_role.clone(), None, Some(new_role)));
                        }
                    }>{role_label}</button>
                <button type="button" class="button small" data-testid="reset-password"
                    on:click=move |_| {
                        if confirm(ta().confirm_reset) {
                            reset.dispatch((id_reset.clone(), email_reset.clone()));
                        }
                    }>{ta().reset_password}</button>
            </td>
        </tr>
    }
}

#[component]
fn NewUserForm(notice: RwSignal<Option<Notice>>, on_created: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("user".to_string());
    let password = RwSignal::new(String::new());
    let create = Action::new(move |_: &()| {
        let (email_now, role_now, password_now) = (
            email.get_untracked(),
            role.get_untracked(),
            password.get_untracked(),
        );
        async move {
            let role = Role::parse(&role_now).unwrap_or(Role::User);
            let result = with_refresh(|| {
                admin_create_user(email_now.clone(), role, non_empty(password_now.clone()))
            })
            .await;
            notice.set(Some(match result {
                Ok(created) => {
                    email.set(String::new());
                    password.set(String::new());
                    on_created.run(());
                    match created.generated_password {
                        Some(p) => Notice::Password(created.user.email, p),
                        None => Notice::Done(created.user.email),
                    }
                }
                Err(e) => Notice::Failed(i18n::error_message(&e)),
            }));
        }
    });
    view! {
        <details class="new-user">
            <summary data-testid="new-user">{ta().new_user}</summary>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                <input type="email" required placeholder=t().email aria-label=t().email data-testid="new-user-email"
                    prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) />
                <select aria-label=ta().role data-testid="new-user-role" on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="user">{ta().role_user}</option>
                    <option value="admin">{ta().role_admin}</option>
                </select>
                <input type="text" placeholder=ta().password_optional aria-label=ta().password_optional autocomplete="off"
                    data-testid="new-user-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
                <button type="submit" class="primary" data-testid="new-user-submit" disabled=move || create.pending().get()>
                    {ta().create}
                </button>
            </form>
        </details>
    }
}

#[component]
fn NoticeView(notice: RwSignal<Option<Notice>>) -> impl IntoView {
    move || {
        notice.get().map(|n| match n {
            Notice::Done(who) => view! { <p class="form-ok" role="status" data-testid="admin-notice">{format!("✓ {} {who}", ta().saved)}</p> }.into_any(),
            Notice::Password(who, password) => view! {
                <p class="form-ok" role="status" data-testid="admin-notice">
                    {who} " — " {ta().generated_password} " " <code data-testid="generated-password">{password}</code>
                </p>
            }.into_any(),
            Notice::Failed(message) => view! { <p class="form-error" role="alert" data-testid="admin-notice">{message}</p> }.into_any(),
        })
    }
}
