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

use bytes::{Buf, Bytes, BytesMut};

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
/// No size limit is applied: a watcher with very many movers in view should
/// go through [`split_state_update`] so every datagram fits.
pub fn encode_state_update<'a>(
    tick: u64,
    moved: impl IntoIterator<Item = &'a EncodedEntityState>,
) -> Bytes {
    let moved = moved.into_iter();
    // The hint only sizes the first allocation; a message past the limit
    // would be refused by clients anyway, so reserving more is never useful.
    let hint = moved.size_hint().0.saturating_mul(MAX_ENTITY_STATE_LEN);
    let mut chunk = Chunk::new(hint.min(super::MAX_MESSAGE_LEN));
    for record in moved {
        chunk.push(record);
    }
    chunk.finish(tick)
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
pub fn split_state_update<'a>(
    tick: u64,
    moved: impl IntoIterator<Item = &'a EncodedEntityState>,
    budget: usize,
    mut emit: impl FnMut(Bytes),
) {
    let mut moved = moved.into_iter();
    let capacity = |hint: usize| hint.saturating_mul(MAX_ENTITY_STATE_LEN).min(budget);
    let Some(first) = moved.next() else {
        return;
    };
    let mut chunk = Chunk::new(capacity(moved.size_hint().0 + 1));
    chunk.push(first);
    while let Some(record) = moved.next() {
        let grown = state_update_len(tick, chunk.count + 1, chunk.body_len() + record.len());
        if grown > budget {
            let next = Chunk::new(capacity(moved.size_hint().0 + 1));
            emit(std::mem::replace(&mut chunk, next).finish(tick));
        }
        chunk.push(record);
    }
    emit(chunk.finish(tick));
}

/// A `StateUpdate` under construction. The records are written after
/// [`HEADER_MAX`] reserved bytes; the header, whose length depends on the
/// final count, is written right-aligned in front of them at the end, and the
/// unused head is skipped, so the records are copied exactly once.
struct Chunk {
    buf: BytesMut,
    count: usize,
}

impl Chunk {
    fn new(records_capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(HEADER_MAX + records_capacity);
        buf.resize(HEADER_MAX, 0);
        Self { buf, count: 0 }
    }

    fn body_len(&self) -> usize {
        self.buf.len() - HEADER_MAX
    }

    fn push(&mut self, record: &EncodedEntityState) {
        self.buf.extend_from_slice(record.as_bytes());
        self.count += 1;
    }

    fn finish(mut self, tick: u64) -> Bytes {
        let mut header = [0u8; HEADER_MAX];
        let len = write_header(tick, self.count, &mut header);
        let start = HEADER_MAX - len;
        self.buf[start..HEADER_MAX].copy_from_slice(&header[..len]);
        self.buf.advance(start);
        self.buf.freeze()
    }
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
