//! Configuration of the game listener and the world it serves: the TLS
//! certificate (`[tls]`), QUIC transport and per-connection limits
//! (`[quic]`), the simulation's rules and built-in map (`[world]`), and
//! fail recovery (`[recovery]`).
//!
//! Every default is documented on its field; docs/API.md lists the keys.
//! This module only describes settings; [`crate::game::tls`],
//! [`crate::game::transport`], [`crate::game::worlds`] and
//! [`crate::game::watchdog`] turn them into the objects quinn, rustls, the
//! simulation and the watchdog use.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the game listener's certificate comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain given by the operator (leaf first). With
    /// `key_pem`, replaces the generated development certificate.
    pub cert_pem: Option<PathBuf>,
    /// PEM private key of `cert_pem` (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Option<PathBuf>,
    /// Extra names (DNS names or IP addresses) for the generated
    /// certificate, besides `localhost`, `127.0.0.1` and `::1`. Only used
    /// when the certificate is first generated. Default none.
    pub names: Vec<String>,
}

/// QUIC transport limits and per-connection queue limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuicConfig {
    /// Time a client has from the QUIC handshake to a complete `Hello`
    /// before it is closed with `HANDSHAKE_TIMEOUT`. Default 5000 ms.
    pub handshake_timeout_ms: u64,
    /// Connection attempts (QUIC handshake plus `Hello`) in progress at
    /// once; further attempts are refused. Default 1024.
    pub max_pending_handshakes: usize,
    /// Above this many attempts in progress, peers whose address is not
    /// validated yet are sent a Retry first (address validation), so
    /// spoofed sources cannot make the server do handshake work. Default 256.
    pub retry_above_pending: usize,
    /// Open game connections per client IP address. Default 64 (NATed
    /// households share addresses). Loopback addresses are exempt unless
    /// `cap_loopback` is set, so `battlegrid bots` on the server's machine
    /// can open thousands.
    pub max_connections_per_ip: usize,
    /// Apply `max_connections_per_ip` to loopback clients too. Default false.
    pub cap_loopback: bool,
    /// Open game connections in total. Default 10 000.
    pub max_connections: usize,
    /// A connection with no traffic for this long is dropped. Default 15 000 ms.
    pub idle_timeout_ms: u64,
    /// Keep-alive interval, below the idle timeout. Default 5000 ms.
    pub keep_alive_ms: u64,
    /// Receive window of the control stream: what a client may send ahead
    /// of the server reading it. Default 256 KiB.
    pub stream_window_bytes: u32,
    /// Receive window of a whole connection. Default 512 KiB.
    pub connection_window_bytes: u32,
    /// Outgoing datagrams buffered per connection; older ones are dropped
    /// first when full. Default 256 KiB.
    pub datagram_send_buffer_bytes: usize,
    /// Commands buffered per connection between its reader and the tick;
    /// more are dropped. Default 64.
    pub inbound_queue: usize,
    /// Consecutive ticks with commands over the per-tick budget after which
    /// a client is closed with `RATE_LIMITED`. Default 40 (2 s at 20 Hz).
    pub flood_ticks: u32,
    /// Reliable bytes waiting for a client above which it counts as slow.
    /// Default 1 MiB.
    pub reliable_backlog_bytes: usize,
    /// How long a client may stay above `reliable_backlog_bytes` before it
    /// is closed with `TOO_SLOW`; at four times the backlog it is closed at
    /// once. Default 3000 ms.
    pub too_slow_ms: u64,
    /// How long a `ResumeToken` stays valid: the longest outage (restart,
    /// crash, network change) after which a client resumes without its
    /// session token. A fresh token is sent every quarter of this. Default
    /// 300 000 ms (5 min).
    pub resume_token_ttl_ms: u64,
    /// Least time between two QUIC stateless resets the server sends. After
    /// a restart every client of the old process draws one with its next
    /// packet, so a long interval delays their return (quinn's default,
    /// 20 ms, held 500 clients back for up to 15 s); the keyed connection
    /// ids make resets for garbage packets rare. Default 100 µs.
    pub min_reset_interval_us: u64,
}

impl Default for QuicConfig {
    fn default() -> Self {
        Self {
            handshake_timeout_ms: 5000,
            max_pending_handshakes: 1024,
            retry_above_pending: 256,
            max_connections_per_ip: 64,
            cap_loopback: false,
            max_connections: 10_000,
            idle_timeout_ms: 15_000,
            keep_alive_ms: 5000,
            stream_window_bytes: 256 * 1024,
            connection_window_bytes: 512 * 1024,
            datagram_send_buffer_bytes: 256 * 1024,
            inbound_queue: 64,
            flood_ticks: 40,
            reliable_backlog_bytes: 1024 * 1024,
            too_slow_ms: 3000,
            resume_token_ttl_ms: 300_000,
            min_reset_interval_us: 100,
        }
    }
}

/// The simulation's rules and which map new players start on. The maps
/// themselves are files in the maps directory (`--maps`, see
/// `assets-maps/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorldConfig {
    /// The map new players start on, and where players of a deleted map
    /// go: a file name without `.tmx` in the maps directory, which must
    /// load at start. Default `world`.
    pub default_map: String,
    /// Quiet time after the last change of a map file before it is read:
    /// editors save in steps. Default 300 ms.
    pub map_reload_debounce_ms: u64,
    /// Ticks per second. Default 20.
    pub tick_rate_hz: u16,
    /// Commands applied per client per tick. Default 8.
    pub max_commands_per_tick: u32,
    /// View radius in world units. Default 48.
    pub view_radius: f32,
    /// Shout radius in world units. Default 64.
    pub shout_radius: f32,
    /// Maximum speed in world units per second. Default 80.
    pub max_speed: f32,
    /// Positions of moving players are saved at most this often (and on
    /// leave). Default 200 ticks (10 s at 20 Hz).
    pub save_interval_ticks: u64,
    /// Seed of the simulation's random choices (spawn points). Default 1.
    pub seed: u64,
    /// Ticks between two log lines of tick-time statistics. Default 200.
    pub stats_every_ticks: u64,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            default_map: "world".to_owned(),
            map_reload_debounce_ms: 300,
            tick_rate_hz: 20,
            max_commands_per_tick: 8,
            view_radius: 48.0,
            shout_radius: 64.0,
            max_speed: 80.0,
            save_interval_ticks: 200,
            seed: 1,
            stats_every_ticks: 200,
        }
    }
}

/// Fail recovery: when a world that keeps failing is quarantined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// A world whose step panics this many times within
    /// `world_failures_window_ms` is quarantined: its players go to the
    /// default map (which itself is always restored). Default 3.
    pub world_failures_max: u32,
    /// The window of `world_failures_max`. Default 60 000 ms.
    pub world_failures_window_ms: u64,
    /// A tick still running after this long is logged (with its phase and
    /// world), counted, and makes `/healthz` answer 503. Default 1000 ms.
    pub tick_stall_warn_ms: u64,
    /// A tick still running after this long ends the process (exit code
    /// 70) for a supervisor to restart it. Default 10 000 ms.
    pub tick_stall_exit_ms: u64,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            world_failures_max: 3,
            world_failures_window_ms: 60_000,
            tick_stall_warn_ms: 1000,
            tick_stall_exit_ms: 10_000,
        }
    }
}
