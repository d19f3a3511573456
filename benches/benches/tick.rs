//! Full simulation tick at 1,000 / 10,000 / 50,000 players.
//!
//! A 4096x4096 open map cut into 8x8 regions; every player is a random
//! walker (60 units/s, 10% pick a new direction each tick, honestly
//! predicted) and 2% of players shout each tick; view radius 48, shout
//! radius 64 (the `SimSettings` defaults). Each world is warmed up for a few
//! ticks first so views are populated and the measured ticks are steady
//! state. Only `Simulation::step` is timed: pushing the walkers' inputs and
//! dropping the tick's output happen outside the measurement.
//!
//! Run: `cargo bench -p battlegrid-benches --bench tick`
//! (divide the median by the player count for ns per player per tick).

use std::hint::black_box;
use std::time::{Duration, Instant};

use battlegrid_sim::testing::{Scenario, Walkers};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const WARM_UP_TICKS: usize = 10;

fn full_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in [1_000u64, 10_000, 50_000] {
        let mut sim = Scenario::open_map(4096, 4096, 8, 8)
            .players(players)
            .seed(7)
            .build();
        let mut walkers = Walkers::new(players, 11);
        walkers.start(&mut sim);
        for _ in 0..WARM_UP_TICKS {
            walkers.drive(&mut sim);
            sim.step();
        }
        group.throughput(Throughput::Elements(players));
        group.sample_size(if players >= 50_000 { 10 } else { 20 });
        group.measurement_time(Duration::from_secs(if players >= 50_000 { 20 } else { 8 }));
        group.bench_function(BenchmarkId::from_parameter(players), |b| {
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
            });
        });
    }
    group.finish();
}

criterion_group!(benches, full_tick);
criterion_main!(benches);
