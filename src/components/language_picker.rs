//! The language picker: the page loads again in the chosen language, remembered for a year.

use leptos::prelude::*;

use crate::i18n::{Lang, current, t};

#[component]
pub fn LanguagePicker() -> impl IntoView {
    let now = current();
    view! {
        <select class="language-picker" data-testid="language-picker" aria-label=t().language
            title=t().language
            on:change=move |ev| {
                if let Some(lang) = Lang::from_code(&event_target_value(&ev)) && lang != now {
                    choose(lang);
                }
            }>
            {Lang::ALL.into_iter().map(|lang| view! {
                <option value=lang.code() lang=lang.code() selected=lang == now>{lang.name()}</option>
            }).collect_view()}
        </select>
    }
}

fn choose(lang: Lang) {
    #[cfg(feature = "hydrate")]
    crate::client::language::choose(lang);
    #[cfg(not(feature = "hydrate"))]
    let _ = lang;
}
