//! Encoding and decoding of typical wire messages, and stream framing.
//!
//! Run: `cargo bench -p battlegrid-benches --bench codec` (about a minute;
//! append a filter such as `-- state_update` to run a part).
//!
//! - `encode/<msg>` and `decode/<msg>`: one message through
//!   `battlegrid_protocol::codec` for a `Move` intent (client to server, the
//!   most frequent input), a `ShoutHeard` (encoded once per shout, decoded by
//!   every listener), a `Welcome` and a `StateUpdate` with 20 movers.
//! - `state_update_20/*`: one watcher's update listing 20 movers, three ways:
//!   `serde` encodes a ready-built `ServerMessage`; `serde_with_vec` also
//!   copies the 20 states into the message's `Vec` first (what a per-watcher
//!   serde path does); `spliced` concatenates 20 records encoded once per tick
//!   (`encode_state_update`, the server's path). `encode_records` is the
//!   once-per-tick cost of encoding the 20 movers' records.
//! - `split_state_update_200`: 200 movers split into datagrams of
//!   `DATAGRAM_BUDGET` bytes.
//! - `frame_decoder/*`: a stream of 1,000 framed messages (intents and
//!   shouts) fed in 1,200-byte reads; `split` cuts frames only,
//!   `split_and_decode` also decodes each into a `ClientMessage`. Throughput
//!   is in stream bytes.
//!
//! Not measured here: the QUIC stack and the simulation producing the
//! messages (see the `tick` bench).

use std::hint::black_box;
use std::time::Duration;

use battlegrid_protocol::codec::{encode_entity_state, encode_state_update, split_state_update};
use battlegrid_protocol::frame::frame;
use battlegrid_protocol::{
    ClientMessage, DATAGRAM_BUDGET, EntityState, FrameDecoder, MapInfo, MoveIntent, PlayerId,
    Position, RegionId, ServerMessage, Vec2, decode, encode, encode_to_bytes,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn move_intent(seq: u32) -> ClientMessage {
    ClientMessage::Move(MoveIntent {
        seq,
        direction: Vec2 { x: 0.6, y: -0.8 },
        speed: 80.0,
        predicted: Position::new(1843.25, 977.5),
    })
}

fn shout_heard() -> ServerMessage {
    ServerMessage::ShoutHeard {
        speaker: PlayerId(48_213),
        name: "wanderer_17".into(),
        position: Position::new(1843.25, 977.5),
        text: "anyone up for the dungeon near the north gate?".into(),
    }
}

fn welcome() -> ServerMessage {
    ServerMessage::Welcome {
        player_id: PlayerId(48_213),
        region: RegionId(27),
        position: Position::new(1843.25, 977.5),
        tick_rate_hz: 20,
        map: MapInfo {
            name: "meadow".into(),
            width: 4096,
            height: 4096,
            region_cols: 8,
            region_rows: 8,
        },
    }
}

/// Movers with ids in the tens of thousands (3-byte varints), as on a busy
/// server: 11-byte records.
fn movers(count: u64) -> Vec<EntityState> {
    (0..count)
        .map(|i| EntityState {
            id: PlayerId(40_000 + i * 37),
            position: Position::new(1800.0 + i as f32 * 1.5, 960.0 - i as f32 * 0.75),
        })
        .collect()
}

fn state_update(count: u64) -> ServerMessage {
    ServerMessage::StateUpdate {
        tick: 123_456,
        moved: movers(count),
    }
}

fn bench_messages(c: &mut Criterion) {
    let client = [("move_intent", move_intent(7))];
    let server = [
        ("shout_heard", shout_heard()),
        ("welcome", welcome()),
        ("state_update_20", state_update(20)),
    ];

    // Messages are built beforehand: this is the codec alone. Fan-out
    // messages go to `Bytes` (shared by all recipients), as in the server.
    let mut group = c.benchmark_group("encode");
    for (name, message) in &client {
        group.bench_function(*name, |b| b.iter(|| encode(black_box(message)).unwrap()));
    }
    for (name, message) in &server {
        group.bench_function(*name, |b| {
            b.iter(|| encode_to_bytes(black_box(message)).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode");
    for (name, message) in &client {
        let bytes = encode(message).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| decode::<ClientMessage>(black_box(&bytes)).unwrap())
        });
    }
    for (name, message) in &server {
        let bytes = encode(message).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| decode::<ServerMessage>(black_box(&bytes)).unwrap())
        });
    }
    group.finish();
}

fn bench_state_update(c: &mut Criterion) {
    let states = movers(20);
    let message = state_update(20);
    let records: Vec<_> = states.iter().map(encode_entity_state).collect();
    assert_eq!(
        &encode_state_update(123_456, &records)[..],
        &encode(&message).unwrap()[..],
        "the spliced path must be byte-identical"
    );

    let mut group = c.benchmark_group("state_update_20");
    group.bench_function("serde", |b| {
        b.iter(|| encode_to_bytes(black_box(&message)).unwrap())
    });
    group.bench_function("serde_with_vec", |b| {
        b.iter(|| {
            let message = ServerMessage::StateUpdate {
                tick: 123_456,
                moved: black_box(&states).clone(),
            };
            encode_to_bytes(&message).unwrap()
        })
    });
    group.bench_function("spliced", |b| {
        b.iter(|| encode_state_update(black_box(123_456), black_box(&records)))
    });
    group.bench_function("encode_records", |b| {
        b.iter(|| {
            black_box(&states)
                .iter()
                .map(encode_entity_state)
                .fold(0, |n, r| n + r.as_bytes().len())
        })
    });
    group.finish();

    let records: Vec<_> = movers(200).iter().map(encode_entity_state).collect();
    c.bench_function("split_state_update_200", |b| {
        b.iter(|| {
            let mut datagrams = 0;
            split_state_update(123_456, black_box(&records), DATAGRAM_BUDGET, |d| {
                datagrams += 1;
                black_box(d);
            });
            datagrams
        })
    });
}

fn bench_frame_decoder(c: &mut Criterion) {
    let mut stream = Vec::new();
    for i in 0..1000u32 {
        let message = if i % 10 == 9 {
            ClientMessage::Shout {
                text: "anyone up for the dungeon near the north gate?".into(),
            }
        } else {
            move_intent(i)
        };
        stream.extend_from_slice(&frame(&encode(&message).unwrap()));
    }
    const READ: usize = 1200;

    let mut group = c.benchmark_group("frame_decoder");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("split", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new();
            let mut frames = 0usize;
            for read in black_box(&stream).chunks(READ) {
                decoder.extend(read);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    frames += frame.len();
                }
            }
            frames
        })
    });
    group.bench_function("split_and_decode", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new();
            let mut messages = 0usize;
            for read in black_box(&stream).chunks(READ) {
                decoder.extend(read);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    black_box(decode::<ClientMessage>(&frame).unwrap());
                    messages += 1;
                }
            }
            assert_eq!(messages, 1000);
        })
    });
    group.finish();
}

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_messages, bench_state_update, bench_frame_decoder
}
criterion_main!(codec);
