//! The admin server's own parts: the admin token ([`token`]), the
//! authentication guard in front of every admin route ([`guard`]), the
//! route table both are checked against ([`routes`]), the ban list
//! ([`bans`]), the `[admin_api]` settings ([`config`]), and the admin API's
//! players, bans ([`players`]), announcements, maps, regions and server
//! routes ([`world`]) over the shared [`state`] and the once-a-second
//! [`sampler`]; the live dashboard ([`dashboard`]) and its feed ([`feed`]).
//!
//! The admin listener's router itself is assembled in
//! `crate::http::admin_router`; the account-side endpoints live in
//! `crate::auth`.

pub mod bans;
pub mod config;
pub mod dashboard;
pub mod feed;
pub mod guard;
pub mod players;
pub mod routes;
pub mod sampler;
pub mod state;
pub mod token;
pub mod world;

pub use bans::Bans;
pub use config::AdminApiConfig;
pub use guard::{Guard, require_token};
pub use routes::{Access, RouteSpec, RouteTable};
pub use sampler::Sampler;
pub use state::AdminState;
pub use token::{AdminToken, AdminTokenError, TOKEN_FILE, TokenSource};

/// Every admin API route of this module and the dashboard's.
pub fn api_routes(state: AdminState, feed: std::sync::Arc<feed::Feed>) -> RouteTable {
    players::routes(state.clone())
        .merge(world::routes(state.clone()))
        .merge(dashboard::routes(state, feed))
}
