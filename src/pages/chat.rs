//! The signed-in layout: sidebar (conversations, new chat, account) and the open conversation.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::{
    api::auth::{Logout, SessionState, current_user},
    components::{
        chat_state::ChatState, conversation_list::ConversationList, ollama_banner::OllamaBanner,
    },
    i18n::t,
    model::{Role, UserView},
};

#[component]
pub fn ChatLayout() -> impl IntoView {
    let user = Resource::new_blocking(|| (), |_| current_user());
    ChatState::provide();
    view! {
        <Suspense fallback=|| view! { <p class="muted page-loading">{t().loading}</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(SessionState::SignedIn(user)) => view! { <SignedIn user /> }.into_any(),
                    Ok(SessionState::Expired) => view! { <RestoreSession /> }.into_any(),
                    _ => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The access token expired but the session may live on: refresh it, then load the page again.
#[component]
pub fn RestoreSession() -> impl IntoView {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async {
            if crate::client::session::refresh().await {
                let _ = window().location().reload();
            } else {
                crate::client::session::go_to_login();
            }
        });
    });
    view! { <p class="muted page-loading" data-testid="restoring-session">{t().loading}</p> }
}

#[component]
fn SignedIn(user: UserView) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <div class="chat-layout">
            <aside class="sidebar">
                <div class="sidebar-head">
                    <span class="brand">{t().app_name}</span>
                    <A href="/" attr:class="button new-chat" attr:data-testid="new-chat">{t().new_chat}</A>
                </div>
                <ConversationList />
                <div class="account">
                    <A href="/account" attr:class="user-email" attr:data-testid="user-email" attr:title=t().account>
                        {user.email.clone()}
                    </A>
                    {(user.role == Role::Admin).then(|| view! {
                        <A href="/admin/users" attr:class="admin-link" attr:data-testid="admin-link">{crate::i18n::ta().admin}</A>
                    })}
                    <ActionForm action=logout>
                        <button type="submit" class="link" data-testid="logout">{t().sign_out}</button>
                    </ActionForm>
                </div>
            </aside>
            <main class="main">
                <OllamaBanner />
                <Outlet />
            </main>
        </div>
    }
}
