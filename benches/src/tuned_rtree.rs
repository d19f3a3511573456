//! The same rstar R-tree as the sim's `SpatialIndex`, queried another way:
//! through a square envelope and rstar's internal iteration
//! (`locate_in_envelope_int`), filtered by the product's distance predicate.
//!
//! It exists to measure one question for the sim: how much of the R-tree's
//! query cost is the tree, and how much is `locate_within_distance`'s
//! external iterator (which pushes every child of each visited node onto a
//! stack and tests each leaf through `distance_2_if_less_or_equal`). Tree
//! type, parameters and bulk load are the sim's, so only the query path
//! differs. Updates are plain remove + insert, like the sim's; the benchmark
//! times only its queries.

use std::ops::ControlFlow;

use battlegrid_protocol::{PlayerId, Position};
use rstar::{AABB, RTree, RTreeObject};

/// One indexed point; equal when both id and position are, like the sim's.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    id: PlayerId,
    at: Position,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f32; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_point([self.at.x, self.at.y])
    }
}

/// An rstar R-tree whose radius query walks a bounding square internally.
#[derive(Debug, Clone, Default)]
pub struct TunedRTree {
    tree: RTree<Entry>,
}

impl TunedRTree {
    /// A tree of `points`, bulk loaded as the sim does.
    pub fn bulk_load(points: Vec<(PlayerId, Position)>) -> Self {
        let entries = points
            .into_iter()
            .map(|(id, at)| Entry { id, at })
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
        }
    }

    /// Adds `id` at `at`.
    pub fn insert(&mut self, id: PlayerId, at: Position) {
        self.tree.insert(Entry { id, at });
    }

    /// Removes the entry `(id, at)`; `false` if there is none.
    pub fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        self.tree.remove(&Entry { id, at }).is_some()
    }

    /// Moves `id` from `from` to `to` (inserting it at `to` if it was not
    /// at `from`).
    pub fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        self.remove(id, from);
        self.insert(id, to);
    }

    /// Calls `f` for every entry whose distance to `center` is at most
    /// `radius` (inclusive).
    pub fn for_each_within(
        &self,
        center: Position,
        radius: f32,
        mut f: impl FnMut(PlayerId, Position),
    ) {
        let radius_squared = radius * radius;
        if radius_squared.is_nan() {
            return; // `d <= NaN` holds for no point.
        }
        // Reach from the square (a radius whose square overflows accepts
        // everything), plus a margin: rounding can put a point that passes
        // the f32 predicate a few ulp outside the exact square.
        let reach = radius_squared.sqrt() * (1.0 + 1e-5) + (center.x.abs() + center.y.abs()) * 1e-6;
        // `inf - inf` is NaN; an end like that spans the whole axis, as the
        // f32 predicate can still accept points there (`inf <= inf`).
        let lo = |v: f32| {
            if (v - reach).is_nan() {
                f32::NEG_INFINITY
            } else {
                v - reach
            }
        };
        let hi = |v: f32| {
            if (v + reach).is_nan() {
                f32::INFINITY
            } else {
                v + reach
            }
        };
        let square = AABB::from_corners([lo(center.x), lo(center.y)], [hi(center.x), hi(center.y)]);
        let _: ControlFlow<()> = self.tree.locate_in_envelope_int(&square, |entry| {
            if entry.at.distance_squared(center) <= radius_squared {
                f(entry.id, entry.at);
            }
            ControlFlow::Continue(())
        });
    }

    /// How many entries the tree holds.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the tree holds no entry.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }
}
