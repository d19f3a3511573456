//! What recording costs the tick thread (see `server/src/record`): per
//! streamed world and tick it copies the queued inputs
//! (`Simulation::queued_inputs`), and every `checkpoint_every_ticks` it
//! takes a checkpoint (`Simulation::checkpoint`). Everything else
//! (hashing, encoding, files) runs on the recorder thread. Also the
//! replay's side: rebuilding a world from a checkpoint.
//!
//! The world is the tick benchmark's (`benchmark_world`: 4096x4096, 8x8
//! regions, random walkers, views populated). Wall-clock time.
//!
//! Run: `cargo bench -p battlegrid-benches --bench record`

use std::hint::black_box;
use std::time::Duration;

use battlegrid_sim::Simulation;
use battlegrid_sim::testing::benchmark_world;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const WARM_UP_TICKS: usize = 10;

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for players in [2_000u64, 10_000] {
        let (mut sim, mut walkers) = benchmark_world(players, WARM_UP_TICKS);
        group.bench_function(BenchmarkId::new("checkpoint", players), |b| {
            b.iter(|| black_box(sim.checkpoint()))
        });
        let checkpoint = sim.checkpoint();
        group.bench_function(BenchmarkId::new("from_checkpoint", players), |b| {
            b.iter(|| black_box(Simulation::from_checkpoint(&checkpoint).expect("valid")))
        });
        // A tick's worth of inputs (the walkers' turns and shouts).
        walkers.drive(&mut sim);
        group.bench_function(BenchmarkId::new("copy_inputs", players), |b| {
            b.iter(|| black_box(sim.queued_inputs().to_vec()))
        });
        sim.step();
    }
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
