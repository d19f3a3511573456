//! The admin server's own parts: the admin token ([`token`]), the
//! authentication guard in front of every admin route ([`guard`]), the
//! route table both are checked against ([`routes`]) and the
//! `[admin_api]` settings ([`config`]).
//!
//! The admin listener's router itself is assembled in
//! `crate::http::admin_router`; the account-side endpoints live in
//! `crate::auth`.

pub mod config;
pub mod guard;
pub mod routes;
pub mod token;

pub use config::AdminApiConfig;
pub use guard::{Guard, require_token};
pub use routes::{Access, RouteSpec, RouteTable};
pub use token::{AdminToken, AdminTokenError, TOKEN_FILE, TokenSource};
