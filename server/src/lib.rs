//! The battlegrid server: everything with threads, sockets, files and time.
//!
//! Today: configuration ([`config`]), the admin token and guard ([`admin`]), the embedded store ([`store`]),
//! accounts and sessions over HTTP with the token table ([`auth`]), the
//! HTTP listeners ([`http`]), the QUIC game listener with its gateway and
//! tick thread ([`game`]), the download and patch server ([`patch`]), the
//! `bots` load generator ([`bots`]), the analytics pipeline and its
//! subcommand ([`analytics`]), the `fetch-assets` updater
//! ([`fetch_assets`]) and the start/stop sequence ([`Server`], [`run`]).

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod bots;
pub mod config;
pub mod fetch_assets;
pub mod game;
pub mod http;
pub mod maps;
pub mod metrics;
pub mod patch;
pub mod record;
mod server;
pub mod store;

pub use config::Config;
pub use server::{BoundAddrs, Server, ServerError, run};
