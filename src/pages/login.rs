//! `/login`.

use leptos::prelude::*;

use crate::{api::auth::Login, components::language_picker::LanguagePicker, i18n::t};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || {
        login.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" data-testid="login-error" role="alert">{crate::i18n::error_message(&e)}</p> })
    };
    view! {
        <main class="login-page">
            <section class="login-card">
                <h1>{t().app_name}</h1>
                <h2>{t().login_title}</h2>
                <ActionForm action=login attr:class="login-form">
                    <label>
                        <span>{t().email}</span>
                        <input type="email" name="email" autocomplete="username" required data-testid="login-email" />
                    </label>
                    <label>
                        <span>{t().password}</span>
                        <input type="password" name="password" autocomplete="current-password" required data-testid="login-password" />
                    </label>
                    {error}
                    <button type="submit" class="primary" data-testid="login-submit" disabled=move || login.pending().get()>
                        {t().sign_in}
                    </button>
                </ActionForm>
                <LanguagePicker />
            </section>
        </main>
    }
}
