//! The battlegrid server: everything with threads, sockets, files and time.
//!
//! Today: configuration ([`config`]), the embedded store ([`store`]),
//! accounts and sessions over HTTP with the token table ([`auth`]), the
//! HTTP listeners ([`http`]) and the start/stop sequence ([`Server`],
//! [`run`]). The QUIC game listener, gateway and tick loop come next and
//! plug in through [`Server::store`] and [`Server::token_table`].

pub mod auth;
pub mod bots;
pub mod config;
pub mod http;
mod server;
pub mod store;

pub use config::Config;
pub use server::{BoundAddrs, Server, run};
