//! HTTP listeners: the accept loop, per-connection limits, and the routers
//! of the public and admin listeners.
//!
//! `serve` drives hyper's HTTP/1.1 connection directly (rather than
//! `axum::serve`) because only hyper's builder exposes a header read
//! timeout, the defence against clients that dribble their headers. HTTP/2
//! is not offered: browsers speak it only over TLS, and TLS for the public
//! listener is expected from a reverse proxy. The endpoints themselves live
//! in `crate::auth` and `public`/`admin` here; `json_errors` puts every
//! error answer of both listeners in the API's JSON shape.

mod admin;
mod json_errors;
mod maps;
mod public;
mod serve;

pub use admin::admin_router;
pub use maps::maps_router;
pub use public::{GameInfo, ServerInfo, public_router};
pub use serve::serve;
