//! Encode-once building of [`ServerMessage::StateUpdate`] messages.
//!
//! Every tick, each player that moved is watched by many others, and each
//! watcher gets its own `StateUpdate` listing the movers it can see. Encoding
//! a fresh `ServerMessage` per watcher would serialise the same mover again
//! and again; instead the server encodes each mover once
//! ([`encode_entity_state`]) and splices the records into every watcher's
//! update ([`encode_state_update`], [`split_state_update`]). The output is
//! byte-identical to [`super::encode`] of the equivalent message: bincode
//! writes a `StateUpdate` as its variant index, the tick, the number of
//! records, then the records back to back, all without padding or lengths.
//!
//! What this module leaves out: which movers a watcher sees (the
//! simulation's interest management) and sending the datagrams (the server).

use bytes::Bytes;

use super::CONFIG;
use crate::messages::{EntityState, ServerMessage};

/// Largest encoded `StateUpdate` the server puts in one QUIC datagram, in
/// bytes. A `StateUpdate` with more movers than fit is split into several,
/// each a complete message for the same tick (see [`split_state_update`]).
/// 1024 leaves room for QUIC and UDP/IP overhead under the 1200-byte
/// datagram size every QUIC path supports.
pub const DATAGRAM_BUDGET: usize = 1024;

/// Largest encoding of one [`EntityState`]: a 9-byte varint id (ids of
/// 2^32 and above) and two 4-byte floats. Ids below 251 take 9 bytes in all.
pub const MAX_ENTITY_STATE_LEN: usize = 9 + 4 + 4;

/// Variant index of `StateUpdate` in [`ServerMessage`]: one varint byte.
const STATE_UPDATE_TAG_LEN: usize = 1;

/// Room for the variant index, the tick and the record count, each at most a
/// 9-byte varint except the one-byte index.
const HEADER_MAX: usize = STATE_UPDATE_TAG_LEN + 9 + 9;

/// The wire bytes of one [`EntityState`], encoded once per tick and copied
/// into every watcher's update. Plain data: 18 bytes, `Copy`, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodedEntityState {
    len: u8,
    bytes: [u8; MAX_ENTITY_STATE_LEN],
}

impl EncodedEntityState {
    /// The encoded record, exactly as it appears inside a `StateUpdate`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }

    fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl AsRef<[u8]> for EncodedEntityState {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for EncodedEntityState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncodedEntityState(")?;
        for byte in self.as_bytes() {
            write!(f, "{byte:02x}")?;
        }
        write!(f, ")")
    }
}

/// Encodes one mover's record for splicing into `StateUpdate`s.
pub fn encode_entity_state(state: &EntityState) -> EncodedEntityState {
    let mut bytes = [0u8; MAX_ENTITY_STATE_LEN];
    let len = bincode::serde::encode_into_slice(state, &mut bytes, CONFIG)
        .expect("an EntityState always fits in MAX_ENTITY_STATE_LEN bytes");
    EncodedEntityState {
        len: len as u8,
        bytes,
    }
}

/// The encoded size of a `StateUpdate` for `tick` holding `count` records
/// whose encodings add up to `records_len` bytes. Lets a caller plan chunks
/// without building them.
pub fn state_update_len(tick: u64, count: usize, records_len: usize) -> usize {
    STATE_UPDATE_TAG_LEN + varint_len(tick) + varint_len(count as u64) + records_len
}

/// Builds `ServerMessage::StateUpdate { tick, moved }` from pre-encoded
/// records, byte-identical to [`super::encode`] of that message.
///
/// The iterator is walked twice (a clone of it first measures the records),
/// so the message is written into one exactly sized allocation: pass a
/// slice's `iter()` or a `&Vec`. No size limit is applied: a watcher with
/// very many movers in view should go through [`split_state_update`] so
/// every datagram fits.
pub fn encode_state_update<'a, I>(tick: u64, moved: I) -> Bytes
where
    I: IntoIterator<Item = &'a EncodedEntityState>,
    I::IntoIter: Clone,
{
    let mut moved = moved.into_iter();
    let (count, body_len) = moved.clone().fold((0, 0), |(count, len), record| {
        (count + 1, len + record.len())
    });
    write_update(tick, count, body_len, &mut moved)
}

/// Builds one or more `StateUpdate`s for `tick` that together list every
/// record of `moved` in order, and hands each to `emit` as it is completed.
///
/// Records are packed greedily: a chunk is closed when the next record would
/// make it longer than `budget` bytes (use [`DATAGRAM_BUDGET`]). Each chunk
/// is a complete message a client decodes on its own, so losing one datagram
/// loses only its records. Nothing is emitted when `moved` is empty. A chunk
/// exceeds `budget` only if `budget` is too small for even one record
/// (a one-record update takes at most 28 bytes); then each record goes alone.
/// Like [`encode_state_update`], it walks a clone of the iterator to size
/// each chunk exactly.
pub fn split_state_update<'a, I>(tick: u64, moved: I, budget: usize, mut emit: impl FnMut(Bytes))
where
    I: IntoIterator<Item = &'a EncodedEntityState>,
    I::IntoIter: Clone,
{
    let sizing = moved.into_iter();
    let mut writing = sizing.clone();
    let (mut count, mut body_len) = (0, 0);
    for record in sizing {
        let len = record.len();
        if count > 0 && state_update_len(tick, count + 1, body_len + len) > budget {
            emit(write_update(tick, count, body_len, &mut writing));
            (count, body_len) = (0, 0);
        }
        count += 1;
        body_len += len;
    }
    if count > 0 {
        emit(write_update(tick, count, body_len, &mut writing));
    }
}

/// Writes the header and the next `count` records of `records`, which take
/// `body_len` bytes, into a buffer of exactly the message's size: a `Bytes`
/// made from a full `Vec` needs no second allocation for its shared header.
fn write_update<'a>(
    tick: u64,
    count: usize,
    body_len: usize,
    records: &mut impl Iterator<Item = &'a EncodedEntityState>,
) -> Bytes {
    let mut header = [0u8; HEADER_MAX];
    let header_len = write_header(tick, count, &mut header);
    // The size came from the caller's iterator; never trust it past the
    // message limit when reserving.
    let mut out = Vec::with_capacity((header_len + body_len).min(super::MAX_MESSAGE_LEN));
    out.extend_from_slice(&header[..header_len]);
    for record in records.take(count) {
        out.extend_from_slice(record.as_bytes());
    }
    Bytes::from(out)
}

/// Writes the variant index, `tick` and `count` the way bincode starts a
/// `StateUpdate`, returning the number of bytes written. bincode itself
/// writes them (an empty update, then the count over its zero count byte), so
/// this stays right if the configuration changes.
fn write_header(tick: u64, count: usize, out: &mut [u8; HEADER_MAX]) -> usize {
    let empty = ServerMessage::StateUpdate {
        tick,
        moved: Vec::new(),
    };
    let len = bincode::serde::encode_into_slice(&empty, out, CONFIG)
        .expect("an empty StateUpdate fits in HEADER_MAX bytes");
    let count_at = len - 1;
    let count_len = bincode::serde::encode_into_slice(count as u64, &mut out[count_at..], CONFIG)
        .expect("a count varint fits in the header's last 9 bytes");
    count_at + count_len
}

/// Bytes bincode's standard varint encoding takes for `value`.
fn varint_len(value: u64) -> usize {
    match value {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

#[cfg(test)]
mod tests;
