//! What the tick core needs of one joined client: its queue of commands
//! and its outbound side. [`ClientLink`] is the real one (a connection's
//! [`Peer`] and the queue its reader fills); the core's unit tests use a
//! recording one, which is what keeps the core free of sockets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use battlegrid_protocol::ErrorCode;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::game::peer::Peer;
use crate::game::session::Command;

/// One joined client as the tick core sees it. Every method returns at
/// once: the tick never waits for a client.
pub trait Link {
    /// The next queued command, if any.
    fn command(&mut self) -> Option<Command>;
    /// Queues an encoded message on the control stream.
    fn reliable(&self, bytes: Bytes);
    /// Queues an encoded state update of `tick`; returns how many older
    /// ones it replaced.
    fn datagram(&self, tick: u64, bytes: Bytes) -> usize;
    /// Tells the client `code` after what is queued, then closes.
    fn close(&self, code: ErrorCode, reason: &str);
    /// Closes at once (the client is not reading what is queued).
    fn close_now(&self, code: ErrorCode, reason: &str);
    /// Wakes the writer for what this tick queued.
    fn flush(&self);
    /// `Some(reason)` when the client has not taken its reliable messages
    /// for too long at `now` (see [`Peer::check_backlog`]).
    fn backlog(&self, now: Instant, limit: usize, grace: Duration) -> Option<String>;
    /// Whether the reader dropped a command since the last call (its queue
    /// was full).
    fn take_overflowed(&self) -> bool;
    /// The code the connection was closed with by the server side (the
    /// tick, or the admin API's kick), if it was.
    fn close_code(&self) -> Option<ErrorCode>;
}

/// A connection: its outbound [`Peer`] and the command queue its reader
/// fills.
#[derive(Debug)]
pub struct ClientLink {
    /// The outbound side, shared with the connection's writer task.
    pub peer: Arc<Peer>,
    /// The commands, bounded by `[quic] inbound_queue`.
    pub commands: mpsc::Receiver<Command>,
}

impl Link for ClientLink {
    fn command(&mut self) -> Option<Command> {
        self.commands.try_recv().ok()
    }

    fn reliable(&self, bytes: Bytes) {
        self.peer.push_reliable(bytes);
    }

    fn datagram(&self, tick: u64, bytes: Bytes) -> usize {
        self.peer.push_datagram(tick, bytes)
    }

    fn close(&self, code: ErrorCode, reason: &str) {
        self.peer.close(code, reason);
    }

    fn close_now(&self, code: ErrorCode, reason: &str) {
        self.peer.close_now(code, reason);
    }

    fn flush(&self) {
        self.peer.flush();
    }

    fn backlog(&self, now: Instant, limit: usize, grace: Duration) -> Option<String> {
        self.peer.check_backlog(now, limit, grace)
    }

    fn take_overflowed(&self) -> bool {
        self.peer.take_overflowed()
    }

    fn close_code(&self) -> Option<ErrorCode> {
        self.peer.close_code()
    }
}
