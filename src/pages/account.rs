//! `/account`: the signed-in person's own settings (their password).

use leptos::prelude::*;

use crate::{
    api::auth::ChangePassword,
    i18n::{self, t},
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let result = move || {
        change.value().get().map(|result| match result {
            Ok(()) => view! { <p class="form-ok" data-testid="password-result" role="status">{t().password_changed}</p> }.into_any(),
            Err(e) => view! { <p class="form-error" data-testid="password-result" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
        })
    };
    view! {
        <section class="account-page">
            <h1>{t().account}</h1>
            <h2>{t().change_password}</h2>
            <ActionForm action=change attr:class="stacked-form">
                <label>
                    <span>{t().current_password}</span>
                    <input type="password" name="current_password" autocomplete="current-password" required data-testid="password-current" />
                </label>
                <label>
                    <span>{t().new_password}</span>
                    <input type="password" name="new_password" autocomplete="new-password" minlength="10" required data-testid="password-new" />
                    <small class="muted">{t().password_rule}</small>
                </label>
                {result}
                <button type="submit" class="primary" data-testid="password-submit" disabled=move || change.pending().get()>
                    {t().save}
                </button>
            </ActionForm>
        </section>
    }
}
