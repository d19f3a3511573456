//! Length-prefixed framing for QUIC streams: a 4-byte little-endian length,
//! then that many bytes of one encoded message.
//!
//! The length is checked against [`MAX_FRAME_LEN`] as soon as its four bytes
//! are in, before any buffer is sized for the payload, so a peer claiming a
//! 4 GiB frame costs nothing. [`FrameDecoder`] tells "need more bytes" (the
//! `Ok(None)` case) apart from "malformed" ([`FrameError`]).

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Largest payload a frame may carry: 64 KiB.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Size of the length prefix.
pub const LEN_PREFIX: usize = 4;

/// A frame that can never become valid, however many bytes follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_LEN}")]
    TooLarge(u64),
    /// A zero-length frame; no message encodes to zero bytes.
    #[error("empty frame")]
    Empty,
}

/// Appends `payload` as one frame to `out`.
///
/// # Panics
/// If `payload` is longer than [`MAX_FRAME_LEN`]; the codec never produces
/// such a payload, so this is a programming error, not bad input.
pub fn write_frame(out: &mut BytesMut, payload: &[u8]) {
    assert!(
        payload.len() <= MAX_FRAME_LEN,
        "payload exceeds MAX_FRAME_LEN"
    );
    out.reserve(LEN_PREFIX + payload.len());
    out.put_u32_le(payload.len() as u32);
    out.put_slice(payload);
}

/// Returns `payload` as one frame in a fresh buffer.
pub fn frame(payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(LEN_PREFIX + payload.len());
    write_frame(&mut out, payload);
    out.freeze()
}

/// Incremental frame reader: feed it whatever the stream delivers, take out
/// whole frames.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the stream. The buffer never holds more
    /// than one maximal frame plus what was passed in one call, because
    /// [`FrameDecoder::next_frame`] rejects an oversized prefix immediately.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame's payload, `Ok(None)` if more bytes are needed,
    /// or an error if the stream can never yield a valid frame again.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.buf.len() < LEN_PREFIX {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.buf[..LEN_PREFIX].try_into().expect("4 bytes"));
        let len = len as usize;
        if len > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge(len as u64));
        }
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if self.buf.len() < LEN_PREFIX + len {
            return Ok(None);
        }
        self.buf.advance(LEN_PREFIX);
        Ok(Some(self.buf.split_to(len).freeze()))
    }
}

#[cfg(test)]
mod tests;
