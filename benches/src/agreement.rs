//! Agreement tests: every index answers every query exactly like brute
//! force, on random, clustered and adversarial data, before and after
//! updates.
//!
//! This is what protects the spatial benchmark's comparison: a baseline that
//! is fast because it misses neighbours would make the numbers meaningless.
//! Points exactly at the radius, distances that round, cell borders, points
//! off the map and non-finite queries are all covered.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use battlegrid_protocol::{PlayerId, Position};
use battlegrid_sim::spatial::SpatialIndex;

use crate::data::{clustered, scatter, walk};
use crate::{Area, BruteForce, DefaultRTree, NeighbourIndex, UniformGrid};

/// Sorted `(id, x bits, y bits)` of entries, so that two indexes'
/// answers can be compared exactly, positions included.
type Found = Vec<(u64, u32, u32)>;

/// The entries within `radius`, sorted.
fn neighbours<I: NeighbourIndex>(index: &I, center: Position, radius: f32) -> Found {
    let mut found = Vec::new();
    index.for_each_within(center, radius, |id, p| {
        found.push((id.0, p.x.to_bits(), p.y.to_bits()))
    });
    found.sort_unstable();
    found
}

/// Every index under comparison, built from the same points.
struct All {
    rstar: SpatialIndex,
    default: DefaultRTree,
    grid: UniformGrid,
    brute: BruteForce,
}

impl All {
    fn build(area: Area, radius: f32, points: &[(PlayerId, Position)]) -> Self {
        Self {
            rstar: NeighbourIndex::build(area, radius, points.to_vec()),
            default: NeighbourIndex::build(area, radius, points.to_vec()),
            grid: NeighbourIndex::build(area, radius, points.to_vec()),
            brute: NeighbourIndex::build(area, radius, points.to_vec()),
        }
    }

    /// Asserts all agree with brute force around `center`; returns how
    /// many entries they found.
    fn assert_agree(&self, center: Position, radius: f32) -> usize {
        let sim = ("rstar", neighbours(&self.rstar, center, radius));
        self.assert_baselines_agree(center, radius, Some(sim))
    }

    /// Asserts this crate's indexes agree with brute force, and `sim`'s
    /// answer too when given (queries outside the sim's domain, such as
    /// a negative radius or an infinite centre, leave it out).
    fn assert_baselines_agree(
        &self,
        center: Position,
        radius: f32,
        sim: Option<(&str, Found)>,
    ) -> usize {
        let expected = neighbours(&self.brute, center, radius);
        let found = [
            ("rstar_default", neighbours(&self.default, center, radius)),
            ("grid", neighbours(&self.grid, center, radius)),
        ];
        for (name, got) in found.into_iter().chain(sim) {
            if got != expected {
                let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
                let extra: Vec<_> = got.iter().filter(|g| !expected.contains(g)).collect();
                panic!(
                    "{name} disagrees with brute force at {center:?} radius {radius}: \
                     {} found, {} expected; missing (id, x bits, y bits) {:?}, extra {:?}",
                    got.len(),
                    expected.len(),
                    &missing[..missing.len().min(5)],
                    &extra[..extra.len().min(5)],
                );
            }
        }
        expected.len()
    }

    fn insert(&mut self, id: PlayerId, at: Position) {
        NeighbourIndex::insert(&mut self.rstar, id, at);
        NeighbourIndex::insert(&mut self.default, id, at);
        NeighbourIndex::insert(&mut self.grid, id, at);
        NeighbourIndex::insert(&mut self.brute, id, at);
    }

    /// Removes from each index; returns what each reported, in field order.
    fn remove(&mut self, id: PlayerId, at: Position) -> [bool; 4] {
        [
            NeighbourIndex::remove(&mut self.rstar, id, at),
            NeighbourIndex::remove(&mut self.default, id, at),
            NeighbourIndex::remove(&mut self.grid, id, at),
            NeighbourIndex::remove(&mut self.brute, id, at),
        ]
    }

    fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        NeighbourIndex::relocate(&mut self.rstar, id, from, to);
        NeighbourIndex::relocate(&mut self.default, id, from, to);
        NeighbourIndex::relocate(&mut self.grid, id, from, to);
        NeighbourIndex::relocate(&mut self.brute, id, from, to);
    }

    fn lens(&self) -> [usize; 4] {
        [
            NeighbourIndex::len(&self.rstar),
            NeighbourIndex::len(&self.default),
            NeighbourIndex::len(&self.grid),
            NeighbourIndex::len(&self.brute),
        ]
    }
}

/// On uniform and on clustered random data, every point's neighbours
/// agree before and after a tick of random walking, for the benchmark's
/// radius and others.
#[test]
fn indexes_agree_on_random_walkers() {
    let area = Area::square(1024.0);
    for seed in 0..4 {
        // One data set of four is crowded: dense cells and deep subtrees.
        let points = match seed {
            3 => clustered(seed, 2_000, area, 4, 30.0, 0.7),
            _ => scatter(seed, 2_000, area),
        };
        let mut all = All::build(area, 48.0, &points);
        let moved = walk(seed + 100, &points, 4.0, area);
        let mut found = 0;
        for &(_, p) in &points {
            found += all.assert_agree(p, 48.0);
        }
        for (&(id, from), &(_, to)) in points.iter().zip(&moved) {
            all.relocate(id, from, to);
        }
        for &(_, p) in &moved {
            for radius in [48.0, 5.0, 130.0] {
                found += all.assert_agree(p, radius);
            }
        }
        // The check means something only if queries find neighbours.
        assert!(found > 10 * points.len(), "only {found} neighbours found");
        assert_eq!(all.lens(), [2_000; 4]);
    }
}

/// Points on an integer lattice sit exactly at the radius from many
/// centres (3-4-5 triangles, cell corners); the inclusive edge must agree.
#[test]
fn indexes_agree_exactly_at_the_radius() {
    let area = Area::square(100.0);
    let points: Vec<_> = (0..=50u64)
        .flat_map(|x| (0..=50u64).map(move |y| (x, y)))
        .map(|(x, y)| {
            (
                PlayerId(x * 100 + y),
                Position::new(x as f32 * 2.0, y as f32 * 2.0),
            )
        })
        .collect();
    let all = All::build(area, 10.0, &points);
    let mut at_edge = 0;
    for center in [
        Position::new(40.0, 40.0),
        Position::new(0.0, 0.0),
        Position::new(50.0, 48.0),
    ] {
        for radius in [10.0, 20.0, 48.0, 0.0] {
            all.assert_agree(center, radius);
            at_edge += points
                .iter()
                .filter(|(_, p)| p.distance_squared(center) == radius * radius)
                .count();
        }
    }
    assert!(at_edge > 60, "only {at_edge} points exactly at a radius");
}

/// On a lattice of decimal fractions (not exact in binary) distances
/// round; every index must round the same way, also on cell borders.
#[test]
fn indexes_agree_where_distances_round() {
    let area = Area::square(10.0);
    let points: Vec<_> = (0..100u64)
        .flat_map(|x| (0..100u64).map(move |y| (x, y)))
        .map(|(x, y)| {
            let at = Position::new(x as f32 * 0.1, y as f32 * 0.1);
            (PlayerId(x * 1000 + y), at)
        })
        .collect();
    let all = All::build(area, 0.3, &points);
    for center in [
        Position::new(2.3, 1.7),
        Position::new(0.6, 0.9),
        Position::new(5.0, 5.0),
    ] {
        for radius in [0.3, 0.5, 0.7, 1.3, 0.1] {
            assert!(all.assert_agree(center, radius) > 0);
        }
    }
}

/// Zero, huge, infinite and NaN radii give the same answers everywhere.
/// Negative radii and non-finite centres, which the sim never asks for,
/// must still agree among this crate's indexes (and nothing panics).
#[test]
fn indexes_agree_on_odd_queries() {
    let area = Area::square(256.0);
    let all = All::build(area, 48.0, &scatter(9, 500, area));
    let radii = [0.0, 48.0, 1e30, f32::INFINITY, f32::NAN];
    for center in [Position::new(100.0, 100.0), Position::new(-1e30, 5.0)] {
        for radius in radii {
            all.assert_agree(center, radius);
        }
    }
    assert_eq!(
        all.assert_agree(Position::new(1.0, 1.0), f32::INFINITY),
        500
    );
    let odd_centers = [
        Position::new(100.0, 100.0),
        Position::new(f32::NAN, 5.0),
        Position::new(f32::INFINITY, f32::NEG_INFINITY),
    ];
    for center in odd_centers {
        for radius in radii.into_iter().chain([-48.0, f32::NEG_INFINITY]) {
            all.rstar.count_within(center, radius);
            all.assert_baselines_agree(center, radius, None);
        }
    }
    let negative = all.assert_baselines_agree(Position::new(100.0, 100.0), -48.0, None);
    assert!(negative > 0);
}

/// Random inserts, removes (with right and wrong positions) and moves,
/// including moves off the map, keep all indexes in agreement.
#[test]
fn indexes_agree_after_mixed_updates() {
    let area = Area::square(512.0);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut live = scatter(5, 300, area);
    let mut all = All::build(area, 48.0, &live);
    let mut next_id = 10_000;
    for step in 0..3_000 {
        match rng.random_range(0..4) {
            0 => {
                let at = Position::new(
                    rng.random_range(-50.0..562.0),
                    rng.random_range(-50.0..562.0),
                );
                next_id += 1;
                let id = PlayerId(next_id);
                all.insert(id, at);
                live.push((id, at));
            }
            1 if !live.is_empty() => {
                let (id, at) = live.swap_remove(rng.random_range(0..live.len()));
                let wrong = Position::new(at.x + 0.5, at.y);
                assert_eq!(all.remove(id, wrong), [false; 4]);
                assert_eq!(all.remove(id, at), [true; 4]);
            }
            _ if !live.is_empty() => {
                let slot = rng.random_range(0..live.len());
                let (id, from) = live[slot];
                let to = Position::new(
                    from.x + rng.random_range(-60.0..60.0),
                    from.y + rng.random_range(-60.0..60.0),
                );
                all.relocate(id, from, to);
                live[slot].1 = to;
            }
            _ => {}
        }
        if step % 50 == 0 {
            let center = Position::new(
                rng.random_range(-60.0..572.0),
                rng.random_range(-60.0..572.0),
            );
            all.assert_agree(center, rng.random_range(0.0..100.0));
        }
    }
    assert_eq!(all.lens(), [live.len(); 4]);
    for &(_, p) in &live {
        all.assert_agree(p, 48.0);
    }
}
