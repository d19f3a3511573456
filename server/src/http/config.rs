//! Configuration of the public listener's production features: its own
//! TLS (`[public_tls]`) and the reverse proxies it trusts
//! (`trusted_proxies`). docs/API.md ("Running in production") explains
//! when to use which; [`super::tls`] and [`super::client_addr`] use them.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// HTTPS on the public listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicTlsConfig {
    /// Serve HTTPS only on the public listener. Default false.
    pub enabled: bool,
    /// PEM certificate chain (leaf first). With `key_pem`; when neither is
    /// set, the game listener's certificate (`[tls]`) is used.
    pub cert_pem: Option<PathBuf>,
    /// PEM private key of `cert_pem`.
    pub key_pem: Option<PathBuf>,
}

/// One trusted proxy: an address (`10.0.0.7`, `::1`) or a CIDR range
/// (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyRange(pub IpNet);

impl ProxyRange {
    /// Whether `ip` is in the range. An IPv4 address mapped into IPv6
    /// (`::ffff:a.b.c.d`, as dual-stack sockets report) counts as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for ProxyRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        text.parse::<IpAddr>()
            .map(|ip| Self(IpNet::from(ip)))
            .map_err(|_| {
                format!("trusted proxy {text:?} is neither an IP address nor a CIDR range like 10.0.0.0/8")
            })
    }
}

impl TryFrom<String> for ProxyRange {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ProxyRange> for String {
    fn from(range: ProxyRange) -> Self {
        range.to_string()
    }
}

impl fmt::Display for ProxyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A single address is written as such, not as a /32 or /128.
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses and ranges parse, print back as written, and match.
    #[test]
    fn parse_and_match() {
        let one: ProxyRange = "10.0.0.7".parse().unwrap();
        let net: ProxyRange = "10.1.0.0/16".parse().unwrap();
        let v6: ProxyRange = "fd00::/8".parse().unwrap();
        assert_eq!(one.to_string(), "10.0.0.7");
        assert_eq!(net.to_string(), "10.1.0.0/16");
        assert!(one.contains("10.0.0.7".parse().unwrap()));
        assert!(!one.contains("10.0.0.8".parse().unwrap()));
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.1.2.3".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<ProxyRange>().is_err());
        assert!("proxy.local".parse::<ProxyRange>().is_err());
    }
}
