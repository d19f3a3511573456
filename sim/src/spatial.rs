//! A spatial index of player positions: a thin, plain-type wrapper around an
//! [`rstar`] R-tree.
//!
//! It knows nothing of the ECS (the simulation keeps one per region and copies
//! positions into it once per tick), nothing of regions and nothing of
//! messages. The one predicate it answers is "within `radius` of a point",
//! inclusive: `Position::distance_squared(p, center) <= radius * radius`,
//! computed exactly like that so that brute-force oracles agree bit for bit.

use std::ops::ControlFlow;

use battlegrid_protocol::{PlayerId, Position};
use rstar::{AABB, RStarInsertionStrategy, RTree, RTreeObject, RTreeParams};

/// One indexed point, with a caller-defined tag (see
/// [`SpatialIndex::bulk_load_tagged`]). Two entries are equal when id and
/// position are, whatever their tags, which is what lets [`RTree::remove`]
/// find the exact entry to delete.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: PlayerId,
    at: Position,
    tag: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.at == other.at
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f32; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_point([self.at.x, self.at.y])
    }
}

/// Node sizes tuned for radius queries over a few hundred to a few thousand
/// points per tree (one region's players): wider nodes than rstar's default
/// (3..=6) make the tree shallower, so a query visits fewer nodes; measured
/// with the `tick` benchmark.
#[derive(Debug, Clone, Copy)]
struct Params;

impl RTreeParams for Params {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 3;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// Player positions indexed for radius queries.
///
/// Updating a point needs its old position (R-trees find entries by
/// geometry), which the simulation always knows. When most points move at
/// once, rebuilding with [`SpatialIndex::bulk_load`] is cheaper than
/// relocating them one by one.
#[derive(Debug, Clone)]
pub struct SpatialIndex {
    tree: RTree<Entry, Params>,
}

impl Default for SpatialIndex {
    fn default() -> Self {
        Self {
            tree: RTree::new_with_params(),
        }
    }
}

impl SpatialIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An index of `points`, built in one pass (an STR bulk load, which also
    /// gives a better-balanced tree than repeated inserts).
    pub fn bulk_load(points: Vec<(PlayerId, Position)>) -> Self {
        let entries = points
            .into_iter()
            .map(|(id, at)| Entry { id, at, tag: 0 })
            .collect();
        Self {
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    /// Like [`SpatialIndex::bulk_load`], with a tag stored next to each
    /// point and handed back by [`SpatialIndex::for_each_in_box_tagged`].
    /// The simulation tags a player with its slot in its region's member
    /// list, so a query result leads to per-player data without a lookup.
    pub fn bulk_load_tagged(points: Vec<(PlayerId, Position, u32)>) -> Self {
        let entries = points
            .into_iter()
            .map(|(id, at, tag)| Entry { id, at, tag })
            .collect();
        Self {
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    /// Moves `id` from `from` to `to`, giving it `tag` (see
    /// [`SpatialIndex::relocate`]).
    pub fn relocate_tagged(&mut self, id: PlayerId, from: Position, to: Position, tag: u32) {
        self.remove(id, from);
        self.tree.insert(Entry { id, at: to, tag });
    }

    /// Adds `id` at `at`. Adding the same id twice indexes it twice; callers
    /// keep ids unique.
    pub fn insert(&mut self, id: PlayerId, at: Position) {
        self.tree.insert(Entry { id, at, tag: 0 });
    }

    /// Removes `id`, which must be indexed at exactly `at`. Returns whether an
    /// entry was removed.
    pub fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        self.tree.remove(&Entry { id, at, tag: 0 }).is_some()
    }

    /// Moves `id` from `from` to `to`. If `id` was not indexed at `from` it is
    /// inserted at `to` all the same, so the index ends up with it at `to`.
    pub fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        if from == to
            && self.tree.contains(&Entry {
                id,
                at: from,
                tag: 0,
            })
        {
            return;
        }
        self.remove(id, from);
        self.insert(id, to);
    }

    /// Calls `f` for every indexed point whose squared distance to `center`
    /// is at most `radius * radius`, in no particular order.
    pub fn for_each_within(
        &self,
        center: Position,
        radius: f32,
        mut f: impl FnMut(PlayerId, Position),
    ) {
        let r2 = radius * radius;
        // Walk the tree with the disc's bounding box (cheaper per node than a
        // distance), grown by a hair so that float rounding in `center -
        // radius` can never drop a point the exact test accepts; the exact
        // test then decides.
        let reach = radius + radius.abs() * 1e-5 + 1e-3;
        let area = AABB::from_corners(
            [center.x - reach, center.y - reach],
            [center.x + reach, center.y + reach],
        );
        let _ = self
            .tree
            .locate_in_envelope_intersecting_int(&area, |e: &Entry| {
                if e.at.distance_squared(center) <= r2 {
                    f(e.id, e.at);
                }
                ControlFlow::<()>::Continue(())
            });
    }

    /// Calls `f` for every indexed point inside the box from `min` to `max`,
    /// edges included, in no particular order. For callers that apply their
    /// own (exact) predicate to a superset, like the interest phase.
    pub fn for_each_in_box(
        &self,
        min: Position,
        max: Position,
        mut f: impl FnMut(PlayerId, Position),
    ) {
        self.for_each_in_box_tagged(min, max, |id, at, _| f(id, at));
    }

    /// Like [`SpatialIndex::for_each_in_box`], also passing each point's tag
    /// (0 for points added without one).
    pub fn for_each_in_box_tagged(
        &self,
        min: Position,
        max: Position,
        mut f: impl FnMut(PlayerId, Position, u32),
    ) {
        let area = AABB::from_corners([min.x, min.y], [max.x, max.y]);
        let _ = self
            .tree
            .locate_in_envelope_intersecting_int(&area, |e: &Entry| {
                f(e.id, e.at, e.tag);
                ControlFlow::<()>::Continue(())
            });
    }

    /// Number of indexed points.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the index holds no point.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Every indexed point, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (PlayerId, Position)> + '_ {
        self.tree.iter().map(|e| (e.id, e.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force(points: &[(PlayerId, Position)], center: Position, r: f32) -> Vec<PlayerId> {
        let mut ids: Vec<_> = points
            .iter()
            .filter(|(_, p)| p.distance_squared(center) <= r * r)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    fn query(index: &SpatialIndex, center: Position, r: f32) -> Vec<PlayerId> {
        let mut ids = Vec::new();
        index.for_each_within(center, r, |id, _| ids.push(id));
        ids.sort();
        ids
    }

    /// Coordinates on a coarse lattice so that many points sit exactly at the
    /// query radius (3-4-5 triangles and axis-aligned neighbours).
    fn lattice_point() -> impl Strategy<Value = Position> {
        (0u16..64, 0u16..64).prop_map(|(x, y)| Position::new(f32::from(x), f32::from(y)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Radius queries return exactly the brute-force set, including
        /// points at exactly the radius, after bulk load, inserts, removals
        /// and relocations.
        #[test]
        fn queries_match_brute_force(
            initial in prop::collection::vec(lattice_point(), 0..200),
            moves in prop::collection::vec((any::<prop::sample::Index>(), lattice_point()), 0..100),
            centers in prop::collection::vec(lattice_point(), 1..10),
            radius in prop::sample::select(vec![0.0f32, 1.0, 5.0, 10.0, 13.0, 25.0]),
        ) {
            let mut points: Vec<(PlayerId, Position)> = initial
                .into_iter()
                .enumerate()
                .map(|(i, p)| (PlayerId(i as u64), p))
                .collect();
            let mut index = SpatialIndex::bulk_load(points.clone());
            for (which, to) in moves {
                if points.is_empty() {
                    break;
                }
                let i = which.index(points.len());
                let (id, from) = points[i];
                index.relocate(id, from, to);
                points[i].1 = to;
            }
            // Drop every third point to exercise removal.
            let mut kept = Vec::new();
            for (n, (id, at)) in points.into_iter().enumerate() {
                if n % 3 == 0 {
                    prop_assert!(index.remove(id, at));
                } else {
                    kept.push((id, at));
                }
            }
            prop_assert_eq!(index.len(), kept.len());
            for c in centers {
                prop_assert_eq!(query(&index, c, radius), brute_force(&kept, c, radius));
            }
        }
    }

    /// Removal needs the exact position: a wrong one removes nothing.
    #[test]
    fn remove_requires_exact_position() {
        let mut index = SpatialIndex::new();
        index.insert(PlayerId(1), Position::new(10.0, 10.0));
        assert!(!index.remove(PlayerId(1), Position::new(10.0, 10.5)));
        assert!(!index.remove(PlayerId(2), Position::new(10.0, 10.0)));
        assert_eq!(index.len(), 1);
        assert!(index.remove(PlayerId(1), Position::new(10.0, 10.0)));
        assert!(index.is_empty());
    }

    /// A point exactly at the radius is inside; a hair beyond is outside.
    #[test]
    fn radius_is_inclusive() {
        let index = SpatialIndex::bulk_load(vec![
            (PlayerId(1), Position::new(3.0, 4.0)),
            (PlayerId(2), Position::new(0.0, 5.000_001)),
        ]);
        assert_eq!(
            query(&index, Position::new(0.0, 0.0), 5.0),
            vec![PlayerId(1)]
        );
    }

    /// Tags survive bulk loads and relocations and are handed back by box
    /// queries; untagged points report 0.
    #[test]
    fn tags_are_kept() {
        let mut index = SpatialIndex::bulk_load_tagged(vec![
            (PlayerId(1), Position::new(1.0, 1.0), 10),
            (PlayerId(2), Position::new(2.0, 2.0), 20),
        ]);
        index.relocate_tagged(
            PlayerId(2),
            Position::new(2.0, 2.0),
            Position::new(3.0, 3.0),
            21,
        );
        index.insert(PlayerId(3), Position::new(4.0, 4.0));
        let mut seen = Vec::new();
        index.for_each_in_box_tagged(
            Position::new(0.0, 0.0),
            Position::new(4.0, 4.0),
            |id, at, tag| seen.push((id.0, at.x, tag)),
        );
        seen.sort_by_key(|s| s.0);
        assert_eq!(seen, vec![(1, 1.0, 10), (2, 3.0, 21), (3, 4.0, 0)]);
        assert!(index.remove(PlayerId(1), Position::new(1.0, 1.0)));
    }

    /// Relocating an id that is not at `from` still leaves it at `to`, once.
    #[test]
    fn relocate_of_unknown_point_inserts() {
        let mut index = SpatialIndex::new();
        index.relocate(
            PlayerId(7),
            Position::new(1.0, 1.0),
            Position::new(2.0, 2.0),
        );
        index.relocate(
            PlayerId(7),
            Position::new(2.0, 2.0),
            Position::new(2.0, 2.0),
        );
        assert_eq!(
            index.iter().collect::<Vec<_>>(),
            vec![(PlayerId(7), Position::new(2.0, 2.0))]
        );
    }
}
