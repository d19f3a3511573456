//! Security headers on every response of both HTTP listeners.
//!
//! The policy is strict because the pages are simple: everything the
//! sign-up page loads (its script, its stylesheet, the API it calls) comes
//! from the same origin, so the Content-Security-Policy allows `'self'`
//! only, with no inline script or style, and no framing. `Cache-Control:
//! no-store` is the default for every answer that does not choose its own
//! caching (the map downloads do), so answers carrying tokens (login, the
//! admin session endpoint) are never kept by a browser or a proxy. HSTS is
//! sent only when the listener itself speaks TLS: over plain HTTP it would
//! be ignored, and behind a TLS proxy the proxy is the one to send it.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of both listeners.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// HSTS value when TLS is on: one year; subdomains are left to the operator,
/// who may serve other things on them.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// `router` with the security headers on every response (including 404s,
/// 405s and errors). Headers a handler set itself are kept.
pub fn with_security_headers(router: Router, tls: bool) -> Router {
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // For browsers older than CSP's frame-ancestors.
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let mut router = router;
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if tls {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        ));
    }
    router
}
