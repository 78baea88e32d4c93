//! The account a request was authenticated as, for its access-log line.
//!
//! The access log (`http::observe`) names the user of each request. The credentials are
//! verified once, where the request is authenticated ([`super::extract`]), which notes the
//! account here; the log reads it when the response is over. A request that never
//! authenticates (a login, the health check, a refused token) is logged without one.

use std::sync::{Arc, OnceLock};

use axum::http::Extensions;

/// Put in a request's extensions by the access log; filled by the authentication.
#[derive(Clone, Default)]
pub struct RequestUser(Arc<OnceLock<String>>);

impl RequestUser {
    /// Notes `user_id` for the request these extensions belong to (if it is being logged).
    pub fn note(extensions: &Extensions, user_id: &str) {
        if let Some(slot) = extensions.get::<RequestUser>() {
            let _ = slot.0.set(user_id.to_owned());
        }
    }

    /// The account noted, if the request was authenticated.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_account_noted_is_the_one_logged_and_only_where_asked() {
        let mut extensions = Extensions::new();
        RequestUser::note(&extensions, "ignored: nobody is logging");
        assert!(extensions.get::<RequestUser>().is_none());

        let user = RequestUser::default();
        extensions.insert(user.clone());
        assert_eq!(user.get(), None);
        RequestUser::note(&extensions, "u1");
        RequestUser::note(&extensions.clone(), "u2");
        assert_eq!(user.get(), Some("u1"));
    }
}
