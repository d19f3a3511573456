//! The `[admin_api]` settings: the admin token, whether `/metrics` needs
//! it, HTTPS on the admin listener, and the limit on failed attempts.

use serde::{Deserialize, Serialize};

use crate::config::Rate;

/// `[admin_api]`: who may use the admin listener.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminApiConfig {
    /// The admin token (at least 16 characters). Default none: the token
    /// is read from, or generated into, `<data>/admin-token`.
    pub token: Option<String>,
    /// `/metrics` needs the token too. Default false: open, since the
    /// listener binds loopback and scrapers rarely carry secrets.
    pub metrics_require_token: bool,
    /// Serve the admin listener in HTTPS with the public listener's
    /// certificate (`[public_tls]` must be enabled). Default false.
    pub tls: bool,
    /// Failed authentications per client IP; over it, 429 until the bucket
    /// refills. Default 10 per minute, bursts of 20.
    pub failures_per_ip: Rate,
}

impl Default for AdminApiConfig {
    fn default() -> Self {
        Self {
            token: None,
            metrics_require_token: false,
            tls: false,
            failures_per_ip: Rate::new(10, 20),
        }
    }
}

// By hand so the token never reaches a log line through `{:?}`.
impl std::fmt::Debug for AdminApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApiConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("metrics_require_token", &self.metrics_require_token)
            .field("tls", &self.tls)
            .field("failures_per_ip", &self.failures_per_ip)
            .finish()
    }
}
