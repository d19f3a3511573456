//! rstar used the textbook way: default node sizes (3..=6 children) and
//! `locate_within_distance` for radius queries. This is how the sim's
//! `SpatialIndex` started; the sim now uses wider nodes (6..=16) and walks
//! the query's bounding box with rstar's internal iteration.
//!
//! It is here so the spatial benchmark can show what that tuning buys, on
//! the same data and beside the baselines. Entries, equality and the update
//! contract are the sim's, so only node size and query path differ.

use battlegrid_protocol::{PlayerId, Position};
use rstar::{AABB, PointDistance, RTree, RTreeObject};

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

impl PointDistance for Entry {
    // The product's predicate, so that `locate_within_distance` accepts
    // exactly the points brute force does.
    fn distance_2(&self, point: &[f32; 2]) -> f32 {
        self.at.distance_squared(Position::new(point[0], point[1]))
    }
}

/// An rstar R-tree with default parameters and distance-based queries.
#[derive(Debug, Clone, Default)]
pub struct DefaultRTree {
    tree: RTree<Entry>,
}

impl DefaultRTree {
    /// A tree of `points`, bulk loaded.
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
    /// at `from`), as the sim does.
    pub fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        if from == to && self.tree.contains(&Entry { id, at: from }) {
            return;
        }
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
        for entry in self
            .tree
            .locate_within_distance([center.x, center.y], radius * radius)
        {
            f(entry.id, entry.at);
        }
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
