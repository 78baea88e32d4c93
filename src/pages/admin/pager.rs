//! Previous/next over cursor pages: a stack of the cursors that led to the current page.

use leptos::prelude::*;

use crate::i18n::ta;

#[derive(Clone, Copy)]
pub struct Pager {
    stack: RwSignal<Vec<Option<String>>>,
}

impl Pager {
    pub fn new() -> Pager {
        Pager {
            stack: RwSignal::new(vec![None]),
        }
    }

    /// The cursor of the page shown.
    pub fn current(&self) -> Option<String> {
        self.stack.with(|s| s.last().cloned().flatten())
    }

    /// Back to the first page (the filters changed).
    pub fn reset(&self) {
        self.stack.set(vec![None]);
    }

    /// An input handler for a filter field: sets it and goes back to the first page.
    pub fn filter(self, field: RwSignal<String>) -> impl Fn(leptos::ev::Event) + Clone + 'static {
        move |ev| {
            field.set(event_target_value(&ev));
            self.reset();
        }
    }

    fn forward(&self, cursor: String) {
        self.stack.update(|s| s.push(Some(cursor)));
    }

    fn back(&self) {
        self.stack.update(|s| {
            if s.len() > 1 {
                s.pop();
            }
        });
    }

    fn at_start(&self) -> bool {
        self.stack.with(|s| s.len() <= 1)
    }
}

/// The buttons; `next` is the cursor of the following page, if any.
#[component]
pub fn PagerButtons(pager: Pager, next: Option<String>) -> impl IntoView {
    let has_next = next.is_some();
    view! {
        <div class="pager">
            <button type="button" class="button" disabled=move || pager.at_start() on:click=move |_| pager.back()>
                {ta().previous}
            </button>
            <button type="button" class="button" data-testid="pager-next" disabled=!has_next
                on:click=move |_| { if let Some(c) = next.clone() { pager.forward(c) } }>
                {ta().next}
            </button>
        </div>
    }
}
