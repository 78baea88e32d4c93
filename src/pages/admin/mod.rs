//! `/admin/*`: the admin views. Only active admins see them; anyone else is sent away.

mod api_keys;
mod audit;
mod backends;
mod chart;
mod conversation;
mod conversations;
mod pager;
mod usage;
mod users;

pub use api_keys::AdminApiKeysPage;
pub use audit::AdminAuditPage;
pub use backends::AdminBackendsPage;
pub use conversation::AdminConversationPage;
pub use conversations::AdminConversationsPage;
pub use usage::AdminUsagePage;
pub use users::AdminUsersPage;

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::{
    api::auth::{SessionState, current_user},
    components::language_picker::LanguagePicker,
    i18n::{t, ta},
    model::{Role, UserView},
    pages::chat::RestoreSession,
};

#[component]
pub fn AdminLayout() -> impl IntoView {
    let user = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="muted page-loading">{t().loading}</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(SessionState::SignedIn(user)) if user.role == Role::Admin => {
                        view! { <AdminShell user /> }.into_any()
                    }
                    Ok(SessionState::SignedIn(_)) => view! { <Redirect path="/" /> }.into_any(),
                    Ok(SessionState::Expired) => view! { <RestoreSession /> }.into_any(),
                    _ => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AdminShell(user: UserView) -> impl IntoView {
    provide_context(user.clone());
    view! {
        <div class="admin-layout" data-testid="admin-layout">
            <header class="admin-head">
                <span class="brand">{t().app_name} " · " {ta().admin}</span>
                <nav class="admin-nav" aria-label=ta().admin>
                    <A href="/admin/users" attr:data-testid="admin-nav-users">{ta().users}</A>
                    <A href="/admin/conversations" attr:data-testid="admin-nav-conversations">{ta().conversations}</A>
                    <A href="/admin/usage" attr:data-testid="admin-nav-usage">{ta().usage}</A>
                    <A href="/admin/api-keys" attr:data-testid="admin-nav-keys">{ta().api_keys}</A>
                    <A href="/admin/audit" attr:data-testid="admin-nav-audit">{ta().audit}</A>
                    <A href="/admin/backends" attr:data-testid="admin-nav-backends">{ta().backends}</A>
                </nav>
                <span class="admin-user muted">{user.email}</span>
                <LanguagePicker />
                <A href="/" attr:class="back-to-chat">{ta().back_to_chat}</A>
            </header>
            <main class="admin-main">
                <Outlet />
            </main>
        </div>
    }
}

/// `/admin` itself: the users table.
#[component]
pub fn AdminHome() -> impl IntoView {
    view! { <Redirect path="/admin/users" /> }
}

/// Empty text fields mean "no filter".
pub(crate) fn non_empty(text: String) -> Option<String> {
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Asks the person to confirm (always yes outside the browser).
pub(crate) fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        true
    }
}
