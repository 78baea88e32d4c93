//! The Copy buttons of code blocks: one click handler on a message (event delegation, since
//! the rendered Markdown is plain HTML).

use leptos::prelude::window;
use wasm_bindgen::JsCast;

use crate::i18n::t;

/// If the click was on a code block's Copy button, puts that block's code on the clipboard.
pub fn copy_code_on_click(event: &web_sys::Event) {
    let Some(target) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(Some(button)) = target.closest("button.copy-code") else {
        return;
    };
    let Some(code) = button
        .closest(".code-block")
        .ok()
        .flatten()
        .and_then(|block| block.query_selector("code").ok().flatten())
    else {
        return;
    };
    let text = code.text_content().unwrap_or_default();
    let _ = window().navigator().clipboard().write_text(&text);
    button.set_text_content(Some(t().copied));
}
