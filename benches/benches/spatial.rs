//! Index maintenance and neighbour queries alone: the sim's R-tree wrapper
//! (`battlegrid_sim::spatial::SpatialIndex`, rstar as used: nodes of 6..=16,
//! queries walk the disc's bounding box), rstar with default parameters and
//! `locate_within_distance` (`rstar_default`, the textbook usage), a uniform
//! grid with cells the size of the query radius, and brute force, side by
//! side on the same seeded data.
//!
//! Run: `cargo bench -p battlegrid-benches --bench spatial` (about 3 minutes
//! on an idle machine; append a filter such as `-- query_all/map_10000` to
//! run a part). Times are wall-clock by default; with
//! `BATTLEGRID_BENCH_CLOCK=thread-cpu` they are the benchmark thread's CPU
//! time (see `battlegrid_benches::cpu_clock`), which other processes on a
//! shared machine do not inflate. Everything measured here runs on one
//! thread, so on an idle machine the two agree.
//!
//! The R-tree's numbers depend on how rustc splits rstar's generic code into
//! codegen units: with the default 16 units and no LTO, the sim's `relocate`
//! measured 7.6 ms in one build and 24.5 ms in another (10k points, same
//! `spatial.rs`, unrelated sim changes). For comparable numbers build with
//! `CARGO_PROFILE_BENCH_CODEGEN_UNITS=1 CARGO_PROFILE_BENCH_LTO=thin`; the
//! grid and brute force barely move either way.
//!
//! Data sets (uniform random points, ChaCha8 seed [`SEED`]): `map_N` puts N
//! points on the 4096x4096 map, N = 1k, 10k, 50k; `region_N` puts N/64 points
//! in one 512x512 region, the same density, because the sim keeps one tree per
//! region (8x8 regions). `towns_10000` is the one skewed set: 10k players on
//! the map, half of them bunched around 16 towns (spread about 40 units),
//! the rest uniform, to show what density skew does to each index. For each
//! data set and index:
//! - `build/<set>`: an index from all points (bulk load; the grid inserts one
//!   by one). Copying the input vector is not timed.
//! - `relocate_all/<set>`: one tick of maintenance, every point relocated by a
//!   random step of at most 4 units per axis (80 units/s at 20 Hz).
//!   Iterations alternate between the two position sets, so each one is a
//!   full tick of moves on the same index.
//! - `query_all/<set>`: a radius-48 query (the view radius) around every
//!   point, counting results, on a freshly built index.
//!
//! Throughput is in points (queries for `query_all`), so criterion's
//! `thrpt` line reads as points per second, and time / N is ns per point.
//! Brute-force queries on `map_50000` would need 2.5e9 distance tests per
//! iteration, so there they run from every 10th point only (5,000 queries)
//! and the throughput counts those queries: ns per query stays comparable.
//! Before timing, each data set prints the mean neighbours per query, after
//! checking all indexes count the same total.

use std::hint::black_box;
use std::time::Duration;

use battlegrid_benches::cpu_clock::{CLOCK_ENV, ThreadCpuTime, thread_cpu_requested};
use battlegrid_benches::data::{clustered, scatter, walk};
use battlegrid_benches::{Area, BruteForce, DefaultRTree, NeighbourIndex, UniformGrid};
use battlegrid_protocol::{PlayerId, Position};
use battlegrid_sim::spatial::SpatialIndex;
use criterion::measurement::Measurement;
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};

/// Seed of every data set; the walk uses `SEED + 1`.
const SEED: u64 = 0x00BA_771E;
/// Side of the square map, in world units.
const MAP_SIZE: f32 = 4096.0;
/// Side of one region: the map is 8x8 regions.
const REGION_SIZE: f32 = 512.0;
/// Query radius: the sim's default view radius.
const RADIUS: f32 = 48.0;
/// Largest per-axis step of one tick of walking.
const STEP: f32 = 4.0;
/// Player counts on the whole map.
const PLAYERS: [usize; 3] = [1_000, 10_000, 50_000];
/// Players in the clustered data set, on the whole map.
const TOWN_PLAYERS: usize = 10_000;
/// Towns the clustered data set gathers players around.
const TOWNS: usize = 16;
/// Standard deviation of a town dweller's offset from the town centre, per axis.
const TOWN_SPREAD: f32 = 40.0;
/// Share of the clustered data set's players that live in towns.
const TOWN_SHARE: f32 = 0.5;
/// Above this many points, brute-force queries run from a sample of points.
const BRUTE_QUERY_LIMIT: usize = 10_000;
/// Every how many points a sampled brute-force query runs.
const BRUTE_QUERY_STRIDE: usize = 10;

/// One set of points and where they are a tick later.
struct DataSet {
    name: String,
    area: Area,
    points: Vec<(PlayerId, Position)>,
    moved: Vec<(PlayerId, Position)>,
}

impl DataSet {
    fn new(name: String, area: Area, count: usize) -> Self {
        Self::of(name, area, scatter(SEED, count, area))
    }

    fn of(name: String, area: Area, points: Vec<(PlayerId, Position)>) -> Self {
        let moved = walk(SEED + 1, &points, STEP, area);
        Self {
            name,
            area,
            points,
            moved,
        }
    }
}

fn data_sets() -> Vec<DataSet> {
    // A region away from the map's edges, like most regions.
    let region = Area {
        min: Position::new(3.0 * REGION_SIZE, 4.0 * REGION_SIZE),
        width: REGION_SIZE,
        height: REGION_SIZE,
    };
    let regions_per_map = ((MAP_SIZE / REGION_SIZE) as usize).pow(2);
    let mut sets = Vec::new();
    for players in PLAYERS {
        let map = Area::square(MAP_SIZE);
        sets.push(DataSet::new(format!("map_{players}"), map, players));
    }
    for players in PLAYERS {
        let name = format!("region_{players}");
        sets.push(DataSet::new(name, region, players / regions_per_map));
    }
    let map = Area::square(MAP_SIZE);
    let towns = clustered(SEED, TOWN_PLAYERS, map, TOWNS, TOWN_SPREAD, TOWN_SHARE);
    sets.push(DataSet::of(format!("towns_{TOWN_PLAYERS}"), map, towns));
    sets
}

/// The points brute force queries from: all, or a sample on big sets.
fn brute_query_stride(set: &DataSet) -> usize {
    if set.points.len() > BRUTE_QUERY_LIMIT {
        BRUTE_QUERY_STRIDE
    } else {
        1
    }
}

/// Neighbours found by radius queries around every `stride`-th point.
fn count_all<I: NeighbourIndex>(
    index: &I,
    points: &[(PlayerId, Position)],
    stride: usize,
) -> usize {
    points
        .iter()
        .step_by(stride)
        .map(|&(_, p)| index.count_within(p, RADIUS))
        .sum()
}

/// Checks the indexes agree on this data set and prints its density.
fn report_and_check(set: &DataSet) {
    let rstar = SpatialIndex::build(set.area, RADIUS, set.points.clone());
    let default = DefaultRTree::build(set.area, RADIUS, set.points.clone());
    let grid = UniformGrid::build(set.area, RADIUS, set.points.clone());
    let brute = BruteForce::build(set.area, RADIUS, set.points.clone());
    let stride = brute_query_stride(set);
    let total = count_all(&rstar, &set.points, 1);
    for (name, count) in [
        ("grid", count_all(&grid, &set.points, 1)),
        ("rstar_default", count_all(&default, &set.points, 1)),
    ] {
        assert_eq!(count, total, "{name} disagrees with rstar on {}", set.name);
    }
    assert_eq!(
        count_all(&rstar, &set.points, stride),
        count_all(&brute, &set.points, stride),
        "brute force disagrees on {}",
        set.name
    );
    println!(
        "{}: {} points, {:.2} neighbours per radius-{RADIUS} query (self included)",
        set.name,
        set.points.len(),
        total as f64 / set.points.len().max(1) as f64
    );
}

fn bench_build<I: NeighbourIndex, M: Measurement>(c: &mut Criterion<M>, set: &DataSet) {
    let mut group = c.benchmark_group(format!("build/{}", set.name));
    group.throughput(Throughput::Elements(set.points.len() as u64));
    group.bench_function(I::NAME, |b| {
        b.iter_batched(
            || set.points.clone(),
            |points| I::build(set.area, RADIUS, points),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_relocate_all<I: NeighbourIndex, M: Measurement>(c: &mut Criterion<M>, set: &DataSet) {
    let mut group = c.benchmark_group(format!("relocate_all/{}", set.name));
    group.throughput(Throughput::Elements(set.points.len() as u64));
    let mut index = I::build(set.area, RADIUS, set.points.clone());
    let mut forward = true;
    group.bench_function(I::NAME, |b| {
        b.iter(|| {
            let (from, to) = if forward {
                (&set.points, &set.moved)
            } else {
                (&set.moved, &set.points)
            };
            for (&(id, old), &(_, new)) in from.iter().zip(to) {
                index.relocate(id, old, new);
            }
            forward = !forward;
        })
    });
    group.finish();
    assert_eq!(index.len(), set.points.len(), "{} lost points", I::NAME);
}

fn bench_query_all<I: NeighbourIndex, M: Measurement>(
    c: &mut Criterion<M>,
    set: &DataSet,
    stride: usize,
) {
    let mut group = c.benchmark_group(format!("query_all/{}", set.name));
    let queries = set.points.len().div_ceil(stride);
    group.throughput(Throughput::Elements(queries as u64));
    group.sampling_mode(SamplingMode::Flat);
    let index = I::build(set.area, RADIUS, set.points.clone());
    group.bench_function(I::NAME, |b| {
        b.iter(|| count_all(black_box(&index), &set.points, stride))
    });
    group.finish();
}

fn spatial<M: Measurement>(c: &mut Criterion<M>) {
    for set in data_sets() {
        report_and_check(&set);
        bench_build::<SpatialIndex, M>(c, &set);
        bench_build::<DefaultRTree, M>(c, &set);
        bench_build::<UniformGrid, M>(c, &set);
        bench_build::<BruteForce, M>(c, &set);
        bench_relocate_all::<SpatialIndex, M>(c, &set);
        bench_relocate_all::<DefaultRTree, M>(c, &set);
        bench_relocate_all::<UniformGrid, M>(c, &set);
        bench_relocate_all::<BruteForce, M>(c, &set);
        bench_query_all::<SpatialIndex, M>(c, &set, 1);
        bench_query_all::<DefaultRTree, M>(c, &set, 1);
        bench_query_all::<UniformGrid, M>(c, &set, 1);
        bench_query_all::<BruteForce, M>(c, &set, brute_query_stride(&set));
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
}

// What `criterion_main!` would expand to, with a choice of clock.
fn main() {
    if thread_cpu_requested() {
        println!("clock: this thread's CPU time ({CLOCK_ENV}=thread-cpu)");
        let mut c = config()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        spatial(&mut c);
        c.final_summary();
    } else {
        println!("clock: wall time (set {CLOCK_ENV}=thread-cpu for CPU time)");
        let mut c = config().configure_from_args();
        spatial(&mut c);
        c.final_summary();
    }
}
