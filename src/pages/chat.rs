//! The signed-in layout: sidebar (conversations, new chat, account) and the open conversation.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::{
    api::auth::{Logout, SessionState, current_user},
    components::{
        chat_state::ChatState, conversation_list::ConversationList,
        language_picker::LanguagePicker, ollama_banner::OllamaBanner,
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
    // On a phone the conversations fold away behind a button.
    let open = RwSignal::new(false);
    view! {
        <a class="skip-link" href="#main" rel="external">{t().skip_to_content}</a>
        <div class="chat-layout">
            <aside class=move || if open.get() { "sidebar open" } else { "sidebar" }
                on:click=move |ev| {
                    // Choosing a conversation folds the list again.
                    if clicked_a_link(&ev) {
                        open.set(false);
                    }
                }>
                <div class="sidebar-head">
                    <button type="button" class="sidebar-toggle" data-testid="sidebar-toggle"
                        aria-expanded=move || open.get().to_string() aria-label=t().conversations
                        on:click=move |ev| { ev.stop_propagation(); open.update(|o| *o = !*o); }>
                        "☰"
                    </button>
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
                    <LanguagePicker />
                </div>
            </aside>
            <main class="main" id="main" tabindex="-1">
                <OllamaBanner />
                <Outlet />
            </main>
        </div>
    }
}

/// Whether a click landed on a link (a conversation or the new-chat button).
fn clicked_a_link(event: &leptos::ev::MouseEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a").ok().flatten())
            .is_some()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        false
    }
}
