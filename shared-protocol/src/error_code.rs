//! The error codes a server sends in `Reject`, `Error` and QUIC application
//! closes, and what each does to the connection.
//!
//! This list is the one definition: the constants, [`ErrorCode::KNOWN`],
//! [`ErrorCode::name`] and [`ErrorCode::effect`] are generated from it, and
//! the golden test checks docs/PROTOCOL.md's error table against it row by
//! row, so the doc cannot promise a different name or connection rule.

use serde::{Deserialize, Serialize};

/// A numeric error or rejection code. Codes are stable: a client may match on
/// them; the accompanying text is for humans and may change. Unknown codes
/// decode fine so that newer servers can add codes without breaking clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorCode(pub u16);

/// What a code does to the connection it is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Refuses the handshake: sent as `Reject`, then the connection closes.
    Rejects,
    /// Ends the connection: sent as `Error` (when a frame can still be
    /// sent), then the QUIC connection closes with this code.
    Closes,
    /// A warning or a refused message: sent as `Error`; the connection stays
    /// open.
    KeepsOpen,
}

impl Effect {
    /// Whether the connection ends after a message with this effect.
    pub const fn closes_connection(self) -> bool {
        !matches!(self, Effect::KeepsOpen)
    }
}

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $name:ident = $value:literal, $effect:ident; )*) => {
        impl ErrorCode {
            $( $(#[doc = $doc])* pub const $name: ErrorCode = ErrorCode($value); )*

            /// Every code this version defines, in ascending order.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code's name as docs/PROTOCOL.md spells it, or `None` for
            /// a code this version does not define.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// What the code does to the connection, or `None` for a code
            /// this version does not define (a client treats those as
            /// generic errors and waits for the close, if any).
            pub const fn effect(self) -> Option<Effect> {
                match self.0 {
                    $( $value => Some(Effect::$effect), )*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// The client's protocol version is not one this server speaks.
    UNSUPPORTED_VERSION = 1, Rejects;
    /// The session token is unknown, malformed, revoked or expired.
    INVALID_TOKEN = 2, Rejects;
    /// No `Hello` arrived before the handshake deadline.
    HANDSHAKE_TIMEOUT = 3, Closes;
    /// The same account connected again; this (older) connection is replaced.
    SESSION_REPLACED = 4, Closes;
    /// The server is shutting down and admits nobody new.
    SERVER_UNAVAILABLE = 5, Rejects;
    /// A frame or message could not be decoded (an unknown client message
    /// variant included); the connection is closed.
    MALFORMED_MESSAGE = 10, Closes;
    /// A frame's length prefix exceeds [`crate::MAX_FRAME_LEN`].
    FRAME_TOO_LARGE = 11, Closes;
    /// A message that is not valid at this point (e.g. `Move` before `Hello`).
    UNEXPECTED_MESSAGE = 12, Closes;
    /// The client kept sending more commands than its per-tick budget for
    /// too many ticks; the connection is closed.
    RATE_LIMITED = 13, Closes;
    /// A text field exceeds its limit (see [`crate::messages::MAX_TEXT_LEN`]).
    TEXT_TOO_LONG = 14, KeepsOpen;
    /// The client cannot drain its reliable stream fast enough.
    TOO_SLOW = 15, Closes;
    /// The server is shutting down cleanly.
    SHUTTING_DOWN = 16, Closes;
    /// A field holds a value outside its domain: a NaN or infinite
    /// coordinate, a negative or non-finite speed.
    INVALID_VALUE = 17, KeepsOpen;
    /// `ChangeMap` named a map the server has not loaded.
    UNKNOWN_MAP = 18, KeepsOpen;
    /// A warning: more commands arrived in one tick than the per-tick
    /// budget, and the excess was dropped. The connection stays open; a
    /// client that keeps flooding is closed with [`ErrorCode::RATE_LIMITED`].
    COMMANDS_DROPPED = 19, KeepsOpen;
    /// A notice: the world of the player's map failed and was rebuilt from
    /// the saves. The client clears its view (the server's is new); a
    /// `MapChanged` with the player's restored position follows.
    WORLD_RESTORED = 20, KeepsOpen;
    /// An operator removed the player from the game (a kick or a ban); the
    /// message says why.
    KICKED = 21, Closes;
    /// An unexpected server-side failure; the message says no more than needed.
    INTERNAL = 100, Closes;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `KNOWN` is ascending and free of duplicates, so a code added twice
    /// or out of place is caught here rather than by a confused client.
    #[test]
    fn known_codes_are_ascending_and_unique() {
        assert!(ErrorCode::KNOWN.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_and_effects_come_from_the_same_row() {
        assert_eq!(ErrorCode::RATE_LIMITED.name(), Some("RATE_LIMITED"));
        assert_eq!(ErrorCode::RATE_LIMITED.effect(), Some(Effect::Closes));
        assert_eq!(
            ErrorCode::COMMANDS_DROPPED.effect(),
            Some(Effect::KeepsOpen)
        );
        assert_eq!(ErrorCode::INVALID_TOKEN.effect(), Some(Effect::Rejects));
        assert!(Effect::Rejects.closes_connection());
        assert!(!Effect::KeepsOpen.closes_connection());
        assert_eq!(ErrorCode(999).name(), None);
        assert_eq!(ErrorCode(999).effect(), None);
    }
}
