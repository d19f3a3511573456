//! Round trips, hostile input and the encoding rules PROTOCOL.md states.

use proptest::prelude::*;

use super::*;
use crate::ids::{PlayerId, Position, RegionId};
use crate::messages::{ClientMessage, EntityState, MAX_TEXT_LEN, ServerMessage};
use crate::strategies::{client_message, server_message};

/// Decodes `bytes` as `T` and encodes the result again; `Ok` only when the
/// round trip reproduces `bytes` exactly.
fn reencode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    let message: T = decode(bytes)?;
    encode(&message)
}

proptest! {
    /// Every client message decodes to itself. Compared by bytes and by
    /// structure, because NaN coordinates are not equal to themselves.
    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let bytes = encode(&message).unwrap();
        let decoded: ClientMessage = decode(&bytes).unwrap();
        prop_assert_eq!(format!("{decoded:?}"), format!("{message:?}"));
        prop_assert_eq!(reencode::<ClientMessage>(&bytes).unwrap(), bytes);
    }

    /// Every server message decodes to itself.
    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let bytes = encode(&message).unwrap();
        let decoded: ServerMessage = decode(&bytes).unwrap();
        prop_assert_eq!(format!("{decoded:?}"), format!("{message:?}"));
        prop_assert_eq!(&encode_to_bytes(&message).unwrap()[..], &bytes[..]);
        prop_assert_eq!(reencode::<ServerMessage>(&bytes).unwrap(), bytes);
    }

    /// Random bytes give an error or a message, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode::<ClientMessage>(&bytes);
        let _ = decode::<ServerMessage>(&bytes);
    }

    /// Valid encodings with bytes overwritten, cut short or extended (the
    /// inputs most likely to reach deep into the decoder) never panic.
    #[test]
    fn damaged_encodings_never_panic(
        client in client_message(),
        server in server_message(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        for mut bytes in [encode(&client).unwrap(), encode(&server).unwrap()] {
            for (at, value) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *value;
            }
            let _ = decode::<ClientMessage>(&bytes);
            let _ = decode::<ServerMessage>(&bytes);
            let short = &bytes[..cut.index(bytes.len())];
            let _ = decode::<ClientMessage>(short);
            let _ = decode::<ServerMessage>(short);
            bytes.extend_from_slice(&extra);
            let _ = decode::<ClientMessage>(&bytes);
            let _ = decode::<ServerMessage>(&bytes);
        }
    }

    /// Any byte after a complete message is refused, and counted.
    #[test]
    fn trailing_bytes_are_refused(
        message in client_message(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let mut bytes = encode(&message).unwrap();
        bytes.extend_from_slice(&extra);
        prop_assert!(matches!(
            decode::<ClientMessage>(&bytes),
            Err(CodecError::TrailingBytes(n)) if n == extra.len()
        ));
    }
}

/// 2^60 as a bincode varint: marker 253, then eight little-endian bytes.
const HUGE_LEN: [u8; 9] = [253, 0, 0, 0, 0, 0, 0, 0, 0x10];

/// A 12-byte `Shout` whose text claims 2^60 bytes fails on bincode's limit
/// check, which runs before the string's buffer is allocated.
#[test]
fn huge_string_length_is_refused_by_the_limit() {
    let mut bytes = vec![2];
    bytes.extend_from_slice(&HUGE_LEN);
    bytes.extend_from_slice(b"hi");
    assert_eq!(bytes.len(), 12);
    let err = decode::<ClientMessage>(&bytes).unwrap_err();
    assert!(
        matches!(&err, CodecError::Malformed(m) if m.contains("LimitExceeded")),
        "{err}"
    );
}

/// A 12-byte `EntitiesLeft` whose list claims 2^60 ids is refused by the
/// bounded sequence visitor before any `Vec` is reserved; so are the other
/// two list-carrying messages.
#[test]
fn huge_sequence_length_is_refused_before_allocating() {
    for (tag, prefix) in [(4u8, &[][..]), (5, &[]), (6, &[7u8][..])] {
        let mut bytes = vec![tag];
        bytes.extend_from_slice(prefix);
        bytes.extend_from_slice(&HUGE_LEN);
        bytes.resize(12, 1);
        let err = decode::<ServerMessage>(&bytes).unwrap_err();
        assert!(
            matches!(&err, CodecError::Malformed(m) if m.contains("invalid length")),
            "tag {tag}: {err}"
        );
    }
}

/// A list length that is plausible but not backed by bytes fails as
/// truncated, not as a crash or a hang.
#[test]
fn sequence_longer_than_its_bytes_is_malformed() {
    let bytes = [5, 250, 1, 2, 3];
    assert!(matches!(
        decode::<ServerMessage>(&bytes),
        Err(CodecError::Malformed(_))
    ));
}

/// Unknown variant indices and invalid UTF-8 are malformed, not panics.
#[test]
fn unknown_variants_and_bad_utf8_are_malformed() {
    assert!(matches!(
        decode::<ClientMessage>(&[5]),
        Err(CodecError::Malformed(_))
    ));
    assert!(matches!(
        decode::<ServerMessage>(&[11]),
        Err(CodecError::Malformed(_))
    ));
    assert!(matches!(
        decode::<ClientMessage>(&[2, 2, 0xC3, 0x28]),
        Err(CodecError::Malformed(_))
    ));
    assert!(matches!(
        decode::<ClientMessage>(&[]),
        Err(CodecError::Malformed(_))
    ));
}

/// A message that would not fit in a frame is refused at encode time.
#[test]
fn oversized_messages_are_refused() {
    // Tag byte, then a 5-byte varint length (252 + u32), then the text.
    let text = "x".repeat(MAX_MESSAGE_LEN);
    assert!(matches!(
        encode(&ClientMessage::Shout { text }),
        Err(CodecError::TooLarge(n)) if n == MAX_MESSAGE_LEN + 6
    ));
    // The largest legitimate text is far from the limit.
    let text = "x".repeat(MAX_TEXT_LEN);
    assert!(encode(&ClientMessage::Shout { text }).is_ok());
}

/// The scalar rules docs/PROTOCOL.md states, checked against bincode.
#[test]
fn wire_rules_of_scalars() {
    let enc = |v: &dyn erased::Enc| v.bytes();
    // Unsigned varints: one byte below 251, then a marker and fixed width.
    assert_eq!(enc(&250u64), [250]);
    assert_eq!(enc(&251u64), [251, 251, 0]);
    assert_eq!(enc(&0xFFFFu64), [251, 0xFF, 0xFF]);
    assert_eq!(enc(&0x1_0000u64), [252, 0, 0, 1, 0]);
    assert_eq!(enc(&0x1_0000_0000u64), [253, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(enc(&u128::MAX)[0], 254);
    assert_eq!(enc(&u128::MAX).len(), 17);
    // u16 and u32 follow the same scheme.
    assert_eq!(enc(&300u16), [251, 0x2C, 0x01]);
    assert_eq!(enc(&7u32), [7]);
    // Signed: zigzag, then as unsigned.
    assert_eq!(enc(&0i32), [0]);
    assert_eq!(enc(&-1i32), [1]);
    assert_eq!(enc(&1i32), [2]);
    assert_eq!(enc(&-126i64), [251, 251, 0]);
    // Single bytes are raw.
    assert_eq!(enc(&200u8), [200]);
    assert_eq!(enc(&true), [1]);
    assert_eq!(enc(&false), [0]);
    // Floats: IEEE-754 little-endian, fixed width.
    assert_eq!(enc(&1.5f32), [0x00, 0x00, 0xC0, 0x3F]);
    assert_eq!(enc(&-0.0f32), [0, 0, 0, 0x80]);
    // Strings and sequences: varint length, then content.
    assert_eq!(enc(&"hé".to_string()), [3, b'h', 0xC3, 0xA9]);
    assert_eq!(enc(&vec![1u64, 300]), [2, 1, 251, 0x2C, 0x01]);
    // Options: 0 for None, 1 then the value for Some.
    assert_eq!(enc(&None::<u32>), [0]);
    assert_eq!(enc(&Some(5u32)), [1, 5]);
}

/// Newtypes are their inner value, structs their fields in order, enums a
/// varint variant index then the variant's fields.
#[test]
fn wire_rules_of_compounds() {
    assert_eq!(encode(&PlayerId(300)).unwrap(), [251, 0x2C, 0x01]);
    assert_eq!(encode(&RegionId(3)).unwrap(), [3]);
    let state = EntityState {
        id: PlayerId(1),
        position: Position::new(1.5, -0.0),
    };
    assert_eq!(
        encode(&state).unwrap(),
        [1, 0, 0, 0xC0, 0x3F, 0, 0, 0, 0x80]
    );
    assert_eq!(
        encode(&ClientMessage::Ping { nonce: 251 }).unwrap(),
        [4, 251, 251, 0]
    );
    assert_eq!(
        encode(&ServerMessage::RegionChanged {
            region: RegionId(9)
        })
        .unwrap(),
        [3, 9]
    );
}

/// Type erasure so one closure can encode values of different types.
mod erased {
    pub trait Enc {
        fn bytes(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Enc for T {
        fn bytes(&self) -> Vec<u8> {
            super::encode(self).unwrap()
        }
    }
}

/// What the decoder accepts beyond the canonical form, as PROTOCOL.md says:
/// a longer varint whose width fits the field's type decodes; a marker wider
/// than the type, the reserved marker 255, a bool other than 0/1 and an
/// option tag other than 0/1 are errors.
#[test]
fn wire_rules_of_decoding() {
    assert_eq!(decode::<u16>(&[251, 5, 0]).unwrap(), 5);
    assert!(decode::<u16>(&[252, 5, 0, 0, 0]).is_err());
    assert!(decode::<u32>(&[253, 5, 0, 0, 0, 0, 0, 0, 0]).is_err());
    assert!(decode::<u64>(&[255, 5]).is_err());
    assert!(decode::<bool>(&[2]).is_err());
    assert!(decode::<Option<u8>>(&[2]).is_err());
    assert_eq!(
        decode::<ClientMessage>(&[251, 4, 0, 7]).unwrap(),
        ClientMessage::Ping { nonce: 7 }
    );
}
