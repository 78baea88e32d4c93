//! What a server function needs from its request, taken from the Leptos context up front.
//!
//! Context lookups only work before the function's first `.await` (a resource's future may be
//! resumed where the reactive owner is not current), so every server function starts with
//! `ServerFnContext::get()?` and uses it from then on.

use std::sync::{Arc, OnceLock};

use axum::http::{HeaderName, HeaderValue, StatusCode, header, request::Parts};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::ResponseOptions;

use super::{auth::AuthUser, state::AppState};
use crate::error::AppError;

pub struct ServerFnContext {
    pub state: AppState,
    pub parts: Parts,
    response: ResponseOptions,
    caller: Option<RequestCaller>,
}

/// The caller of the request being served, once authenticated: the server functions a page
/// calls after the session is known (the conversation list, the open conversation) reuse it
/// instead of reading the account again. Nothing waits on it: a function that finds it empty
/// reads the account itself.
#[derive(Clone, Default)]
pub struct RequestCaller(Arc<OnceLock<Result<AuthUser, AppError>>>);

impl RequestCaller {
    /// Gives the request being rendered its own (empty) caller.
    pub fn provide() {
        provide_context(RequestCaller::default());
    }
}

impl ServerFnContext {
    /// Call first thing, before any `.await`.
    pub fn get() -> Result<Self, AppError> {
        let state = AppState::from_context()?;
        let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
        let response = use_context::<ResponseOptions>().ok_or(AppError::Internal)?;
        Ok(ServerFnContext {
            state,
            parts,
            response,
            caller: use_context::<RequestCaller>(),
        })
    }

    /// The signed-in caller (reused within a request that provides a [`RequestCaller`]).
    pub async fn user(&self) -> Result<AuthUser, AppError> {
        if let Some(known) = self.caller.as_ref().and_then(|c| c.0.get()) {
            return known.clone();
        }
        let user = AuthUser::from_parts(&self.state, &self.parts).await;
        if let Some(caller) = &self.caller {
            let _ = caller.0.set(user.clone());
        }
        user
    }

    /// The signed-in caller, who must be an active admin (403 otherwise), with their address.
    pub async fn admin(&self) -> Result<super::admin::Actor, AppError> {
        let user = self.user().await?;
        if user.role != crate::model::Role::Admin || user.key.is_some() {
            return Err(AppError::Forbidden);
        }
        let ip = super::auth::extract::client_ip(&self.state, &self.parts);
        Ok(super::admin::Actor {
            user,
            ip: Some(ip.to_string()),
        })
    }

    /// Gives the response the status (and Retry-After) of an error.
    pub fn finish<T>(&self, result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(err) = &result {
            self.response.set_status(
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
            if let AppError::TooManyRequests { retry_after_secs } = err {
                self.response
                    .insert_header(header::RETRY_AFTER, (*retry_after_secs).into());
            }
        }
        result
    }

    pub fn set_cookies(&self, cookies: impl IntoIterator<Item = HeaderValue>) {
        for cookie in cookies {
            self.response.append_header(header::SET_COOKIE, cookie);
        }
    }

    /// Sends the browser to `path`: a 302 for a plain form post, the server-function redirect
    /// header for the hydrated client (as `leptos_axum::redirect` does).
    pub fn redirect(&self, path: &'static str) {
        self.response
            .insert_header(header::LOCATION, HeaderValue::from_static(path));
        let plain_form = self
            .parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if plain_form {
            self.response.set_status(StatusCode::FOUND);
        } else {
            let name = HeaderName::from_static(leptos::server_fn::redirect::REDIRECT_HEADER);
            self.response
                .insert_header(name, HeaderValue::from_static(""));
        }
    }
}
