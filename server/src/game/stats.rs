//! Counters of the game listener, shared by the gateway, the connection
//! tasks and the tick thread. Plain atomics: cheap to bump from anywhere,
//! read by the periodic log line (and by a metrics endpoint later).

use std::sync::atomic::{AtomicU64, Ordering};

/// Event counters since start.
#[derive(Debug, Default)]
pub struct GameStats {
    /// Connections that completed `Hello` and joined.
    pub joined: AtomicU64,
    /// Connection attempts refused before the handshake (limits, shutdown).
    pub refused: AtomicU64,
    /// Handshakes that ended without `Welcome` (timeout, reject, bad bytes).
    pub handshake_failures: AtomicU64,
    /// Commands dropped: inbound queue full, or over the per-tick budget.
    pub commands_dropped: AtomicU64,
    /// Datagrams not sent: replaced by a newer tick's before the writer got
    /// to them, too large, or unsupported by the client.
    pub datagrams_dropped: AtomicU64,
    /// Connections closed for flooding (`RATE_LIMITED`).
    pub rate_limited: AtomicU64,
    /// Connections closed for not draining reliable traffic (`TOO_SLOW`).
    pub too_slow: AtomicU64,
    /// Connections closed for bad bytes (`MALFORMED_MESSAGE`, `FRAME_TOO_LARGE`,
    /// `UNEXPECTED_MESSAGE`).
    pub bad_input: AtomicU64,
    /// Ticks that ended after the next tick's deadline.
    pub tick_overruns: AtomicU64,
    /// Tick deadlines skipped because of overruns.
    pub ticks_skipped: AtomicU64,
    /// Position saves that failed in the store.
    pub save_failures: AtomicU64,
}

impl GameStats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
