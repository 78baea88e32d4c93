//! `AuthUser`: the single path by which a request is authenticated.
//!
//! A Bearer header (apps) or the session cookie (browser) carries an access token; both go
//! through the same verification, and the account is re-read so deactivation and role
//! changes apply on the next request. Cookie-authenticated writes must be same-site.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, header, request::Parts},
};

use super::{
    cookies::{self, ACCESS_COOKIE},
    request_user::RequestUser,
};
use crate::{
    error::AppError,
    model::{Role, UserView},
    server::{db::users, state::AppState},
};

/// An authenticated, active account.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// Set when the request came with an API key (`ea_...`) rather than a session.
    pub key: Option<std::sync::Arc<super::api_keys::KeyGrant>>,
}

impl AuthUser {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            email: self.email.clone(),
            role: self.role,
        }
    }

    /// Authenticates a request from its method and headers (and notes the account for the
    /// access log, `request_user`).
    pub async fn from_parts(state: &AppState, parts: &Parts) -> Result<AuthUser, AppError> {
        Caller::from_parts(state, parts)
            .await?
            .into_checked(state)
            .await
    }
}

/// A caller whose credentials are verified but whose account may not have been read yet.
///
/// Every request is authenticated by [`AuthUser`], which reads the account. A chat turn takes
/// a `Caller` instead, to read the account while it does the work that does not depend on it
/// (calling Ollama): it checks the account before it stores or sends anything (`start_turn`).
/// An access token is verified here (signature, expiry); an API key is looked up at once.
pub struct Caller {
    user_id: String,
    /// When the access token was issued (ms); sessions ended after it are refused.
    issued_at_ms: i64,
    /// The account, once read and found usable (an API key's is read at once).
    checked: Option<AuthUser>,
}

impl Caller {
    /// Verifies the request's credentials (and notes whose they are for the access log).
    pub async fn from_parts(state: &AppState, parts: &Parts) -> Result<Caller, AppError> {
        let (method, headers) = (&parts.method, &parts.headers);
        let (token, from_cookie) = match bearer(headers)? {
            Some(token) => (token, false),
            None => (
                cookies::read(headers, ACCESS_COOKIE).ok_or(AppError::Unauthorized)?,
                true,
            ),
        };
        if from_cookie {
            require_same_site(method, headers)?;
        }
        if !from_cookie && token.starts_with(super::api_keys::KEY_PREFIX) {
            let key = super::api_keys::verify(state, token).await?;
            let owner = users::find_by_id(&state.db, &key.owner_id)
                .await?
                .ok_or(AppError::Unauthorized)?;
            if !owner.active {
                return Err(AppError::Unauthorized);
            }
            RequestUser::note(&parts.extensions, &owner.id);
            return Ok(Caller {
                user_id: owner.id.clone(),
                issued_at_ms: 0,
                checked: Some(AuthUser {
                    id: owner.id,
                    email: owner.email,
                    role: owner.role,
                    key: Some(std::sync::Arc::new(key.into())),
                }),
            });
        }
        let claims = state.jwt.verify(token)?;
        RequestUser::note(&parts.extensions, &claims.sub);
        Ok(Caller {
            user_id: claims.sub,
            issued_at_ms: claims.iat_ms,
            checked: None,
        })
    }

    /// The user the credentials are for.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The API key the request came with (its account is read at once).
    pub fn key(&self) -> Option<&std::sync::Arc<super::api_keys::KeyGrant>> {
        self.checked.as_ref().and_then(|user| user.key.as_ref())
    }

    /// Whether the account was read and found usable.
    pub fn is_checked(&self) -> bool {
        self.checked.is_some()
    }

    /// While the account has not been read: when the access token was issued (ms), for a
    /// write that checks the account itself, in the same transaction (`db::turns`).
    pub fn unread_token_issued_at(&self) -> Option<i64> {
        self.checked.is_none().then_some(self.issued_at_ms)
    }

    /// Reads the account, once: it must exist, be active, and not have ended its sessions
    /// since the token was issued.
    pub async fn check(&mut self, state: &AppState) -> Result<&AuthUser, AppError> {
        let user = match self.checked.take() {
            Some(user) => user,
            None => self.read_account(state).await?,
        };
        Ok(self.checked.insert(user))
    }

    pub async fn into_checked(self, state: &AppState) -> Result<AuthUser, AppError> {
        match self.checked {
            Some(user) => Ok(user),
            None => self.read_account(state).await,
        }
    }

    async fn read_account(&self, state: &AppState) -> Result<AuthUser, AppError> {
        let user = users::find_by_id(&state.db, &self.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !user.active || self.issued_at_ms < user.sessions_valid_after {
            return Err(AppError::Unauthorized);
        }
        Ok(AuthUser {
            id: user.id,
            email: user.email,
            role: user.role,
            key: None,
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Caller::from_parts(state, parts).await
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        AuthUser::from_parts(state, parts).await
    }
}

/// An authenticated, active admin (403 for anyone else who is signed in).
#[derive(Clone, Debug)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        // Keys are for applications: they never reach the admin routes.
        if user.role != Role::Admin || user.key.is_some() {
            return Err(AppError::Forbidden);
        }
        Ok(AdminUser(user))
    }
}

/// The client's address (see `client_ip`), trusting the configured proxies.
pub fn client_ip(state: &AppState, parts: &Parts) -> std::net::IpAddr {
    super::client_ip::resolve(
        super::client_ip::peer(parts),
        &parts.headers,
        &state.settings.server.trusted_proxies,
    )
}

/// Rejects a cookie-authenticated write that comes from another site.
pub fn require_same_site(method: &Method, headers: &HeaderMap) -> Result<(), AppError> {
    if is_safe(method) || same_site(headers) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The Bearer token, if an Authorization header is present (a malformed one is refused).
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthorized)?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(AppError::Unauthorized),
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True unless the browser says the request comes from another site.
fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
            Some(origin_host) == host.to_str().ok()
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_is_detected() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "chat.example")
        ])));
        assert!(same_site(&headers(&[
            ("origin", "https://chat.example"),
            ("host", "chat.example")
        ])));
        assert!(same_site(&headers(&[])));
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer abc")])).unwrap(),
            Some("abc")
        );
        assert!(bearer(&headers(&[("authorization", "Basic abc")])).is_err());
        assert_eq!(bearer(&headers(&[])).unwrap(), None);
    }
}
