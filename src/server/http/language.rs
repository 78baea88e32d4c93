//! The language a page is rendered in: the person's choice (the `energyapp_lang` cookie set by
//! the language picker), else Spanish.

use axum::http::{HeaderMap, request::Parts};
use leptos::prelude::{provide_context, use_context};

use crate::{i18n::Lang, server::auth::cookies};

/// Makes the request's language the context of the page being rendered.
pub fn provide_for_page() {
    let lang = use_context::<Parts>()
        .map(|parts| of_request(&parts.headers))
        .unwrap_or_default();
    provide_context(lang);
}

/// The language a request asks for.
pub fn of_request(headers: &HeaderMap) -> Lang {
    cookies::read(headers, Lang::COOKIE)
        .and_then(Lang::from_code)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_cookie_chooses_the_language() {
        assert_eq!(of_request(&with_cookie("energyapp_lang=en")), Lang::En);
        assert_eq!(
            of_request(&with_cookie("a=b; energyapp_lang=es; c=d")),
            Lang::Es
        );
        assert_eq!(of_request(&with_cookie("energyapp_lang=fr")), Lang::Es);
        assert_eq!(of_request(&HeaderMap::new()), Lang::Es);
    }
}
