//! Per-IP and per-name rate limits on sign-up and login.
//!
//! Token buckets (governor's GCRA) keyed by client IP or lowercased name.
//! They are checked before any hashing, so a flood costs a map lookup, not
//! an Argon2 run. Keys are only created for syntactically valid names
//! (at most 20 bytes), and [`RateLimiters::prune`] drops idle keys, so the
//! maps stay small. The per-account login limit can be used to slow a
//! victim's own logins; that is the usual trade-off against password
//! guessing spread over many IPs, and the limit resets within a minute.

use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{Rate, RateLimits};

fn quota(rate: Rate) -> Quota {
    Quota::with_period(Duration::from_secs(60) / rate.per_minute.get())
        .expect("a per-minute rate of at most u32::MAX gives a non-zero period")
        .allow_burst(rate.burst)
}

/// One keyed limiter.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Rate) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota(rate)),
        }
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The four limiters of the auth API.
pub struct RateLimiters {
    signup_ip: Keyed<IpAddr>,
    signup_name: Keyed<String>,
    login_ip: Keyed<IpAddr>,
    login_account: Keyed<String>,
}

impl RateLimiters {
    /// Limiters with the configured rates.
    pub fn new(limits: &RateLimits) -> Self {
        Self {
            signup_ip: Keyed::new(limits.signup_per_ip),
            signup_name: Keyed::new(limits.signup_per_name),
            login_ip: Keyed::new(limits.login_per_ip),
            login_account: Keyed::new(limits.login_per_account),
        }
    }

    /// Counts a sign-up attempt from `ip`; `Err(wait)` when over the limit.
    pub fn signup_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.signup_ip.check(&ip)
    }

    /// Counts a sign-up attempt for the name with this key.
    pub fn signup_name(&self, name_key: &str) -> Result<(), Duration> {
        self.signup_name.check(&name_key.to_owned())
    }

    /// Counts a login attempt from `ip`.
    pub fn login_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.login_ip.check(&ip)
    }

    /// Counts a login attempt for the account name with this key.
    pub fn login_account(&self, name_key: &str) -> Result<(), Duration> {
        self.login_account.check(&name_key.to_owned())
    }

    /// Forgets keys whose buckets are full again (idle clients).
    pub fn prune(&self) {
        self.signup_ip.prune();
        self.signup_name.prune();
        self.login_ip.prune();
        self.login_account.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After the burst, requests are refused with a wait of about one period;
    /// other keys are unaffected.
    #[test]
    fn burst_then_refuse_per_key() {
        let limits = RateLimits {
            login_per_ip: Rate::new(1, 2),
            ..RateLimits::default()
        };
        let limiters = RateLimiters::new(&limits);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiters.login_ip(a).is_ok());
        assert!(limiters.login_ip(a).is_ok());
        let wait = limiters.login_ip(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiters.login_ip(b).is_ok());
        limiters.prune();
        assert!(
            limiters.login_ip(a).is_err(),
            "pruning keeps keys that are still limited"
        );
    }
}
