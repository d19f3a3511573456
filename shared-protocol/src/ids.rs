//! Small value types shared by many messages: identifiers, positions, codes.

use serde::{Deserialize, Serialize};

/// Identifies a player for as long as its account exists (it is the account id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlayerId(pub u64);

/// Identifies a region of the map: `row * region_cols + col`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegionId(pub u32);

/// A point in world units. The origin is the map's top-left corner, `x` grows
/// to the right and `y` grows downwards (the convention of the Tiled editor).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Horizontal coordinate in world units.
    pub x: f32,
    /// Vertical coordinate in world units.
    pub y: f32,
}

impl Position {
    /// A position from its coordinates.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Squared Euclidean distance, exact enough for radius tests without a sqrt.
    pub fn distance_squared(self, other: Position) -> f32 {
        let dx = self.x - other.x;
        let dy = self.y - other.y;
        dx * dx + dy * dy
    }
}

/// A direction; the server normalises it, so its length does not matter except
/// that a zero vector means "stand still".
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vec2 {
    /// Horizontal component.
    pub x: f32,
    /// Vertical component.
    pub y: f32,
}

/// A numeric error or rejection code. Codes are stable: a client may match on
/// them; the accompanying text is for humans and may change. Unknown codes
/// decode fine so that newer servers can add codes without breaking clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The client's protocol version is not one this server speaks.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(1);
    /// The session token is unknown, malformed, revoked or expired.
    pub const INVALID_TOKEN: ErrorCode = ErrorCode(2);
    /// No `Hello` arrived before the handshake deadline.
    pub const HANDSHAKE_TIMEOUT: ErrorCode = ErrorCode(3);
    /// The same account connected again; this (older) connection is replaced.
    pub const SESSION_REPLACED: ErrorCode = ErrorCode(4);
    /// The server is full or shutting down.
    pub const SERVER_UNAVAILABLE: ErrorCode = ErrorCode(5);
    /// A frame or message could not be decoded; the connection is closed.
    pub const MALFORMED_MESSAGE: ErrorCode = ErrorCode(10);
    /// A frame's length prefix exceeds [`crate::MAX_FRAME_LEN`].
    pub const FRAME_TOO_LARGE: ErrorCode = ErrorCode(11);
    /// A message that is not valid at this point (e.g. `Move` before `Hello`).
    pub const UNEXPECTED_MESSAGE: ErrorCode = ErrorCode(12);
    /// The client sent more commands than its per-tick budget, repeatedly.
    pub const RATE_LIMITED: ErrorCode = ErrorCode(13);
    /// A text field exceeds its limit (see [`crate::messages::MAX_TEXT_LEN`]).
    pub const TEXT_TOO_LONG: ErrorCode = ErrorCode(14);
    /// The client cannot drain its reliable stream fast enough.
    pub const TOO_SLOW: ErrorCode = ErrorCode(15);
    /// The server is shutting down cleanly.
    pub const SHUTTING_DOWN: ErrorCode = ErrorCode(16);
    /// A field holds a value outside its domain: a NaN or infinite
    /// coordinate, a negative or non-finite speed.
    pub const INVALID_VALUE: ErrorCode = ErrorCode(17);
    /// `ChangeMap` named a map the server has not loaded.
    pub const UNKNOWN_MAP: ErrorCode = ErrorCode(18);
    /// An unexpected server-side failure; the message says no more than needed.
    pub const INTERNAL: ErrorCode = ErrorCode(100);
}
