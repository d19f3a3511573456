//! HTTP listeners: the accept loop, per-connection limits, and the routers
//! of the public and admin listeners.
//!
//! `serve` drives hyper's HTTP/1.1 connection directly (rather than
//! `axum::serve`) because only hyper's builder exposes a header read
//! timeout, the defence against clients that dribble their headers. HTTP/2
//! is not offered: browsers speak it only over TLS, and TLS for the public
//! listener is expected from a reverse proxy. The endpoints themselves live
//! in `crate::auth` and `public`/`admin` here.

mod admin;
#[cfg(feature = "fault-injection")]
mod faults;
mod health;
mod maps;
mod public;
mod serve;

pub use admin::admin_router;
#[cfg(feature = "fault-injection")]
pub use faults::faults_router;
pub use health::health_router;
pub use maps::maps_router;
pub use public::{GameInfo, ServerInfo, public_router};
pub use serve::serve;
