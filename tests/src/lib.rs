//! End-to-end tests live in `tests/tests/`; this library holds their helpers.
//!
//! [`server`] spawns the real `battlegrid` binary on loopback ports 0 with a
//! temporary data dir; [`api`] is a small client of the auth HTTP API;
//! [`tls`] makes a test certificate authority and reads the certificate a
//! server presents; [`browser`] drives headless chromium; [`kill9`] is the
//! SIGKILL harness (bin `battlegrid-kill9`); [`resume_gap`] measures how
//! fast bots come back after restarts (bin `resume-gap`).

pub mod api;
pub mod browser;
pub mod kill9;
pub mod maps;
pub mod resume_gap;
pub mod server;
pub mod tls;
