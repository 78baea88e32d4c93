//! The browser's session cookie: httpOnly, SameSite=Lax, Secure outside dev.

use axum::http::{HeaderMap, HeaderValue, header};

/// Name of the cookie that carries the access token.
pub const ACCESS_COOKIE: &str = "ea_access";

/// `Set-Cookie` value storing a token.
pub fn set(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` value removing a cookie.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", 0, secure)
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
    fn set_cookie_is_http_only_and_lax() {
        let v = set(ACCESS_COOKIE, "x", 60, true);
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
        assert!(
            !set(ACCESS_COOKIE, "x", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
