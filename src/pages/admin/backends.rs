//! `/admin/backends`: each Ollama backend's state, answers in flight, line and models.

use leptos::prelude::*;

use crate::{
    api::admin::admin_backends,
    i18n::{self, ta},
    model::BackendHealth,
    session::with_refresh,
};

#[component]
pub fn AdminBackendsPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let backends = Resource::new(
        move || refresh.get(),
        |_| async move { with_refresh(admin_backends).await },
    );
    view! {
        <section class="admin-page" data-testid="admin-backends">
            <h1>{ta().backends}</h1>
            <div class="filters">
                <button type="button" class="small" data-testid="backends-refresh"
                    on:click=move |_| refresh.update(|n| *n += 1)>{ta().refresh}</button>
            </div>
            <Transition fallback=|| view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || Suspend::new(async move {
                    match backends.await {
                        Ok(list) => view! {
                            <table class="admin-table" data-testid="backends-table">
                                <thead><tr>
                                    <th>{ta().backend_url}</th>
                                    <th>{ta().state}</th>
                                    <th class="num">{ta().backend_in_flight}</th>
                                    <th class="num">{ta().backend_queued}</th>
                                    <th>{ta().backend_models}</th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(backend_row).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{i18n::error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn backend_row(b: BackendHealth) -> impl IntoView {
    let (class, label) = match b.state.as_str() {
        "healthy" => ("badge ok", ta().backend_healthy),
        "unhealthy" => ("badge off", ta().backend_unhealthy),
        _ => ("badge", ta().backend_unknown),
    };
    view! {
        <tr data-testid="backend-row" data-state=b.state.clone()>
            <td><code>{b.url}</code></td>
            <td>
                <span class=class>{label}</span>
                {b.error.map(|e| view! { <div class="muted">{e}</div> })}
            </td>
            <td class="num">{format!("{} / {}", b.in_flight, b.max_parallel)}</td>
            <td class="num">{b.queued}</td>
            <td>{b.models.join(", ")}</td>
        </tr>
    }
}
