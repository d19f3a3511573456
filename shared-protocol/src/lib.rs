//! The battlegrid wire protocol: every message a game client and the server
//! exchange, how they are encoded, and how they are framed on QUIC streams.
//!
//! This crate is the bottom of the dependency graph: it knows nothing of the
//! simulation, the ECS or the network stack (the optional `client` feature,
//! the Rust client SDK, is the one exception). docs/PROTOCOL.md is the normative
//! description for client authors; golden vectors in `tests/golden/` pin the
//! bytes so the format cannot drift silently.

#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod client;
pub mod codec;
pub mod error_code;
pub mod frame;
pub mod ids;
pub mod messages;
#[cfg(test)]
mod strategies;
pub mod validate;

pub use codec::{
    CodecError, DATAGRAM_BUDGET, EncodedEntityState, decode, encode, encode_entity_state,
    encode_state_update, encode_to_bytes, split_state_update,
};
pub use frame::{FrameDecoder, FrameError, MAX_FRAME_LEN};
pub use ids::{ErrorCode, PlayerId, Position, RegionId, Vec2};
pub use messages::{ClientMessage, EntityInfo, EntityState, MapInfo, MoveIntent, ServerMessage};
pub use validate::ValidationError;

/// ALPN protocol identifier the game listener and clients negotiate.
pub const ALPN: &[u8] = b"battlegrid/1";

/// Protocol version sent in [`ClientMessage::Hello`]. Bumped on any
/// incompatible change of the wire format; appending enum variants is
/// compatible and does not bump it.
pub const PROTOCOL_VERSION: u16 = 1;
