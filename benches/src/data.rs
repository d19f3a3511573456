//! Seeded benchmark data: uniformly scattered points and one tick of random
//! walking, so every index under comparison sees exactly the same positions.
//!
//! Everything here is a pure function of its seed (ChaCha8), so a number in
//! PERFORMANCE.md can be reproduced from the seed alone. Uniform scatter is
//! the neutral case; [`clustered`] is one crude crowd model (players bunched
//! around a few towns), enough to show how density skew moves the numbers,
//! not a model of real player behaviour.

use battlegrid_protocol::{PlayerId, Position};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An axis-aligned rectangle of the world: `min` is its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// Top-left corner (smallest `x` and `y`).
    pub min: Position,
    /// Extent along `x`, in world units.
    pub width: f32,
    /// Extent along `y`, in world units.
    pub height: f32,
}

impl Area {
    /// The square `[0, size) x [0, size)`, e.g. a whole map.
    pub const fn square(size: f32) -> Self {
        Self {
            min: Position::new(0.0, 0.0),
            width: size,
            height: size,
        }
    }

    /// Moves `p` onto the nearest point of the area (edges included).
    pub fn clamp(&self, p: Position) -> Position {
        Position::new(
            p.x.clamp(self.min.x, self.min.x + self.width),
            p.y.clamp(self.min.y, self.min.y + self.height),
        )
    }

    /// Whether `p` lies in the area, edges included.
    pub fn contains(&self, p: Position) -> bool {
        (self.min.x..=self.min.x + self.width).contains(&p.x)
            && (self.min.y..=self.min.y + self.height).contains(&p.y)
    }
}

/// `count` players with ids `1..=count`, each at a uniformly random position
/// inside `area`.
pub fn scatter(seed: u64, count: usize, area: Area) -> Vec<(PlayerId, Position)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let x = area.min.x + rng.random_range(0.0..area.width);
            let y = area.min.y + rng.random_range(0.0..area.height);
            (PlayerId(i as u64 + 1), Position::new(x, y))
        })
        .collect()
}

/// `count` players with ids `1..=count`: a `share` (0 to 1) of them gathered
/// around `towns` random centres, each offset from its town by a bell-shaped
/// amount with a standard deviation of about `spread` per axis; the rest
/// scattered uniformly. Everyone is kept inside `area`.
pub fn clustered(
    seed: u64,
    count: usize,
    area: Area,
    towns: usize,
    spread: f32,
    share: f32,
) -> Vec<(PlayerId, Position)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let uniform = |rng: &mut ChaCha8Rng| {
        let x = area.min.x + rng.random_range(0.0..area.width);
        let y = area.min.y + rng.random_range(0.0..area.height);
        Position::new(x, y)
    };
    let centres: Vec<Position> = (0..towns.max(1)).map(|_| uniform(&mut rng)).collect();
    // The sum of four uniforms on [-1, 1] is bell-shaped with a standard
    // deviation of sqrt(4/3); no extra crate needed for a normal sampler.
    let bell = |rng: &mut ChaCha8Rng| {
        let sum: f32 = (0..4).map(|_| rng.random_range(-1.0f32..=1.0)).sum();
        sum * spread / (4.0f32 / 3.0).sqrt()
    };
    (0..count)
        .map(|i| {
            let at = if rng.random_range(0.0..1.0) < share {
                let town = centres[rng.random_range(0..centres.len())];
                let offset = Position::new(town.x + bell(&mut rng), town.y + bell(&mut rng));
                area.clamp(offset)
            } else {
                uniform(&mut rng)
            };
            (PlayerId(i as u64 + 1), at)
        })
        .collect()
}

/// One tick of movement: each point takes an independent random step of at
/// most `max_step` along each axis and is kept inside `area`.
///
/// The result is index-aligned with `points`.
pub fn walk(
    seed: u64,
    points: &[(PlayerId, Position)],
    max_step: f32,
    area: Area,
) -> Vec<(PlayerId, Position)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    points
        .iter()
        .map(|&(id, p)| {
            let dx = rng.random_range(-max_step..=max_step);
            let dy = rng.random_range(-max_step..=max_step);
            (id, area.clamp(Position::new(p.x + dx, p.y + dy)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed gives the same points; another seed gives others.
    #[test]
    fn scatter_is_a_function_of_its_seed() {
        let area = Area::square(4096.0);
        assert_eq!(scatter(7, 100, area), scatter(7, 100, area));
        assert_ne!(scatter(7, 100, area), scatter(8, 100, area));
    }

    /// Scattered points stay inside an offset area and have distinct ids.
    #[test]
    fn scatter_stays_inside_the_area() {
        let area = Area {
            min: Position::new(512.0, 1024.0),
            width: 512.0,
            height: 512.0,
        };
        let points = scatter(1, 1000, area);
        assert!(points.iter().all(|&(_, p)| area.contains(p)));
        let mut ids: Vec<_> = points.iter().map(|&(id, _)| id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 1000);
    }

    /// Clustered points stay inside the area, and the clustered share really
    /// is denser: far more pairs lie close together than in uniform data.
    #[test]
    fn clustered_points_are_bunched() {
        let area = Area::square(4096.0);
        let close_pairs = |points: &[(PlayerId, Position)]| {
            let mut close = 0;
            for (i, &(_, a)) in points.iter().enumerate() {
                for &(_, b) in &points[i + 1..] {
                    close += usize::from(a.distance_squared(b) <= 48.0 * 48.0);
                }
            }
            close
        };
        let towns = clustered(11, 1000, area, 8, 40.0, 0.5);
        assert!(towns.iter().all(|&(_, p)| area.contains(p)));
        assert_eq!(towns, clustered(11, 1000, area, 8, 40.0, 0.5));
        let uniform = scatter(11, 1000, area);
        assert!(close_pairs(&towns) > 10 * close_pairs(&uniform).max(1));
    }

    /// A walk moves each point by at most `max_step` per axis, keeps its id
    /// and never leaves the area, even from the edges.
    #[test]
    fn walk_takes_small_steps_inside_the_area() {
        let area = Area::square(64.0);
        let mut points = scatter(3, 500, area);
        points.push((PlayerId(9999), Position::new(0.0, 64.0)));
        let moved = walk(4, &points, 4.0, area);
        assert_eq!(moved.len(), points.len());
        let mut any_moved = false;
        for (&(id, from), &(id2, to)) in points.iter().zip(&moved) {
            assert_eq!(id, id2);
            assert!(area.contains(to));
            assert!((to.x - from.x).abs() <= 4.0 && (to.y - from.y).abs() <= 4.0);
            any_moved |= to != from;
        }
        assert!(any_moved);
    }
}
