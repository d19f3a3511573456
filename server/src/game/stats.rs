//! Counters of the game listener, shared by the gateway, the connection
//! tasks and the tick thread. Plain atomics: cheap to bump from anywhere,
//! read by the periodic log line and by the admin listener's `/metrics`
//! ([`crate::metrics`] says what each becomes there).

use std::sync::atomic::{AtomicU64, Ordering};

/// Event counters since start.
#[derive(Debug, Default)]
pub struct GameStats {
    /// Connections that completed `Hello` and joined.
    pub joined: AtomicU64,
    /// Connection attempts refused before the handshake (limits, shutdown).
    pub refused: AtomicU64,
    /// Handshakes that ended without `Welcome`, the sum of the four kinds
    /// below.
    pub handshake_failures: AtomicU64,
    /// The QUIC/TLS handshake failed or did not finish before the deadline.
    pub handshake_quic_failures: AtomicU64,
    /// The QUIC handshake finished but no complete `Hello` came in time.
    pub handshake_hello_timeouts: AtomicU64,
    /// The control stream carried bytes that are not a `Hello`, or broke.
    pub handshake_bad_hello: AtomicU64,
    /// `Reject`ed: unknown or expired token, unsupported version.
    pub handshake_rejected: AtomicU64,
    /// QUIC Retry packets sent to unvalidated addresses under load.
    pub retries_sent: AtomicU64,
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
    /// World steps that panicked.
    pub world_failures: AtomicU64,
    /// Worlds rebuilt from their players' saves after a panic.
    pub worlds_restored: AtomicU64,
    /// Worlds taken out of the game for failing too often.
    pub worlds_quarantined: AtomicU64,
    /// Panics on the tick thread outside any world's step.
    pub tick_restarts: AtomicU64,
    /// Ticks the watchdog found running past the warning deadline.
    pub tick_stalls: AtomicU64,
    /// Players in the world at the end of the last tick.
    pub players: AtomicU64,
    /// Ticks run since start.
    pub ticks: AtomicU64,
    /// Duration of the last tick, microseconds (the admin API's regions).
    pub last_tick_us: AtomicU64,
    /// Tick durations of the last finished statistics window, microseconds.
    pub tick_window: TickWindow,
}

/// Tick-duration quantiles over the last statistics window
/// (`world.stats_every_ticks` ticks), so a scraper sees recent behaviour
/// rather than an average since start.
#[derive(Debug, Default)]
pub struct TickWindow {
    /// Median, microseconds.
    pub p50_us: AtomicU64,
    /// 99th percentile, microseconds.
    pub p99_us: AtomicU64,
    /// Longest, microseconds.
    pub max_us: AtomicU64,
}

/// Why a handshake ended without `Welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// QUIC/TLS failed or timed out.
    Quic,
    /// No complete `Hello` before the deadline.
    HelloTimeout,
    /// Bytes that are not a `Hello`, or the stream broke.
    BadHello,
    /// Token or version refused.
    Rejected,
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

    /// Counts a failed handshake in the total and in its kind.
    pub fn handshake_failed(&self, kind: HandshakeFailure) {
        Self::bump(&self.handshake_failures);
        Self::bump(match kind {
            HandshakeFailure::Quic => &self.handshake_quic_failures,
            HandshakeFailure::HelloTimeout => &self.handshake_hello_timeouts,
            HandshakeFailure::BadHello => &self.handshake_bad_hello,
            HandshakeFailure::Rejected => &self.handshake_rejected,
        });
    }

    /// Sets a gauge-like value.
    pub fn set(cell: &AtomicU64, value: u64) {
        cell.store(value, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
