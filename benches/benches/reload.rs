//! Cost of swapping the map of a running world (`Simulation::replace_map`)
//! and of the tick right after it, against a normal tick, at 10,000 players.
//!
//! The world is the tick benchmark's (`battlegrid_sim::testing::benchmark_world`:
//! 4096x4096, 8x8 regions, random walkers). Two versions of its map
//! alternate: the open original, and one with a 16x16 region grid and four
//! walls of blocked tiles across the map, so every swap rebuilds all region
//! entities and relocates the players standing on a wall (about 1.5% of
//! them). Each iteration swaps once and steps once; `replace_map` times only
//! the swap, `tick_after_replace` only the step after it (where every view
//! is diffed against the carried one, every tree bulk-loaded and every
//! player sent `MapChanged`), `tick` a step with no swap, in the same world (measured first, on
//! the original map).
//! Wall-clock time.
//!
//! Run: `cargo bench -p battlegrid-benches --bench reload`

use std::hint::black_box;
use std::time::{Duration, Instant};

use battlegrid_protocol::Position;
use battlegrid_sim::MapSpec;
use battlegrid_sim::testing::benchmark_world;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const PLAYERS: u64 = 10_000;
const WARM_UP_TICKS: usize = 10;

/// The benchmark world's map with a 16x16 region grid and four walls: tile
/// rows 40 and 200 and tile columns 70 and 180 (tiles are 16 units), so the
/// centre spawn point stays free.
fn walled_version() -> MapSpec {
    let mut blocked = Vec::new();
    for i in 0..256 {
        blocked.extend([(i, 40), (i, 200), (70, i), (180, i)]);
    }
    MapSpec::new(
        "open",
        (4096, 4096),
        16,
        (16, 16),
        &blocked,
        vec![Position::new(2048.0, 2048.0)],
    )
    .expect("valid walled map")
}

fn reload(c: &mut Criterion) {
    let (mut sim, mut walkers) = benchmark_world(PLAYERS, WARM_UP_TICKS);
    let versions = [sim.map().clone(), walled_version()];
    let mut next = 1;
    let mut group = c.benchmark_group("reload");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(BenchmarkId::new("tick", PLAYERS), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                walkers.drive(&mut sim);
                let start = Instant::now();
                let output = sim.step();
                total += start.elapsed();
                black_box(output);
            }
            total
        })
    });
    let mut swap_then_step = |time_swap: bool, iters: u64| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let map = versions[next].clone();
            next = 1 - next;
            let start = Instant::now();
            let relocations = sim.replace_map(map);
            if time_swap {
                total += start.elapsed();
            }
            black_box(relocations);
            walkers.drive(&mut sim);
            let start = Instant::now();
            let output = sim.step();
            if !time_swap {
                total += start.elapsed();
            }
            black_box(output);
        }
        total
    };
    group.bench_function(BenchmarkId::new("replace_map", PLAYERS), |b| {
        b.iter_custom(|iters| swap_then_step(true, iters))
    });
    group.bench_function(BenchmarkId::new("tick_after_replace", PLAYERS), |b| {
        b.iter_custom(|iters| swap_then_step(false, iters))
    });
    group.finish();
}

criterion_group!(benches, reload);
criterion_main!(benches);
