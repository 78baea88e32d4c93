//! The browser's session cookies, all httpOnly, SameSite=Lax, Secure outside dev:
//! - `ea_access`: the access token, sent everywhere (`Path=/`);
//! - `ea_refresh`: the refresh token, sent only to the API (`Path=/api`);
//! - `ea_session`: no secret, just tells a page load that a refresh may restore the session.

use axum::http::{HeaderMap, HeaderValue, header};

use super::sessions::IssuedTokens;

pub const ACCESS_COOKIE: &str = "ea_access";
pub const REFRESH_COOKIE: &str = "ea_refresh";
pub const SESSION_HINT_COOKIE: &str = "ea_session";
const REFRESH_PATH: &str = "/api";

/// `Set-Cookie` value storing `value` under `name`.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookies that store a session.
pub fn session(tokens: &IssuedTokens, secure: bool) -> [HeaderValue; 3] {
    [
        set(
            ACCESS_COOKIE,
            &tokens.access_token,
            "/",
            tokens.expires_in,
            secure,
        ),
        set(
            REFRESH_COOKIE,
            &tokens.refresh_token,
            REFRESH_PATH,
            tokens.refresh_expires_in,
            secure,
        ),
        set(
            SESSION_HINT_COOKIE,
            "1",
            "/",
            tokens.refresh_expires_in,
            secure,
        ),
    ]
}

/// The cookies that end a session.
pub fn clear_session(secure: bool) -> [HeaderValue; 3] {
    [
        set(ACCESS_COOKIE, "", "/", 0, secure),
        set(REFRESH_COOKIE, "", REFRESH_PATH, 0, secure),
        set(SESSION_HINT_COOKIE, "", "/", 0, secure),
    ]
}

/// The value of a cookie in the request, if any.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; ea_access=tok.en; b=2"),
        );
        assert_eq!(read(&headers, ACCESS_COOKIE), Some("tok.en"));
        assert_eq!(read(&headers, "c"), None);
    }

    #[test]
    fn session_cookies_are_http_only_lax_and_narrow() {
        let tokens = IssuedTokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_in: 60,
            refresh_expires_in: 600,
        };
        let [access, refresh, hint] =
            session(&tokens, true).map(|v| v.to_str().unwrap().to_string());
        for c in [&access, &refresh, &hint] {
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"),
                "{c}"
            );
        }
        assert!(access.contains("Path=/;") && access.contains("Max-Age=60"));
        assert!(refresh.starts_with("ea_refresh=r;") && refresh.contains("Path=/api;"));
        assert!(!clear_session(false)[0].to_str().unwrap().contains("Secure"));
    }
}
