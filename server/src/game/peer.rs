//! One connection's outbound side: the bounded queue between the tick
//! thread (which never waits) and the connection's writer task.
//!
//! Policy when a client cannot keep up:
//! - state updates (datagrams) of a tick replace those of older ticks the
//!   writer has not sent yet, so at most one tick's worth waits;
//! - reliable messages queue, counted in bytes until the writer has written
//!   them into the QUIC stream (which blocks once the client stops reading
//!   and the flow-control window is full). Above `backlog_bytes` for longer
//!   than `too_slow` the connection is closed with `TOO_SLOW`; above four
//!   times `backlog_bytes` at once, since that is the memory bound.
//!
//! Closing goes through [`Peer::close`]: the writer sends `Error{code}` on
//! the control stream when it can, then closes QUIC with the code. What
//! this module leaves out: reading (see [`crate::game::session`]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use battlegrid_protocol::ErrorCode;
use bytes::Bytes;
use tokio::sync::Notify;

/// Why and how a connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The code of the `Error` message and of the QUIC close.
    pub code: ErrorCode,
    /// The text of both.
    pub reason: String,
    /// Whether to send `Error` on the stream first (not when the client is
    /// the one not reading it).
    pub tell: bool,
}

/// What the writer takes out in one go.
#[derive(Debug, Default)]
pub struct Batch {
    /// Encoded messages for the control stream, in order.
    pub reliable: Vec<Bytes>,
    /// Encoded state updates of the newest tick.
    pub datagrams: Vec<Bytes>,
    /// Set once the connection must end (after `reliable` is written).
    pub close: Option<Close>,
}

/// Reliable bytes a client has not taken yet: queued, plus taken by the
/// writer but not yet accepted by the QUIC stream.
#[derive(Debug, Default)]
pub struct Backlog {
    bytes: usize,
    over_since: Option<Instant>,
}

impl Backlog {
    /// `n` more bytes queued.
    pub fn add(&mut self, n: usize) {
        self.bytes += n;
    }

    /// Bytes queued and not yet accepted by the stream.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// `n` bytes accepted by the stream.
    pub fn written(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
    }

    /// The check at `now`: `Some(reason)` once the backlog has stayed above
    /// `limit` for longer than `grace`, or is above four times `limit`.
    pub fn check(&mut self, now: Instant, limit: usize, grace: Duration) -> Option<String> {
        if self.bytes <= limit {
            self.over_since = None;
            return None;
        }
        if self.bytes > limit.saturating_mul(4) {
            return Some(format!(
                "{} bytes of reliable messages not read",
                self.bytes
            ));
        }
        let since = *self.over_since.get_or_insert(now);
        (now.duration_since(since) > grace).then(|| {
            format!(
                "reliable messages not read for {} ms ({} bytes waiting)",
                grace.as_millis(),
                self.bytes
            )
        })
    }
}

#[derive(Debug, Default)]
struct Queue {
    reliable: VecDeque<Bytes>,
    backlog: Backlog,
    datagrams: Vec<Bytes>,
    datagram_tick: u64,
    close: Option<Close>,
    dirty: bool,
    /// Messages queued since the connection started (both kinds), for the
    /// admin API's messages per second; counted under the lock taken anyway.
    messages: u64,
}

/// A look at a [`Peer`]'s outbound side ([`Peer::figures`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerFigures {
    /// Messages queued since the connection started.
    pub messages: u64,
    /// Reliable messages waiting for the writer.
    pub queued_messages: usize,
    /// Reliable bytes the client has not taken yet.
    pub backlog_bytes: usize,
}

/// The shared outbound state of one connection.
#[derive(Debug)]
pub struct Peer {
    /// Used to close at once when the writer is stuck behind flow control.
    pub connection: quinn::Connection,
    queue: Mutex<Queue>,
    /// Wakes the writer.
    pub wake: Notify,
    /// Set by the reader when the inbound queue was full and a command was
    /// dropped; the tick counts it as a flooding tick.
    pub overflowed: AtomicBool,
}

impl Peer {
    /// A peer for `connection` with nothing queued.
    pub fn new(connection: quinn::Connection) -> Self {
        Self {
            connection,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            overflowed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves a queue of plain values,
        // still consistent, so a poisoned lock is used as is.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a reliable message; ignored once closing.
    pub fn push_reliable(&self, bytes: Bytes) {
        let mut q = self.lock();
        if q.close.is_none() {
            q.backlog.add(bytes.len());
            q.reliable.push_back(bytes);
            q.dirty = true;
            q.messages += 1;
        }
    }

    /// Queues a state update of `tick`, replacing unsent ones of older
    /// ticks; returns how many were replaced.
    pub fn push_datagram(&self, tick: u64, bytes: Bytes) -> usize {
        let mut q = self.lock();
        if q.close.is_some() {
            return 1;
        }
        let mut replaced = 0;
        if q.datagram_tick != tick {
            replaced = q.datagrams.len();
            q.datagrams.clear();
            q.datagram_tick = tick;
        }
        q.datagrams.push(bytes);
        q.dirty = true;
        q.messages += 1;
        replaced
    }

    /// Wakes the writer if anything was queued since the last call.
    pub fn flush(&self) {
        let dirty = std::mem::take(&mut self.lock().dirty);
        if dirty {
            self.wake.notify_one();
        }
    }

    /// Asks the writer to end the connection with `code` (the first reason
    /// given wins).
    pub fn close(&self, code: ErrorCode, reason: impl Into<String>) {
        self.lock().close.get_or_insert(Close {
            code,
            reason: reason.into(),
            tell: true,
        });
        self.wake.notify_one();
    }

    /// Ends the connection now, without telling the client on the stream.
    pub fn close_now(&self, code: ErrorCode, reason: &str) {
        self.lock().close.get_or_insert(Close {
            code,
            reason: reason.to_owned(),
            tell: false,
        });
        self.connection
            .close(u32::from(code.0).into(), reason.as_bytes());
        self.wake.notify_one();
    }

    /// The code the server closed the connection with, if it did.
    pub fn close_code(&self) -> Option<ErrorCode> {
        self.lock().close.as_ref().map(|close| close.code)
    }

    /// Whether the connection is ending.
    pub fn is_closing(&self) -> bool {
        self.lock().close.is_some()
    }

    /// Takes everything queued (the writer's side).
    pub fn take(&self) -> Batch {
        let mut q = self.lock();
        Batch {
            reliable: q.reliable.drain(..).collect(),
            datagrams: std::mem::take(&mut q.datagrams),
            close: q.close.clone(),
        }
    }

    /// Records that `n` reliable bytes were written into the stream.
    pub fn written(&self, n: usize) {
        self.lock().backlog.written(n);
    }

    /// The tick's check of the reliable backlog at `now`: `Some(reason)` if
    /// the client must be closed with `TOO_SLOW`.
    pub fn check_backlog(&self, now: Instant, limit: usize, grace: Duration) -> Option<String> {
        self.lock().backlog.check(now, limit, grace)
    }

    /// What the admin API shows of the outbound side: messages queued since
    /// the start, reliable messages waiting, reliable bytes not yet taken
    /// by the client.
    pub fn figures(&self) -> PeerFigures {
        let q = self.lock();
        PeerFigures {
            messages: q.messages,
            queued_messages: q.reliable.len(),
            backlog_bytes: q.backlog.bytes(),
        }
    }

    /// Takes the reader's overflow flag.
    pub fn take_overflowed(&self) -> bool {
        self.overflowed.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Below the limit nothing happens; above it the client gets the grace
    /// period (which restarts once it drains); far above it, no grace.
    #[test]
    fn backlog_policy() {
        let (limit, grace) = (100, Duration::from_millis(500));
        let t0 = Instant::now();
        let mut backlog = Backlog::default();
        backlog.add(100);
        assert_eq!(backlog.check(t0, limit, grace), None);
        backlog.add(50);
        assert_eq!(backlog.check(t0, limit, grace), None);
        assert_eq!(backlog.check(t0 + grace, limit, grace), None);
        backlog.written(60);
        assert_eq!(backlog.check(t0 + grace * 2, limit, grace), None);
        backlog.add(60);
        let later = t0 + grace * 3;
        assert_eq!(backlog.check(later, limit, grace), None);
        assert!(backlog.check(later + grace * 2, limit, grace).is_some());
        let mut flood = Backlog::default();
        flood.add(401);
        assert!(flood.check(t0, limit, grace).is_some());
    }
}
