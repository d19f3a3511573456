//! The client's address behind trusted reverse proxies.
//!
//! When the TCP peer is one of `trusted_proxies`, the client's address comes
//! from the `Forwarded` header (RFC 7239), or `X-Forwarded-For` when there
//! is no `Forwarded`: the hops are read from the right (nearest) to the left,
//! and the first one that is not a trusted proxy is the client. Only that
//! hop counts, because everything left of it was written by the client
//! itself and can be anything. A hop that is not an address (`unknown`, an
//! obfuscated name) stops the walk at the proxy that wrote it. From any
//! other peer the headers are ignored and the peer is the client. The
//! result goes into each request as [`ClientAddr`]; the rate limits, the
//! sessions' recorded IP and the logs read it.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use super::config::ProxyRange;

/// The client's address of a request, as [`client_addr`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ProxyRange>);

impl TrustedProxies {
    /// Trusts the given ranges.
    pub fn new(ranges: Vec<ProxyRange>) -> Self {
        Self(ranges)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }

    /// The client's address of a request from `peer` with `headers`.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers);
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => nearest = *ip,
                Some(ip) => return *ip,
                None => return nearest,
            }
        }
        nearest
    }
}

/// The `for` hops of `Forwarded`, or else of `X-Forwarded-For`, left to
/// right; `None` for a hop that is not an IP address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_hop(value))
                })
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(parse_hop)
        .collect()
}

/// An address as proxies write it: bare, quoted, `[v6]`, or with a port.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    // `[v6]` without a port.
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// From an untrusted peer the headers are ignored.
    #[test]
    fn untrusted_peer_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(proxies.client_addr(ip("192.0.2.1"), &h), ip("192.0.2.1"));
    }

    /// The right-most untrusted hop wins; spoofed hops left of it do not.
    #[test]
    fn right_most_untrusted_hop() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("203.0.113.9"));
    }

    /// `Forwarded` wins over `X-Forwarded-For`; quoted, bracketed and
    /// ported forms parse.
    #[test]
    fn forwarded_header_forms() {
        let proxies = trusted(&["10.0.0.0/8", "fd00::/8"]);
        let h = headers(&[
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::17]:4711\";proto=https, For=\"10.2.2.2:80\"",
            ),
            ("x-forwarded-for", "7.7.7.7"),
        ]);
        assert_eq!(proxies.client_addr(ip("fd00::1"), &h), ip("2001:db8::17"));
        let h = headers(&[("forwarded", "for=192.0.2.60;by=10.0.0.1")]);
        assert_eq!(proxies.client_addr(ip("10.0.0.1"), &h), ip("192.0.2.60"));
    }

    /// No header, all hops trusted, or an unusable hop: the nearest
    /// trusted address reached is the answer.
    #[test]
    fn fallbacks() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            proxies.client_addr(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.8.8.8")]);
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("10.9.9.9"));
        let h = headers(&[("forwarded", "for=1.2.3.4, for=unknown, for=10.3.3.3")]);
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("10.3.3.3"));
        let h = headers(&[("x-forwarded-for", "garbage")]);
        assert_eq!(proxies.client_addr(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    /// A trusted peer given as an IPv4-mapped IPv6 address is still trusted.
    #[test]
    fn mapped_peer() {
        let proxies = trusted(&["127.0.0.1"]);
        let h = headers(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            proxies.client_addr(ip("::ffff:127.0.0.1"), &h),
            ip("198.51.100.4")
        );
    }
}
