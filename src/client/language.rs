//! The page's language in the browser, and switching it.

use std::cell::OnceCell;

use leptos::prelude::document;
use wasm_bindgen::JsCast;

use crate::i18n::Lang;

thread_local! {
    static PAGE: OnceCell<Lang> = const { OnceCell::new() };
}

/// The language the server rendered this page in (`<html lang>`), read once.
pub fn of_page() -> Lang {
    PAGE.with(|page| {
        *page.get_or_init(|| {
            document()
                .document_element()
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|code| Lang::from_code(&code))
                .unwrap_or_default()
        })
    })
}

/// Remembers the choice for a year (a cookie the server reads when it renders a page) and
/// loads the page again in that language.
pub fn choose(lang: Lang) {
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        Lang::COOKIE,
        lang.code()
    );
    if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
        let _ = doc.set_cookie(&cookie);
    }
    let _ = leptos::prelude::window().location().reload();
}
