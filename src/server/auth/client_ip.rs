//! The client's address, for throttling and logs. Behind a reverse proxy (Caddy, Apache) the
//! TCP peer is the proxy, so `X-Forwarded-For` is read, but only when the peer is one of the
//! configured trusted proxies (`server.trusted_proxies`); nobody else can choose their address.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, request::Parts},
};

/// The nearest address in the forwarding chain that is not a trusted proxy.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    chain
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The TCP peer of a request.
pub fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_only_believed_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let trusted = [ip("127.0.0.1")];
        assert_eq!(
            resolve(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1"),
            "untrusted peer"
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        let two_proxies = [ip("127.0.0.1"), ip("203.0.113.7")];
        assert_eq!(
            resolve(ip("127.0.0.1"), &headers, &two_proxies),
            ip("6.6.6.6")
        );
    }
}
