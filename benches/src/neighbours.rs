//! One trait over the neighbour indexes, so the benchmark drives them
//! with the same code and the tests can prove they give the same answers.
//!
//! The trait covers only what the benchmark and the agreement tests (in
//! `agreement.rs`) need.

use battlegrid_protocol::{PlayerId, Position};
use battlegrid_sim::spatial::SpatialIndex;

use crate::{Area, BruteForce, DefaultRTree, UniformGrid};

/// An index of `(PlayerId, Position)` entries answering "who is within
/// `radius` of here" with the product's inclusive predicate
/// (`distance_squared <= radius * radius`).
pub trait NeighbourIndex: Sized {
    /// Name used in benchmark ids and test messages.
    const NAME: &'static str;

    /// An index over `points`. `area` and `radius` describe where points
    /// will be and how far queries reach; the grid sizes its cells from
    /// them, the others ignore them.
    fn build(area: Area, radius: f32, points: Vec<(PlayerId, Position)>) -> Self;

    /// Adds `id` at `at`.
    fn insert(&mut self, id: PlayerId, at: Position);

    /// Removes the entry `(id, at)`; `false` if there is none.
    fn remove(&mut self, id: PlayerId, at: Position) -> bool;

    /// Moves `id` from `from` (its stored position) to `to`.
    fn relocate(&mut self, id: PlayerId, from: Position, to: Position);

    /// Calls `f` for every entry within `radius` of `center`.
    fn for_each_within(&self, center: Position, radius: f32, f: impl FnMut(PlayerId, Position));

    /// How many entries the index holds.
    fn len(&self) -> usize;

    /// Whether the index holds no entry.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries are within `radius` of `center`.
    fn count_within(&self, center: Position, radius: f32) -> usize {
        let mut count = 0;
        self.for_each_within(center, radius, |_, _| count += 1);
        count
    }
}

impl NeighbourIndex for SpatialIndex {
    const NAME: &'static str = "rstar";

    fn build(_area: Area, _radius: f32, points: Vec<(PlayerId, Position)>) -> Self {
        SpatialIndex::bulk_load(points)
    }

    fn insert(&mut self, id: PlayerId, at: Position) {
        SpatialIndex::insert(self, id, at);
    }

    fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        SpatialIndex::remove(self, id, at)
    }

    fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        SpatialIndex::relocate(self, id, from, to);
    }

    fn for_each_within(&self, center: Position, radius: f32, f: impl FnMut(PlayerId, Position)) {
        SpatialIndex::for_each_within(self, center, radius, f);
    }

    fn len(&self) -> usize {
        SpatialIndex::len(self)
    }
}

impl NeighbourIndex for DefaultRTree {
    const NAME: &'static str = "rstar_default";

    fn build(_area: Area, _radius: f32, points: Vec<(PlayerId, Position)>) -> Self {
        DefaultRTree::bulk_load(points)
    }

    fn insert(&mut self, id: PlayerId, at: Position) {
        DefaultRTree::insert(self, id, at);
    }

    fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        DefaultRTree::remove(self, id, at)
    }

    fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        DefaultRTree::relocate(self, id, from, to);
    }

    fn for_each_within(&self, center: Position, radius: f32, f: impl FnMut(PlayerId, Position)) {
        DefaultRTree::for_each_within(self, center, radius, f);
    }

    fn len(&self) -> usize {
        DefaultRTree::len(self)
    }
}

impl NeighbourIndex for UniformGrid {
    const NAME: &'static str = "grid";

    fn build(area: Area, radius: f32, points: Vec<(PlayerId, Position)>) -> Self {
        UniformGrid::bulk_load(area, radius, points)
    }

    fn insert(&mut self, id: PlayerId, at: Position) {
        UniformGrid::insert(self, id, at);
    }

    fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        UniformGrid::remove(self, id, at)
    }

    fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        UniformGrid::relocate(self, id, from, to);
    }

    fn for_each_within(&self, center: Position, radius: f32, f: impl FnMut(PlayerId, Position)) {
        UniformGrid::for_each_within(self, center, radius, f);
    }

    fn len(&self) -> usize {
        UniformGrid::len(self)
    }
}

impl NeighbourIndex for BruteForce {
    const NAME: &'static str = "brute_force";

    fn build(_area: Area, _radius: f32, points: Vec<(PlayerId, Position)>) -> Self {
        BruteForce::bulk_load(points)
    }

    fn insert(&mut self, id: PlayerId, at: Position) {
        BruteForce::insert(self, id, at);
    }

    fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        BruteForce::remove(self, id, at)
    }

    fn relocate(&mut self, id: PlayerId, from: Position, to: Position) {
        BruteForce::relocate(self, id, from, to);
    }

    fn for_each_within(&self, center: Position, radius: f32, f: impl FnMut(PlayerId, Position)) {
        BruteForce::for_each_within(self, center, radius, f);
    }

    fn len(&self) -> usize {
        BruteForce::len(self)
    }
}

/// The ids `index` reports within `radius` of `center`, sorted: what the
/// baselines' unit tests compare.
#[cfg(test)]
pub(crate) fn ids_within<I: NeighbourIndex>(index: &I, center: Position, radius: f32) -> Vec<u64> {
    let mut ids = Vec::new();
    index.for_each_within(center, radius, |id, _| ids.push(id.0));
    ids.sort_unstable();
    ids
}
