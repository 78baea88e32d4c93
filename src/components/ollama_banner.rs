//! A banner shown while the language model is unreachable.

use leptos::prelude::*;

use crate::{api::status::service_status, i18n::t};

#[component]
pub fn OllamaBanner() -> impl IntoView {
    let status = Resource::new(|| (), |_| service_status());
    view! {
        <Transition fallback=|| ()>
            {move || {
                status
                    .get()
                    .and_then(Result::ok)
                    .filter(|s| !s.reachable)
                    .map(|_| view! { <div class="banner warning" role="status" data-testid="ollama-banner">{t().ollama_down}</div> })
            }}
        </Transition>
    }
}
