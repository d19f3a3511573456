//! The admin listener's authentication: a layer over the whole router
//! that lets a request through when its path is open (see
//! [`super::routes`]) or it carries `Authorization: Bearer <admin token>`.
//!
//! Everything else gets `401` in the API's JSON error shape
//! (`missing_token`, `invalid_token`). Failures are counted per client IP
//! (token bucket, `[admin_api] failures_per_ip`); an address over the limit
//! gets `429 rate_limited` for every non-open request, right token or not,
//! until its bucket refills, so guessing costs a minute per burst.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::token::AdminToken;
use crate::auth::ApiError;
use crate::config::Rate;
use crate::http::ClientAddr;

/// Addresses kept in the blocked list before expired entries are dropped.
const BLOCKED_PRUNE_AT: usize = 1024;

/// What the guard checks against.
pub struct Guard {
    token: AdminToken,
    open: Vec<&'static str>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses over the failure limit, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl Guard {
    /// A guard for `token`, leaving `open` paths open, allowing `failures`.
    pub fn new(token: AdminToken, open: Vec<&'static str>, failures: Rate) -> Self {
        let quota = Quota::with_period(Duration::from_secs(60) / failures.per_minute.get())
            .expect("a per-minute rate of at most u32::MAX gives a non-zero period")
            .allow_burst(failures.burst);
        Self {
            token,
            open,
            failures: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Whether anyone may call `path`.
    pub fn is_open(&self, path: &str) -> bool {
        self.open.contains(&path)
    }

    /// `Some(wait)` while `ip` is over the failure limit.
    fn blocked_for(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let blocked = self.blocked.lock().expect("blocked list lock");
        blocked
            .get(&ip)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a failure of `ip`; `Some(wait)` when that put it over the limit.
    fn failed(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let not_until = self.failures.check_key(&ip).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked.lock().expect("blocked list lock");
        if blocked.len() >= BLOCKED_PRUNE_AT {
            blocked.retain(|_, until| *until > now);
            self.failures.retain_recent();
        }
        blocked.insert(ip, now + wait);
        Some(wait)
    }

    /// The verdict on a request for `path` with this `Authorization` header.
    pub fn check(
        &self,
        ip: IpAddr,
        path: &str,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<(), ApiError> {
        if self.is_open(path) {
            return Ok(());
        }
        if let Some(wait) = self.blocked_for(ip, now) {
            return Err(ApiError::rate_limited(wait));
        }
        let presented = authorization.and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
        });
        let refusal = match presented {
            Some(token) if self.token.matches(token) => return Ok(()),
            Some(_) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "this is not the admin token",
            ),
            None => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "the admin API needs Authorization: Bearer <admin token>",
            ),
        };
        tracing::warn!(%ip, path, code = refusal.code(), "admin request refused");
        match self.failed(ip, now) {
            Some(wait) => Err(ApiError::rate_limited(wait)),
            None => Err(refusal),
        }
    }
}

/// The middleware: [`Guard::check`] on every request.
pub async fn require_token(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| *ip)
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
        })
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match guard.check(ip, req.uri().path(), authorization, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::token::TokenSource;

    fn guard(failures: Rate) -> Guard {
        Guard::new(
            AdminToken::new("the-admin-token-1234", TokenSource::Config),
            vec!["/healthz"],
            failures,
        )
    }

    /// Open paths pass bare; others need the exact token, and a missing
    /// token and a wrong one have their own codes.
    #[test]
    fn open_paths_and_tokens() {
        let g = guard(Rate::new(1000, 1000));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = Instant::now();
        assert!(g.check(ip, "/healthz", None, now).is_ok());
        assert!(
            g.check(
                ip,
                "/v1/admin/players",
                Some("Bearer the-admin-token-1234"),
                now
            )
            .is_ok()
        );
        let missing = g.check(ip, "/v1/admin/players", None, now).unwrap_err();
        assert_eq!(
            (missing.status(), missing.code()),
            (StatusCode::UNAUTHORIZED, "missing_token")
        );
        for wrong in ["Bearer the-admin-token-123", "Basic abc", "Bearer "] {
            let err = g.check(ip, "/x", Some(wrong), now).unwrap_err();
            assert_eq!(err.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        }
    }

    /// After the burst of failures an address gets 429 even with the
    /// right token; other addresses are unaffected.
    #[test]
    fn failures_are_rate_limited_per_address() {
        let g = guard(Rate::new(1, 3));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let now = Instant::now();
        for _ in 0..3 {
            let err = g.check(a, "/x", Some("Bearer nope"), now).unwrap_err();
            assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        }
        let err = g.check(a, "/x", Some("Bearer nope"), now).unwrap_err();
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        let err = g
            .check(a, "/x", Some("Bearer the-admin-token-1234"), now)
            .unwrap_err();
        assert_eq!(err.code(), "rate_limited");
        assert!(
            g.check(a, "/healthz", None, now).is_ok(),
            "open paths stay open"
        );
        assert!(
            g.check(b, "/x", Some("Bearer the-admin-token-1234"), now)
                .is_ok()
        );
    }
}
