//! HTTP listeners: the accept loop, per-connection limits, HTTPS, the
//! client's address behind proxies, security headers, and the routers of
//! the public and admin listeners.
//!
//! `serve` drives hyper's HTTP/1.1 connection directly (rather than
//! `axum::serve`) because only hyper's builder exposes a header read
//! timeout, the defence against clients that dribble their headers, and
//! because TLS and the plain-HTTP refusal sit in front of it. HTTP/2 is not
//! offered: the API's requests are small and few per client. The endpoints
//! themselves live in `crate::auth` and `public`/`admin` here; `json_errors`
//! puts every error answer of both listeners in the API's JSON shape.

mod admin;
pub mod client_addr;
pub mod config;
#[cfg(feature = "fault-injection")]
mod faults;
mod headers;
mod health;
mod json_errors;
mod maps;
mod patch;
mod public;
mod ranged;
mod recording;
mod serve;
pub mod tls;

pub use admin::{admin_router, admin_routes};
pub use client_addr::{ClientAddr, TrustedProxies};
#[cfg(feature = "fault-injection")]
pub use faults::faults_routes;
pub use headers::{CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY, with_security_headers};
pub use health::{health_router, healthz_route, readyz_route};
pub use maps::maps_router;
pub use patch::patch_router;
pub use public::{GameInfo, ServerInfo, public_router};
pub use recording::recording_routes;
pub use serve::{ListenerOptions, serve};
