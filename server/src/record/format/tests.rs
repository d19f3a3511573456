//! The reader against whole, truncated, damaged and arbitrary files: every
//! damaged file is refused with an error (never a panic, never a block
//! read as something it is not), like the frame decoder's tests.

use super::*;
use battlegrid_protocol::{MoveIntent, PlayerId, Position, Vec2};
use battlegrid_sim::{MapSpec, SimSettings, Simulation};
use proptest::prelude::*;

fn header() -> Header {
    Header {
        protocol_version: battlegrid_protocol::PROTOCOL_VERSION,
        sim_version: battlegrid_sim::SIM_VERSION,
        build: "test".into(),
        map: "open".into(),
        created_unix_ms: 1,
        kind: FileKind::Recording,
        tick_rate_hz: 20,
    }
}

/// A small but complete file: header, a checkpoint of a world with two
/// players, three ticks (one with a map swap, one panicked), the end.
fn sample() -> (Vec<u8>, Vec<Block>) {
    let mut sim = Simulation::new(
        MapSpec::open(256, 256, 2, 2).unwrap(),
        SimSettings::default(),
        3,
    );
    for id in 1..=2 {
        sim.push(Input::Join {
            id: PlayerId(id),
            name: format!("p{id}"),
            position: Some(Position::new(10.0 * id as f32, 20.0)),
        });
    }
    sim.step();
    let moving = Input::Move {
        id: PlayerId(1),
        intent: MoveIntent {
            seq: 1,
            direction: Vec2 { x: 1.0, y: 0.0 },
            speed: 40.0,
            predicted: Position::new(10.0, 20.0),
        },
    };
    let blocks = vec![
        Block::Header(header()),
        Block::Checkpoint(CheckpointKind::Fresh, Box::new(sim.checkpoint())),
        Block::Tick(TickRecord {
            tick: 2,
            events: vec![],
            inputs: vec![moving],
            outcome: Outcome::Ran {
                hash: 42,
                envelopes: 3,
            },
        }),
        Block::Tick(TickRecord {
            tick: 3,
            events: vec![TickEvent::MapReplaced(MapData::of(
                &MapSpec::open(512, 512, 2, 2).unwrap(),
            ))],
            inputs: vec![],
            outcome: Outcome::Ran {
                hash: 7,
                envelopes: 0,
            },
        }),
        Block::Tick(TickRecord {
            tick: 4,
            events: vec![TickEvent::InjectedFault("boom".into())],
            inputs: vec![Input::Leave { id: PlayerId(2) }],
            outcome: Outcome::Panicked("boom".into()),
        }),
        Block::End { ticks: 3 },
    ];
    let mut bytes = Vec::new();
    write_preamble(&mut bytes).unwrap();
    for block in &blocks {
        encode_block(block, &mut bytes).unwrap();
    }
    (bytes, blocks)
}

/// Every block after the header, or the first error.
fn read_all(bytes: &[u8]) -> Result<(Header, Vec<Block>), FormatError> {
    let mut reader = Reader::new(bytes)?;
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_block()? {
        blocks.push(block);
    }
    Ok((reader.header().clone(), blocks))
}

/// What is written is read back, block for block.
#[test]
fn blocks_round_trip() {
    let (bytes, blocks) = sample();
    let (header, read) = read_all(&bytes).unwrap();
    assert_eq!(Block::Header(header), blocks[0]);
    assert_eq!(read, blocks[1..]);
}

/// Files that are not recordings, or of another format version, are told
/// apart from damaged ones.
#[test]
fn foreign_files_are_named() {
    assert!(matches!(
        read_all(b"hello world, not a recording"),
        Err(FormatError::NotARecording)
    ));
    assert!(matches!(read_all(b""), Err(FormatError::NotARecording)));
    let (mut bytes, _) = sample();
    bytes[8] = 9;
    let err = read_all(&bytes).unwrap_err();
    assert!(
        matches!(err, FormatError::FormatVersion { found: 9 }),
        "{err}"
    );
    assert!(err.to_string().contains("reads version 1"), "{err}");
}

/// A file cut before its end block says where it was cut.
#[test]
fn missing_end_block_is_a_truncation() {
    let (bytes, _) = sample();
    let (mut cut, _) = sample();
    cut.truncate(bytes.len() - (BLOCK_HEAD_LEN + 1));
    let err = read_all(&cut).unwrap_err();
    assert!(matches!(err, FormatError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("without its end block"), "{err}");
}

/// A huge length in a damaged frame is refused before any allocation.
#[test]
fn oversized_length_is_refused() {
    let (mut bytes, _) = sample();
    let first_block = MAGIC.len() + 2;
    bytes[first_block + 1..first_block + 5].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read_all(&bytes), Err(FormatError::TooLong { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any strict prefix of a file is refused as truncated (or, inside
    /// the magic, as not a recording).
    #[test]
    fn every_truncation_is_refused(cut in 0usize..10_000) {
        let (bytes, _) = sample();
        let cut = cut % bytes.len();
        match read_all(&bytes[..cut]) {
            Err(FormatError::Truncated { .. }) => {}
            Err(FormatError::NotARecording) => prop_assert!(cut < MAGIC.len()),
            other => prop_assert!(false, "cut at {}: {:?}", cut, other.map(|_| ())),
        }
    }

    /// Any damaged byte makes the file refused: the checksums cover every
    /// byte of every block, and the preamble is checked exactly.
    #[test]
    fn every_damaged_byte_is_refused(at in 0usize..100_000, flip in 1u8..=255) {
        let (mut bytes, _) = sample();
        let at = at % bytes.len();
        bytes[at] ^= flip;
        prop_assert!(read_all(&bytes).is_err(), "byte {} damaged yet accepted", at);
    }

    /// Arbitrary bytes after a valid preamble never panic the reader.
    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = Vec::new();
        write_preamble(&mut bytes).unwrap();
        bytes.extend_from_slice(&tail);
        let _ = read_all(&bytes);
    }
}

/// The output hash sees every part of a tick's outputs.
#[test]
fn output_hash_covers_every_output() {
    let mut sim = Simulation::new(
        MapSpec::open(256, 256, 2, 2).unwrap(),
        SimSettings::default(),
        3,
    );
    sim.push(Input::Join {
        id: PlayerId(1),
        name: "p1".into(),
        position: None,
    });
    let out = sim.step();
    let base = output_hash(&out);
    assert_eq!(base, output_hash(&out.clone()));
    let mut other = out.clone();
    other.tick += 1;
    assert_ne!(output_hash(&other), base);
    let mut other = out.clone();
    other.outbox[0].to = PlayerId(2);
    assert_ne!(output_hash(&other), base);
    let mut other = out.clone();
    other.analytics.pop();
    assert_ne!(output_hash(&other), base);
    let mut other = out;
    other.saves.push(battlegrid_sim::SavePosition {
        id: PlayerId(1),
        position: Position::new(1.0, 1.0),
    });
    assert_ne!(output_hash(&other), base);
}
