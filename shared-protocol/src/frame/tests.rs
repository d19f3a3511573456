//! Framing: limits, need-more versus malformed, and chunking independence.

use proptest::prelude::*;

use super::*;
use crate::codec::{decode, encode};
use crate::messages::ServerMessage;
use crate::strategies::server_message;

fn decode_all(decoder: &mut FrameDecoder) -> Result<Vec<Bytes>, FrameError> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame()? {
        frames.push(frame);
    }
    Ok(frames)
}

/// A prefix claiming 4 GiB is refused as soon as its four bytes are in,
/// and nothing beyond those four bytes is buffered for it.
#[test]
fn four_gib_frame_is_refused_from_the_prefix() {
    let mut decoder = FrameDecoder::new();
    decoder.extend(&[0xFF, 0xFF, 0xFF]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.extend(&[0xFF]);
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::TooLarge(u64::from(u32::MAX)))
    );
    assert_eq!(decoder.buffered(), 4);
    // The stream stays broken: a later call does not skip the bad prefix.
    decoder.extend(b"more");
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::TooLarge(u64::from(u32::MAX)))
    );
}

/// The limit is inclusive: exactly MAX_FRAME_LEN passes, one more fails.
#[test]
fn frame_limit_is_inclusive() {
    let mut decoder = FrameDecoder::new();
    decoder.extend(&frame(&vec![7; MAX_FRAME_LEN]));
    assert_eq!(decoder.next_frame().unwrap().unwrap().len(), MAX_FRAME_LEN);
    decoder.extend(&(MAX_FRAME_LEN as u32 + 1).to_le_bytes());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::TooLarge(MAX_FRAME_LEN as u64 + 1))
    );
}

/// A zero-length frame is malformed: no message encodes to zero bytes.
#[test]
fn empty_frame_is_malformed() {
    let mut decoder = FrameDecoder::new();
    decoder.extend(&[0, 0, 0, 0, 1]);
    assert_eq!(decoder.next_frame(), Err(FrameError::Empty));
}

/// A partial prefix or partial payload asks for more bytes, and the frame
/// comes out once the rest arrives.
#[test]
fn partial_frames_need_more_bytes() {
    let framed = frame(b"hello");
    let mut decoder = FrameDecoder::new();
    decoder.extend(&framed[..2]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.extend(&framed[2..6]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.extend(&framed[6..]);
    assert_eq!(decoder.next_frame(), Ok(Some(Bytes::from_static(b"hello"))));
    assert_eq!(decoder.next_frame(), Ok(None));
    assert_eq!(decoder.buffered(), 0);
}

/// `write_frame` appends; `frame` is the same bytes in a fresh buffer.
#[test]
fn write_frame_appends_length_then_payload() {
    let mut out = BytesMut::from(&b"x"[..]);
    write_frame(&mut out, &[1, 2, 3]);
    assert_eq!(&out[..], &[b'x', 3, 0, 0, 0, 1, 2, 3]);
    assert_eq!(&frame(&[1, 2, 3])[..], &out[1..]);
}

proptest! {
    /// However the stream is cut into reads (down to one byte each), the
    /// decoder yields the same frames, and each decodes to its message.
    #[test]
    fn chunking_does_not_change_frames(
        messages in prop::collection::vec(server_message(), 1..6),
        cuts in prop::collection::vec(1usize..40, 1..50),
    ) {
        let payloads: Vec<Vec<u8>> = messages.iter().map(|m| encode(m).unwrap()).collect();
        let mut stream = BytesMut::new();
        for payload in &payloads {
            write_frame(&mut stream, payload);
        }

        let mut whole = FrameDecoder::new();
        whole.extend(&stream);
        let expected = decode_all(&mut whole).unwrap();
        prop_assert_eq!(expected.len(), payloads.len());

        let mut bytewise = FrameDecoder::new();
        let mut by_byte = Vec::new();
        for byte in stream.iter() {
            bytewise.extend(&[*byte]);
            by_byte.extend(decode_all(&mut bytewise).unwrap());
        }
        prop_assert_eq!(&by_byte, &expected);

        let mut chunked = FrameDecoder::new();
        let mut by_chunk = Vec::new();
        let mut rest = &stream[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*cut).min(rest.len()));
            chunked.extend(now);
            by_chunk.extend(decode_all(&mut chunked).unwrap());
            rest = later;
        }
        prop_assert_eq!(&by_chunk, &expected);

        for (frame, payload) in expected.iter().zip(&payloads) {
            prop_assert_eq!(&frame[..], &payload[..]);
            prop_assert!(decode::<ServerMessage>(frame).is_ok());
        }
    }

    /// Arbitrary bytes give frames, "need more" or an error, never a panic,
    /// and a frame never exceeds the limit.
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
    ) {
        let mut decoder = FrameDecoder::new();
        for chunk in &chunks {
            decoder.extend(chunk);
            match decode_all(&mut decoder) {
                Ok(frames) => {
                    for frame in frames {
                        prop_assert!(!frame.is_empty() && frame.len() <= MAX_FRAME_LEN);
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// A frame of length 1..=80 with arbitrary payload bytes: plausible
/// prefixes, so the decoder gets past the length check and the payload
/// reaches the message decoder.
fn plausible_frame() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..80).prop_map(|payload| frame(&payload).to_vec())
}

proptest! {
    /// Garbage inside well-formed frames, cut into arbitrary reads, goes
    /// through framing and decoding without a panic; every frame comes out
    /// whole, in order.
    #[test]
    fn garbage_payloads_in_valid_frames_never_panic(
        frames in prop::collection::vec(plausible_frame(), 1..10),
        read in 1usize..50,
    ) {
        let stream: Vec<u8> = frames.concat();
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        for chunk in stream.chunks(read) {
            decoder.extend(chunk);
            for frame in decode_all(&mut decoder).unwrap() {
                let _ = decode::<crate::messages::ClientMessage>(&frame);
                let _ = decode::<ServerMessage>(&frame);
                out.push(frame);
            }
        }
        prop_assert_eq!(out.len(), frames.len());
        for (got, sent) in out.iter().zip(&frames) {
            prop_assert_eq!(&got[..], &sent[4..]);
        }
    }
}
