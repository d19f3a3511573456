//! Which file format the analytics writer uses: zstd-compressed NDJSON (the
//! server's writer path) against Apache Parquet (the `parquet` crate, zstd
//! pages), on the same mix of events.
//!
//! Run: `cargo bench -p battlegrid-benches --bench analytics_format`
//! (NDJSON only), and with Parquet:
//! `cargo bench -p battlegrid-benches --bench analytics_format --features parquet`.
//!
//! - `analytics_format/ndjson_zstd`: 20,000 events serialised as JSON lines
//!   and compressed as one zstd frame per 2,000 events (what one flush of a
//!   busy server writes), exactly as `analytics::writer` does.
//! - `analytics_format/parquet_zstd` (feature `parquet`): the same events
//!   as one Parquet file (one row group, zstd level 3 pages, one column per
//!   field), the most favourable case for Parquet.
//! - `analytics_format/parquet_zstd_file_per_flush` (feature `parquet`):
//!   one complete Parquet file per 2,000 events, what the writer's crash
//!   guarantee (at most one flush lost, the rest readable) costs in Parquet.
//!
//! - `analytics_writer/thread_200k_events`: the server's writer thread end
//!   to end: 200,000 events emitted into the queue, drained, written as
//!   frames to a file under `target/analytics-bench` and completed. Its
//!   `elem/s` is what the writer sustains (it includes the emitting
//!   thread's clones on the same 2 cores).
//!
//! Each bench prints the bytes per event of its output once, and for a
//! quiet server (50 events per flush) too. Throughput is
//! in events, so criterion's `elem/s` is the writer's ceiling on one core.

use std::hint::black_box;
use std::time::Duration;

use battlegrid_server::analytics::{Event, MapName, Stamped};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: usize = 20_000;
const PER_FRAME: usize = 2_000;

/// A day-like mix: mostly position samples and tick summaries, then
/// movement, speech and sessions, with realistic ids and positions.
fn events() -> Vec<Stamped> {
    let world = MapName::from("world");
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..EVENTS)
        .map(|i| {
            let r = next();
            let account = 1 + r % 2_000;
            let tick = 100_000 + (i / 50) as u64;
            let event = match i % 20 {
                0..=11 => Event::Position {
                    account,
                    map: world.clone(),
                    x: (r >> 16) as f32 % 4096.0,
                    y: (r >> 32) as f32 % 4096.0,
                    region: ((r >> 40) % 256) as u32,
                },
                12..=15 => Event::TickSummary {
                    map: world.clone(),
                    players: 2_000,
                    messages: 40_000 + r % 5_000,
                },
                16 => Event::RegionChange {
                    account,
                    map: world.clone(),
                    from: (r % 256) as u32,
                    to: ((r >> 8) % 256) as u32,
                },
                17 => Event::Shout {
                    account,
                    map: world.clone(),
                    bytes: 10 + (r % 60) as u32,
                    recipients: 1 + (r % 40) as u32,
                    text: None,
                },
                18 => Event::Correction {
                    account,
                    map: world.clone(),
                    reason: "drift".into(),
                },
                _ => Event::SessionEnd {
                    account,
                    map: Some(world.clone()),
                    duration_ms: r % 7_200_000,
                    reason: "disconnected".into(),
                },
            };
            Stamped {
                at_ms: 1_764_668_956_000 + (i as u64) * 2,
                tick: Some(tick),
                event,
            }
        })
        .collect()
}

/// The writer's path: lines, then one zstd frame (checksummed) per flush.
fn ndjson_zstd(events: &[Stamped], compressor: &mut zstd::bulk::Compressor<'_>) -> usize {
    let mut lines = Vec::with_capacity(1 << 20);
    let mut written = 0;
    for chunk in events.chunks(PER_FRAME) {
        lines.clear();
        for event in chunk {
            event.write_line(&mut lines);
        }
        written += compressor.compress(&lines).expect("compress").len();
    }
    written
}

fn formats(c: &mut Criterion) {
    let events = events();
    let mut group = c.benchmark_group("analytics_format");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.measurement_time(Duration::from_secs(5));
    let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
    compressor.include_checksum(true).expect("zstd");
    let bytes = ndjson_zstd(&events, &mut compressor);
    println!(
        "ndjson_zstd: {:.1} bytes/event on disk",
        bytes as f64 / EVENTS as f64
    );
    let quiet: usize = events[..5_000]
        .chunks(50)
        .map(|chunk| ndjson_zstd(chunk, &mut compressor))
        .sum();
    println!(
        "ndjson_zstd, 50 events per flush: {:.1} bytes/event on disk",
        quiet as f64 / 5_000.0
    );
    group.bench_function("ndjson_zstd", |b| {
        b.iter(|| black_box(ndjson_zstd(black_box(&events), &mut compressor)))
    });
    #[cfg(feature = "parquet")]
    {
        let bytes = parquet_file::write(&events).len();
        println!(
            "parquet_zstd: {:.1} bytes/event on disk",
            bytes as f64 / EVENTS as f64
        );
        group.bench_function("parquet_zstd", |b| {
            b.iter(|| black_box(parquet_file::write(black_box(&events)).len()))
        });
        // Crash safety as the writer has it (at most one flush lost, the
        // rest readable) means a complete Parquet file, footer and all,
        // per flush.
        let per_flush = |events: &[Stamped]| -> usize {
            events
                .chunks(PER_FRAME)
                .map(|chunk| parquet_file::write(chunk).len())
                .sum()
        };
        println!(
            "parquet_zstd_file_per_flush: {:.1} bytes/event on disk",
            per_flush(&events) as f64 / EVENTS as f64
        );
        // A quiet server: 50 events per flush.
        let quiet: usize = events[..5_000]
            .chunks(50)
            .map(|chunk| parquet_file::write(chunk).len())
            .sum();
        println!(
            "parquet_zstd_file_per_flush, 50 events per flush: {:.1} bytes/event on disk",
            quiet as f64 / 5_000.0
        );
        group.bench_function("parquet_zstd_file_per_flush", |b| {
            b.iter(|| black_box(per_flush(black_box(&events))))
        });
    }
    group.finish();
}

/// The writer thread end to end: 200,000 events through the queue into
/// files on disk (`target/analytics-bench`), timed until the thread has
/// written them all and completed its file.
fn writer_thread(c: &mut Criterion) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use battlegrid_server::analytics::writer::{Writer, spawn};
    use battlegrid_server::analytics::{Analytics, AnalyticsConfig, AnalyticsStats};

    const N: usize = 200_000;
    let sample = events();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/analytics-bench");
    let mut group = c.benchmark_group("analytics_writer");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("thread_200k_events", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(&dir);
            let stats = Arc::new(AnalyticsStats::default());
            let (analytics, queue) = Analytics::channel(N, false, Arc::clone(&stats));
            let writer = Writer::new(dir.clone(), AnalyticsConfig::default(), Arc::clone(&stats))
                .expect("writer");
            let thread = spawn(writer, queue, Arc::new(AtomicBool::new(false))).expect("thread");
            for event in sample.iter().cycle().take(N) {
                analytics.emit(event.tick, event.event.clone());
            }
            // The last sender gone: the writer drains, writes and completes
            // at once (a running server sets `stop` instead).
            drop(analytics);
            thread.join().expect("writer");
            assert_eq!(stats.written.load(Ordering::Relaxed), N as u64);
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "parquet")]
mod parquet_file {
    //! The same events as a Parquet file: one optional column per field.

    use std::sync::Arc;

    use battlegrid_server::analytics::{Event, Stamped};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    const SCHEMA: &str = "message event {
        REQUIRED INT64 v;
        REQUIRED INT64 time (TIMESTAMP(MILLIS, true));
        OPTIONAL INT64 tick;
        REQUIRED BYTE_ARRAY type (UTF8);
        OPTIONAL INT64 account;
        OPTIONAL BYTE_ARRAY map (UTF8);
        OPTIONAL FLOAT x;
        OPTIONAL FLOAT y;
        OPTIONAL INT64 region;
        OPTIONAL INT64 from;
        OPTIONAL INT64 to;
        OPTIONAL INT64 bytes;
        OPTIONAL INT64 recipients;
        OPTIONAL INT64 players;
        OPTIONAL INT64 messages;
        OPTIONAL INT64 duration_ms;
        OPTIONAL BYTE_ARRAY reason (UTF8);
    }";

    /// One optional column: values of the rows that have one, and a
    /// definition level per row.
    #[derive(Default)]
    struct Column<T> {
        values: Vec<T>,
        levels: Vec<i16>,
    }

    impl<T> Column<T> {
        fn push(&mut self, value: Option<T>) {
            self.levels.push(i16::from(value.is_some()));
            self.values.extend(value);
        }
    }

    #[derive(Default)]
    struct Columns {
        v: Vec<i64>,
        time: Vec<i64>,
        tick: Column<i64>,
        kind: Vec<ByteArray>,
        account: Column<i64>,
        map: Column<ByteArray>,
        x: Column<f32>,
        y: Column<f32>,
        ints: [Column<i64>; 8],
        reason: Column<ByteArray>,
    }

    fn text(s: &str) -> ByteArray {
        ByteArray::from(s.as_bytes().to_vec())
    }

    pub fn write(events: &[Stamped]) -> Vec<u8> {
        let mut c = Columns::default();
        for e in events {
            c.v.push(1);
            c.time.push(e.at_ms as i64);
            c.tick.push(e.tick.map(|t| t as i64));
            c.kind.push(text(e.event.kind()));
            // region, from, to, bytes, recipients, players, messages, duration_ms
            let mut ints = [None; 8];
            let (account, map, xy, reason) = match &e.event {
                Event::Position {
                    account,
                    map,
                    x,
                    y,
                    region,
                } => {
                    ints[0] = Some(i64::from(*region));
                    (Some(*account), Some(map), Some((*x, *y)), None)
                }
                Event::TickSummary {
                    map,
                    players,
                    messages,
                } => {
                    ints[5] = Some(*players as i64);
                    ints[6] = Some(*messages as i64);
                    (None, Some(map), None, None)
                }
                Event::RegionChange {
                    account,
                    map,
                    from,
                    to,
                } => {
                    ints[1] = Some(i64::from(*from));
                    ints[2] = Some(i64::from(*to));
                    (Some(*account), Some(map), None, None)
                }
                Event::Shout {
                    account,
                    map,
                    bytes,
                    recipients,
                    ..
                } => {
                    ints[3] = Some(i64::from(*bytes));
                    ints[4] = Some(i64::from(*recipients));
                    (Some(*account), Some(map), None, None)
                }
                Event::Correction {
                    account,
                    map,
                    reason,
                } => (Some(*account), Some(map), None, Some(reason.as_str())),
                Event::SessionEnd {
                    account,
                    map,
                    duration_ms,
                    reason,
                } => {
                    ints[7] = Some(*duration_ms as i64);
                    (Some(*account), map.as_ref(), None, Some(reason.as_str()))
                }
                _ => (None, None, None, None),
            };
            c.account.push(account.map(|a| a as i64));
            c.map.push(map.map(|m| text(&m.0)));
            c.x.push(xy.map(|p| p.0));
            c.y.push(xy.map(|p| p.1));
            for (column, value) in c.ints.iter_mut().zip(ints) {
                column.push(value);
            }
            c.reason.push(reason.map(text));
        }
        let schema = Arc::new(parse_message_type(SCHEMA).expect("schema"));
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level")))
                .build(),
        );
        let mut out = Vec::new();
        let mut writer = SerializedFileWriter::new(&mut out, schema, props).expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        let mut index = 0;
        while let Some(mut column) = group.next_column().expect("column") {
            let ints = |i: usize| &c.ints[i];
            match index {
                0 => column.typed::<Int64Type>().write_batch(&c.v, None, None),
                1 => column.typed::<Int64Type>().write_batch(&c.time, None, None),
                2 => column.typed::<Int64Type>().write_batch(
                    &c.tick.values,
                    Some(&c.tick.levels),
                    None,
                ),
                3 => column
                    .typed::<ByteArrayType>()
                    .write_batch(&c.kind, None, None),
                4 => column.typed::<Int64Type>().write_batch(
                    &c.account.values,
                    Some(&c.account.levels),
                    None,
                ),
                5 => column.typed::<ByteArrayType>().write_batch(
                    &c.map.values,
                    Some(&c.map.levels),
                    None,
                ),
                6 => column
                    .typed::<FloatType>()
                    .write_batch(&c.x.values, Some(&c.x.levels), None),
                7 => column
                    .typed::<FloatType>()
                    .write_batch(&c.y.values, Some(&c.y.levels), None),
                8..=15 => {
                    let col = ints(index - 8);
                    column
                        .typed::<Int64Type>()
                        .write_batch(&col.values, Some(&col.levels), None)
                }
                _ => column.typed::<ByteArrayType>().write_batch(
                    &c.reason.values,
                    Some(&c.reason.levels),
                    None,
                ),
            }
            .expect("write column");
            column.close().expect("close column");
            index += 1;
        }
        group.close().expect("close row group");
        writer.close().expect("close file");
        out
    }
}

criterion_group!(benches, formats, writer_thread);
criterion_main!(benches);
