//! The spliced `StateUpdate` path must be indistinguishable on the wire from
//! encoding the message through serde.

use proptest::prelude::*;

use super::*;
use crate::codec::{decode, encode};
use crate::ids::{PlayerId, Position};

fn entity_state() -> impl Strategy<Value = EntityState> {
    // Raw bit patterns cover NaN, infinities and subnormals: the splice must
    // copy whatever bincode wrote.
    (any::<u64>(), any::<u32>(), any::<u32>()).prop_map(|(id, x, y)| EntityState {
        id: PlayerId(id),
        position: Position::new(f32::from_bits(x), f32::from_bits(y)),
    })
}

/// Small ids and ticks as well as huge ones, so every varint width shows up.
fn varint_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..300u64,
        0..70_000u64,
        any::<u32>().prop_map(u64::from),
        any::<u64>()
    ]
}

fn small_id_state() -> impl Strategy<Value = EntityState> {
    (varint_u64(), -5000.0f32..5000.0, -5000.0f32..5000.0).prop_map(|(id, x, y)| EntityState {
        id: PlayerId(id),
        position: Position::new(x, y),
    })
}

fn serde_update(tick: u64, moved: &[EntityState]) -> Vec<u8> {
    encode(&ServerMessage::StateUpdate {
        tick,
        moved: moved.to_vec(),
    })
    .expect("encodes")
}

proptest! {
    /// A single record is exactly the serde encoding of the `EntityState`.
    #[test]
    fn record_matches_serde(state in entity_state()) {
        let record = encode_entity_state(&state);
        prop_assert_eq!(record.as_bytes(), &encode(&state).unwrap()[..]);
        prop_assert!(record.as_bytes().len() <= MAX_ENTITY_STATE_LEN);
    }

    /// The spliced update is byte-identical to `encode(&StateUpdate{..})`,
    /// and `state_update_len` predicts its size.
    #[test]
    fn spliced_update_is_byte_identical(
        tick in varint_u64(),
        moved in prop::collection::vec(prop_oneof![entity_state(), small_id_state()], 0..300),
    ) {
        let records: Vec<_> = moved.iter().map(encode_entity_state).collect();
        let spliced = encode_state_update(tick, &records);
        let expected = serde_update(tick, &moved);
        prop_assert_eq!(&spliced[..], &expected[..]);
        let records_len = records.iter().map(|r| r.as_bytes().len()).sum();
        prop_assert_eq!(state_update_len(tick, records.len(), records_len), expected.len());
    }

    /// Split chunks stay within the budget, each decodes on its own as an
    /// update of the same tick, together they list every record in order,
    /// and no chunk could have taken the next chunk's first record.
    #[test]
    fn split_respects_budget_and_keeps_order(
        tick in varint_u64(),
        moved in prop::collection::vec(small_id_state(), 0..400),
        budget in 28usize..2048,
    ) {
        let records: Vec<_> = moved.iter().map(encode_entity_state).collect();
        let mut chunks = Vec::new();
        split_state_update(tick, &records, budget, |bytes| chunks.push(bytes));
        prop_assert_eq!(chunks.is_empty(), moved.is_empty());
        let mut seen = Vec::new();
        let mut counts = Vec::new();
        for chunk in &chunks {
            prop_assert!(chunk.len() <= budget, "chunk of {} > budget {}", chunk.len(), budget);
            match decode::<ServerMessage>(chunk).expect("chunk decodes") {
                ServerMessage::StateUpdate { tick: t, moved: part } => {
                    prop_assert_eq!(t, tick);
                    prop_assert!(!part.is_empty());
                    prop_assert_eq!(&chunk[..], &serde_update(tick, &part)[..]);
                    counts.push(part.len());
                    seen.extend(part);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(&seen, &moved);
        // Greedy: chunk i plus the first record of chunk i+1 would overflow.
        let mut start = 0;
        for pair in counts.windows(2) {
            let end = start + pair[0];
            let body: usize = records[start..=end].iter().map(|r| r.as_bytes().len()).sum();
            prop_assert!(state_update_len(tick, pair[0] + 1, body) > budget);
            start = end;
        }
    }
}

/// The tag byte assumption behind `STATE_UPDATE_TAG_LEN`: `StateUpdate` is
/// variant 6, so its index is one varint byte.
#[test]
fn state_update_tag_is_one_byte() {
    let bytes = serde_update(0, &[]);
    assert_eq!(bytes, [6, 0, 0]);
}

/// `varint_len` agrees with bincode at every width boundary.
#[test]
fn varint_len_matches_bincode() {
    for value in [
        0,
        250,
        251,
        0xFFFF,
        0x1_0000,
        0xFFFF_FFFF,
        0x1_0000_0000,
        u64::MAX,
    ] {
        assert_eq!(varint_len(value), encode(&value).unwrap().len(), "{value}");
    }
}

/// A budget too small for one record still emits every record, one each.
#[test]
fn tiny_budget_sends_records_alone() {
    let records: Vec<_> = (0..3)
        .map(|i| {
            encode_entity_state(&EntityState {
                id: PlayerId(i),
                position: Position::new(1.0, 2.0),
            })
        })
        .collect();
    let mut chunks = Vec::new();
    split_state_update(9, &records, 1, |bytes| chunks.push(bytes));
    assert_eq!(chunks.len(), 3);
}

/// At the real budget, 1,000 movers with small ids (9-byte records) pack
/// 112 to a datagram.
#[test]
fn datagram_budget_packs_full_chunks() {
    let records: Vec<_> = (0..1000u64)
        .map(|i| {
            encode_entity_state(&EntityState {
                id: PlayerId(i % 200),
                position: Position::new(i as f32, 0.0),
            })
        })
        .collect();
    let mut chunks = Vec::new();
    split_state_update(12345, &records, DATAGRAM_BUDGET, |bytes| chunks.push(bytes));
    // 1 tag + 3 tick + 1 count = 5 header bytes; (1024 - 5) / 9 = 113.
    assert_eq!(chunks[0].len(), 5 + 113 * 9);
    assert_eq!(chunks.len(), 1000usize.div_ceil(113));
}
