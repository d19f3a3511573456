//! The one place where messages become bytes and bytes become messages.
//!
//! The encoding is bincode 2's *standard* configuration (little-endian,
//! variable-length integers) through serde, with a decode limit of
//! [`MAX_MESSAGE_LEN`] bytes so that a hostile length field inside a message
//! (a string or sequence claiming 2^60 elements) fails before any allocation:
//! bincode checks string lengths against the limit, and `bounded_seq` does
//! the same for the messages' lists, which bincode leaves to serde.
//! Trailing bytes after a message are an error: a frame holds exactly one.
//!
//! Besides whole messages, the module builds `StateUpdate`s from records
//! encoded once per tick ([`encode_state_update`], [`split_state_update`]),
//! byte-identical to encoding the message. Framing is in [`crate::frame`];
//! checking field limits of decoded messages is in [`crate::validate`].
//!
//! bincode is unmaintained upstream since December 2025 (RUSTSEC-2025-0141).
//! It is pinned at `=2.0.1` and every encode/decode call of the workspace goes
//! through this module, so that it can be swapped for a bincode-compatible
//! crate (or a hand-written codec of the same format) without changing the
//! wire format; the golden vectors in `tests/golden/` would catch a mismatch.

pub(crate) mod bounded_seq;
mod state_update;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use crate::frame::MAX_FRAME_LEN;

pub use state_update::{
    DATAGRAM_BUDGET, EncodedEntityState, MAX_ENTITY_STATE_LEN, encode_entity_state,
    encode_state_update, split_state_update, state_update_len,
};

/// Largest encoded message, in bytes. Equal to the frame limit: a message is
/// never larger than the frame that carries it.
pub const MAX_MESSAGE_LEN: usize = MAX_FRAME_LEN;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_MESSAGE_LEN>,
>;

const CONFIG: Config = bincode::config::standard().with_limit::<MAX_MESSAGE_LEN>();

/// Why bytes could not become a message, or a message could not become bytes.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not a valid encoding of the expected message type
    /// (unknown enum tag, invalid UTF-8, truncated, or a length over the limit).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A whole message decoded but bytes were left over.
    #[error("{0} trailing bytes after message")]
    TrailingBytes(usize),
    /// The message encodes to more than [`MAX_MESSAGE_LEN`] bytes.
    #[error("message of {0} bytes exceeds the limit of {MAX_MESSAGE_LEN}")]
    TooLarge(usize),
}

/// Encodes a message into a fresh vector.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = bincode::serde::encode_to_vec(message, CONFIG)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Encodes a message into shareable [`Bytes`], for fan-out to many recipients.
pub fn encode_to_bytes<T: Serialize>(message: &T) -> Result<Bytes, CodecError> {
    encode(message).map(Bytes::from)
}

/// Decodes exactly one message from `bytes`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (message, used) = bincode::serde::decode_from_slice(bytes, CONFIG)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(message)
}

/// Largest value [`encode_record`] writes and [`decode_record`] reads:
/// records on disk (the server's recordings) hold whole world checkpoints,
/// far larger than any message, so they get their own limit.
pub const MAX_RECORD_LEN: usize = 256 * 1024 * 1024;

type RecordConfig = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_RECORD_LEN>,
>;

const RECORD_CONFIG: RecordConfig = bincode::config::standard().with_limit::<MAX_RECORD_LEN>();

/// Encodes a record (not a message: see [`MAX_RECORD_LEN`]) in the wire
/// format's encoding, appending it to `out`.
pub fn encode_record<T: Serialize>(record: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = out.len();
    bincode::serde::encode_into_std_write(record, out, RECORD_CONFIG)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if out.len() - start > MAX_RECORD_LEN {
        return Err(CodecError::TooLarge(out.len() - start));
    }
    Ok(())
}

/// Decodes exactly one record from `bytes` (see [`encode_record`]).
/// Hostile lengths fail without allocating beyond what serde's cautious
/// pre-allocation allows; trailing bytes are an error.
pub fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (record, used) = bincode::serde::decode_from_slice(bytes, RECORD_CONFIG)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(record)
}

#[cfg(test)]
mod tests;
