//! QUIC transport limits of the game listener, chosen for what the
//! protocol uses and nothing more.
//!
//! - Streams: a client opens exactly one bidirectional stream (the control
//!   stream), so `max_concurrent_bidi_streams = 1` and no unidirectional
//!   streams; a second stream is a protocol violation quinn refuses.
//! - Flow control: the control stream's receive window (256 KiB default)
//!   and the connection's (512 KiB; quinn's own default is unlimited) bound
//!   what a client can make the server buffer before it reads.
//! - Datagrams: the server only sends them. quinn sends datagrams only on
//!   connections that also accept them, so the receive buffer is the
//!   smallest useful one ([`DATAGRAM_RECEIVE_BUFFER`]); the server never
//!   reads it and quinn drops the oldest datagram when it is full. The send
//!   buffer is bounded and also drops the oldest first, which suits state
//!   updates a newer one supersedes.
//! - Idle timeout 15 s with keep-alives every 5 s: a vanished client is
//!   noticed, an idle player is kept.
//! - Handshakes: at most `max_pending_handshakes` in progress (quinn's
//!   `max_incoming`), with their buffered packets bounded; the gateway adds
//!   the per-IP cap and Retry under load.
//! - Migration off: a player's address should not change mid-game, and the
//!   per-IP cap counts connections by address.

use std::sync::Arc;
use std::time::Duration;

use quinn::{IdleTimeout, ServerConfig, TransportConfig, VarInt};

use super::config::QuicConfig;

/// Bytes of client datagrams buffered (and never read): clients send none,
/// but a zero buffer would disable sending them too.
pub const DATAGRAM_RECEIVE_BUFFER: usize = 1200;

/// The transport parameters every game connection gets.
pub fn transport_config(config: &QuicConfig) -> TransportConfig {
    let mut transport = TransportConfig::default();
    let idle = IdleTimeout::try_from(Duration::from_millis(config.idle_timeout_ms))
        .unwrap_or_else(|_| IdleTimeout::from(VarInt::from_u32(15_000)));
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(1))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .stream_receive_window(VarInt::from_u32(config.stream_window_bytes))
        .receive_window(VarInt::from_u32(config.connection_window_bytes))
        .max_idle_timeout(Some(idle))
        .keep_alive_interval(Some(Duration::from_millis(config.keep_alive_ms.max(1))))
        .datagram_receive_buffer_size(Some(DATAGRAM_RECEIVE_BUFFER))
        .datagram_send_buffer_size(config.datagram_send_buffer_bytes);
    transport
}

/// The endpoint's server configuration: crypto, transport and handshake
/// limits.
pub fn server_config(
    crypto: Arc<quinn::crypto::rustls::QuicServerConfig>,
    config: &QuicConfig,
) -> ServerConfig {
    let mut server = ServerConfig::with_crypto(crypto);
    server.transport_config(Arc::new(transport_config(config)));
    server
        .migration(false)
        .max_incoming(config.max_pending_handshakes.max(1))
        // Packets buffered for a handshake not yet accepted: enough for a
        // client's Initial flight, not for a flood.
        .incoming_buffer_size(64 * 1024)
        .incoming_buffer_size_total(
            (config.max_pending_handshakes.max(1) as u64).saturating_mul(16 * 1024),
        );
    server
}
