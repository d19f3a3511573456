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
//!
//! Times are wall-clock by default: the tick's cost is elapsed time, and it
//! uses every core. On a machine shared with other work, wall time counts
//! the time slices the tick's threads waited for a core; with
//! `BATTLEGRID_BENCH_CLOCK=process-cpu` each step is measured in CPU time
//! of the whole process instead (all threads, user + system), which is the
//! work a tick costs regardless of neighbours; on an idle machine wall time
//! is about that divided by the cores used, plus the sequential phases.

use std::hint::black_box;
use std::time::{Duration, Instant};

use battlegrid_sim::testing::benchmark_world;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rustix::time::{ClockId, clock_gettime};

const WARM_UP_TICKS: usize = 10;

/// Which clock times a step: wall time, or (with
/// `BATTLEGRID_BENCH_CLOCK=process-cpu`) the process's CPU time.
#[derive(Clone, Copy)]
enum Clock {
    Wall,
    ProcessCpu,
}

impl Clock {
    fn from_env() -> Self {
        match std::env::var("BATTLEGRID_BENCH_CLOCK") {
            Ok(v) if v == "process-cpu" => Clock::ProcessCpu,
            _ => Clock::Wall,
        }
    }

    /// Runs `f` and returns how long it took on this clock.
    fn time<T>(self, f: impl FnOnce() -> T) -> (T, Duration) {
        match self {
            Clock::Wall => {
                let start = Instant::now();
                let out = f();
                (out, start.elapsed())
            }
            Clock::ProcessCpu => {
                let start = process_cpu_now();
                let out = f();
                (out, process_cpu_now().saturating_sub(start))
            }
        }
    }
}

fn process_cpu_now() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0).min(999_999_999),
    )
}

fn full_tick(c: &mut Criterion) {
    let clock = Clock::from_env();
    let mut group = c.benchmark_group(match clock {
        Clock::Wall => "tick",
        Clock::ProcessCpu => "tick-process-cpu",
    });
    for players in [1_000u64, 10_000, 50_000] {
        let (mut sim, mut walkers) = benchmark_world(players, WARM_UP_TICKS);
        group.throughput(Throughput::Elements(players));
        group.sample_size(if players >= 50_000 { 10 } else { 20 });
        group.measurement_time(Duration::from_secs(if players >= 50_000 { 20 } else { 8 }));
        group.bench_function(BenchmarkId::from_parameter(players), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    walkers.drive(&mut sim);
                    let (output, took) = clock.time(|| sim.step());
                    total += took;
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
