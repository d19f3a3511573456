//! Everything a tick produces: messages for connections, persistence
//! requests and analytics events, collected in the [`Outputs`] resource and
//! handed to the caller as a [`TickOutput`].
//!
//! Messages are already encoded: the server only routes bytes. A message
//! with many recipients is encoded once and its [`Bytes`] cloned into every
//! [`Envelope`] (a reference count, not a copy). This module does not decide
//! who receives what; the systems of each phase do.

use battlegrid_protocol::{ErrorCode, PlayerId, Position, RegionId, ServerMessage};
use bevy_ecs::prelude::Resource;
use bytes::{Bytes, BytesMut};

/// How a message travels to its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// On the reliable, ordered control stream (framed).
    Reliable,
    /// In one unreliable QUIC datagram; a newer one supersedes it.
    Datagram,
}

/// One encoded message for one player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The recipient.
    pub to: PlayerId,
    /// Stream or datagram.
    pub delivery: Delivery,
    /// The encoded [`ServerMessage`], shared with other recipients of the
    /// same message.
    pub bytes: Bytes,
}

/// A request to persist a player's position.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SavePosition {
    /// Whose position.
    pub id: PlayerId,
    /// Where the player is (or was when it left).
    pub position: Position,
}

/// Why a player was sent a position correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CorrectionReason {
    /// The client's predicted position was off by more than the tolerance.
    Drift,
    /// The intent asked for more than the maximum speed.
    SpeedCapped,
}

/// A gameplay event for the analytics pipeline. Serialisable so that a
/// recording can hash a tick's outputs in a defined encoding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum AnalyticsEvent {
    /// A player entered the world.
    Joined {
        /// Who.
        id: PlayerId,
        /// Where it was placed.
        region: RegionId,
    },
    /// A player left the world.
    Left {
        /// Who.
        id: PlayerId,
        /// The region it left from.
        region: RegionId,
    },
    /// A player shouted.
    Shout {
        /// Who.
        id: PlayerId,
        /// How many players heard it (the speaker included).
        recipients: u32,
        /// What was said (the server decides whether to keep it).
        text: String,
    },
    /// A player broadcast to its region.
    Broadcast {
        /// Who.
        id: PlayerId,
        /// To which region.
        region: RegionId,
        /// How many players heard it (the speaker included).
        recipients: u32,
        /// What was said (the server decides whether to keep it).
        text: String,
    },
    /// A player was handed from one region to another.
    RegionChanged {
        /// Who.
        id: PlayerId,
        /// The region it left.
        from: RegionId,
        /// The region it entered.
        to: RegionId,
    },
    /// A player's position was corrected.
    Corrected {
        /// Who.
        id: PlayerId,
        /// Why.
        reason: CorrectionReason,
    },
    /// The tick ended; always the last event of a tick.
    TickSummary {
        /// The tick.
        tick: u64,
        /// Players in the world at its end.
        players: u64,
        /// Envelopes it produced.
        messages: u64,
    },
    /// An input was refused.
    InvalidInput {
        /// Whose input.
        id: PlayerId,
        /// The error code the player was sent.
        code: ErrorCode,
    },
}

/// What one call of `Simulation::step` produced.
#[derive(Debug, Clone, Default)]
pub struct TickOutput {
    /// The tick that ran (the first tick is 1).
    pub tick: u64,
    /// Messages in a deterministic order: by phase; within a phase by input
    /// order, recipient id, or (area of interest) region id then cell.
    pub outbox: Vec<Envelope>,
    /// Positions to persist.
    pub saves: Vec<SavePosition>,
    /// Gameplay events, in the order they happened.
    pub analytics: Vec<AnalyticsEvent>,
}

/// The outputs of the tick being run; systems append, the façade drains.
#[derive(Debug, Default, Resource)]
pub struct Outputs {
    /// Messages so far this tick.
    pub outbox: Vec<Envelope>,
    /// Persistence requests so far this tick.
    pub saves: Vec<SavePosition>,
    /// Analytics events so far this tick.
    pub analytics: Vec<AnalyticsEvent>,
}

impl Outputs {
    /// Queues `bytes` for `to` on the reliable stream.
    pub fn reliable(&mut self, to: PlayerId, bytes: Bytes) {
        self.outbox.push(Envelope {
            to,
            delivery: Delivery::Reliable,
            bytes,
        });
    }

    /// Refuses an input of `to` with `code`: an `Error` message and an
    /// analytics event.
    pub fn refuse(&mut self, to: PlayerId, code: ErrorCode, message: &str) {
        let bytes = encode(&ServerMessage::Error {
            code,
            message: message.to_owned(),
        });
        self.reliable(to, bytes);
        self.analytics
            .push(AnalyticsEvent::InvalidInput { id: to, code });
    }
}

/// Encodes a server message the simulation built itself.
///
/// Every message the simulation builds is bounded well under the codec's
/// limit (texts and names are validated on input, lists are chunked), so a
/// failure here is a bug in the simulation, not something input can cause.
pub fn encode(message: &ServerMessage) -> Bytes {
    battlegrid_protocol::encode_to_bytes(message)
        .expect("server messages built by the simulation stay within the codec limit")
}

/// Bump allocation for messages with a single recipient: many small
/// messages are copied into one large buffer and handed out as [`Bytes`]
/// slices of it.
///
/// A tick produces a message per watcher (views, state updates); allocating
/// each on its own and freeing it on whichever thread sends it dominated the
/// tick's cost in profiles. Slices keep their chunk alive by reference
/// count, so a chunk is freed once all its messages are sent. The bytes are
/// the same as with one allocation per message; only their home differs.
#[derive(Debug, Default)]
pub struct Arena {
    chunk: BytesMut,
}

impl Arena {
    /// Size of each chunk; a message larger than this gets a chunk of its own.
    pub const CHUNK: usize = 64 * 1024;

    /// Copies `bytes` into the arena and returns them as shared [`Bytes`].
    pub fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if self.chunk.capacity() - self.chunk.len() < bytes.len() {
            self.chunk = BytesMut::with_capacity(Self::CHUNK.max(bytes.len()));
        }
        self.chunk.extend_from_slice(bytes);
        self.chunk.split().freeze()
    }

    /// Encodes `message` (see [`encode`]) into the arena.
    pub fn encode(&mut self, message: &ServerMessage) -> Bytes {
        let encoded = battlegrid_protocol::encode(message)
            .expect("server messages built by the simulation stay within the codec limit");
        self.copy(&encoded)
    }
}
