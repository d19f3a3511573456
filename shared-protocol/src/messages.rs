//! Every message of a game session.
//!
//! Two enums, one per direction. Variants are encoded by their index, so new
//! variants are only ever appended (chat and social messages will be); the
//! order here is part of the wire format and pinned by golden vectors.
//!
//! Reliable messages travel framed on the control stream (see [`crate::frame`]);
//! [`ServerMessage::StateUpdate`] travels alone in a QUIC datagram because a
//! newer one supersedes a lost one.

use serde::{Deserialize, Serialize};

use crate::ids::{ErrorCode, PlayerId, Position, RegionId, Vec2};

/// Longest text of a shout or broadcast, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 512;
/// Longest player name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 32;
/// Longest session token a client may send, in bytes.
pub const MAX_TOKEN_LEN: usize = 128;
/// Longest map name, in bytes of UTF-8 (a map's name travels in every
/// `Welcome` and `MapChanged`).
pub const MAX_MAP_NAME_LEN: usize = 255;

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message on the control stream: which protocol the client speaks
    /// and the session token the auth API issued.
    Hello {
        /// Must equal the server's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// The bearer token from `POST /v1/sessions`.
        token: String,
    },
    /// Where the player wants to go. Standing intent: the server keeps
    /// applying it every tick until the next `Move` replaces it.
    Move(MoveIntent),
    /// Say something to every player within the shout radius.
    Shout {
        /// At most [`MAX_TEXT_LEN`] bytes.
        text: String,
    },
    /// Say something to every player in the speaker's region.
    Broadcast {
        /// At most [`MAX_TEXT_LEN`] bytes.
        text: String,
    },
    /// Round-trip probe; the server answers [`ServerMessage::Pong`].
    Ping {
        /// Echoed back unchanged.
        nonce: u64,
    },
    /// Move to the spawn point of another loaded map. The server answers
    /// [`ServerMessage::MapChanged`], or [`ServerMessage::Error`] with
    /// [`crate::ErrorCode::UNKNOWN_MAP`] when no map has that name.
    ChangeMap {
        /// The map's name: 1 to [`MAX_MAP_NAME_LEN`] bytes, no control
        /// characters.
        map: String,
    },
    /// First message on the control stream instead of `Hello`, when the
    /// client comes back after its connection dropped: the resume token of
    /// the last [`ServerMessage::ResumeToken`] stands for the session token.
    /// The server answers as to `Hello` (`Welcome`, or `Reject` with
    /// `INVALID_TOKEN` once the resume token expired or its session ended;
    /// the client then falls back to `Hello`). Send it only to a server
    /// that sent a `ResumeToken`: older servers do not know this variant.
    Resume {
        /// Must equal the server's [`crate::PROTOCOL_VERSION`].
        version: u16,
        /// The token of the last `ResumeToken`, unchanged.
        token: String,
    },
}

/// A movement intent: direction and speed, never a position to jump to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MoveIntent {
    /// Client sequence number, increasing by one per intent; echoed in
    /// [`ServerMessage::PositionCorrected`] so the client can replay newer
    /// inputs on top of a correction.
    pub seq: u32,
    /// Direction of travel; zero means stop.
    pub direction: Vec2,
    /// Requested speed in world units per second; the server caps it.
    pub speed: f32,
    /// Where the client believes it is when sending this intent. The server
    /// never moves the player there; it compares it with its own position and
    /// sends a correction when they differ by more than the tolerance.
    pub predicted: Position,
}

/// What a map looks like, told to a client when it joins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapInfo {
    /// The map's name (its file name without extension once maps are files).
    pub name: String,
    /// Width in world units.
    pub width: u32,
    /// Height in world units.
    pub height: u32,
    /// Number of region columns.
    pub region_cols: u32,
    /// Number of region rows.
    pub region_rows: u32,
}

/// A player that came into view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityInfo {
    /// Who it is.
    pub id: PlayerId,
    /// Display name.
    pub name: String,
    /// Where it is now.
    pub position: Position,
}

/// The new position of a player in view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EntityState {
    /// Who moved.
    pub id: PlayerId,
    /// Where it is now.
    pub position: Position,
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// The handshake succeeded; the player is in the world.
    Welcome {
        /// The player's id (its account id).
        player_id: PlayerId,
        /// The region the player starts in.
        region: RegionId,
        /// Where the player starts.
        position: Position,
        /// Simulation ticks per second.
        tick_rate_hz: u16,
        /// The map the player is on.
        map: MapInfo,
    },
    /// The handshake failed; the server closes the connection after this.
    Reject {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, in words.
        reason: String,
    },
    /// The server's authoritative position differs from the client's
    /// prediction; the client must snap (or smoothly move) here.
    PositionCorrected {
        /// Sequence number of the last intent the server applied.
        seq: u32,
        /// Authoritative position.
        position: Position,
    },
    /// The player crossed into another region.
    RegionChanged {
        /// The new region.
        region: RegionId,
    },
    /// Players that came within the view radius this tick.
    EntitiesEntered {
        /// Their identity and position.
        #[serde(deserialize_with = "crate::codec::bounded_seq::deserialize")]
        entities: Vec<EntityInfo>,
    },
    /// Players that left the view radius (or the game) this tick.
    EntitiesLeft {
        /// Their ids.
        #[serde(deserialize_with = "crate::codec::bounded_seq::deserialize")]
        ids: Vec<PlayerId>,
    },
    /// Positions of players in view that moved this tick. Sent as a datagram;
    /// unchanged players are not listed.
    StateUpdate {
        /// The tick these positions belong to; drop updates older than the
        /// newest one seen.
        tick: u64,
        /// The moved players.
        #[serde(deserialize_with = "crate::codec::bounded_seq::deserialize")]
        moved: Vec<EntityState>,
    },
    /// Someone within the shout radius shouted.
    ShoutHeard {
        /// Who.
        speaker: PlayerId,
        /// Their display name.
        name: String,
        /// Where they stood.
        position: Position,
        /// What they said.
        text: String,
    },
    /// Someone in the player's region broadcast.
    BroadcastHeard {
        /// Who.
        speaker: PlayerId,
        /// Their display name.
        name: String,
        /// The region it was broadcast to.
        region: RegionId,
        /// What they said.
        text: String,
    },
    /// Something the client sent was refused. Fatal errors are followed by
    /// the connection closing with the same code.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Explanation in words.
        message: String,
    },
    /// Answer to [`ClientMessage::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u64,
        /// The server's current tick.
        tick: u64,
    },
    /// The player's map changed under it: its map was reloaded with a new
    /// layout, or the player was moved to another map (then `map` is the new
    /// map). Like a [`ServerMessage::PositionCorrected`], `position` is
    /// authoritative: the client snaps there and replays its intents newer
    /// than `seq`. When `map.name` is the map the client was on (a reload),
    /// its view stays valid and the next ticks' `EntitiesLeft`,
    /// `EntitiesEntered` and `StateUpdate` bring it up to date; when the
    /// name differs (a move to another map), the client clears its view and
    /// the new map's `EntitiesEntered` refill it (docs/PROTOCOL.md,
    /// "MapChanged").
    MapChanged {
        /// The map the player is on now.
        map: MapInfo,
        /// The region the player is in now.
        region: RegionId,
        /// Where the player is now, after the tick in which the change took
        /// effect.
        position: Position,
        /// Sequence number of the last movement intent the server applied,
        /// as in `PositionCorrected`; 0 when none was, and on a move to
        /// another map, where the player starts without an intent.
        seq: u32,
        /// Whether the server moved the player (its tile became blocked, it
        /// was outside the new map, or it changed maps), rather than only
        /// the map around it changing.
        relocated: bool,
        /// What happened, in words for the player.
        reason: String,
    },
    /// A short-lived token that resumes this session on a new connection
    /// without logging in again ([`ClientMessage::Resume`]). Sent right
    /// after `Welcome` and then again before the previous one expires; the
    /// newest replaces the older ones. It is bound to the account and to
    /// the session token it came from: logging out, or the session
    /// expiring, ends it too. Opaque to clients.
    ResumeToken {
        /// At most [`MAX_TOKEN_LEN`] bytes of ASCII.
        token: String,
        /// How long it stays valid from now, in milliseconds.
        valid_for_ms: u32,
    },
    /// A system message from the server's operators, to everyone, to the
    /// players of one map or to those of one region. Show it; nothing else
    /// changes.
    Announcement {
        /// What to show, at most [`MAX_TEXT_LEN`] bytes.
        text: String,
    },
}
