//! The HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::{
    i18n::{current, t},
    pages::{
        account::AccountPage,
        admin::{
            AdminApiKeysPage, AdminAuditPage, AdminBackendsPage, AdminConversationPage,
            AdminConversationsPage, AdminHome, AdminLayout, AdminUsagePage, AdminUsersPage,
        },
        chat::ChatLayout,
        conversation::ConversationPane,
        login::LoginPage,
    },
};

/// The document around the app (server-rendered).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=current().code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <link rel="stylesheet" id="leptos"
                    href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name) />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text=t().app_name />
        <Router>
            <Routes fallback=|| view! { <p class="not-found">{t().not_found}</p> }>
                <Route path=path!("/login") view=LoginPage />
                <ParentRoute path=path!("/admin") view=AdminLayout>
                    <Route path=path!("") view=AdminHome />
                    <Route path=path!("users") view=AdminUsersPage />
                    <Route path=path!("conversations") view=AdminConversationsPage />
                    <Route path=path!("conversations/:id") view=AdminConversationPage />
                    <Route path=path!("usage") view=AdminUsagePage />
                    <Route path=path!("api-keys") view=AdminApiKeysPage />
                    <Route path=path!("audit") view=AdminAuditPage />
                    <Route path=path!("backends") view=AdminBackendsPage />
                </ParentRoute>
                <ParentRoute path=path!("") view=ChatLayout>
                    <Route path=path!("") view=ConversationPane />
                    <Route path=path!("c/:id") view=ConversationPane />
                    <Route path=path!("account") view=AccountPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
