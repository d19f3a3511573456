//! Brute force: every query scans every point. The floor any index must beat
//! on queries, and the oracle the indexes are checked against.
//!
//! Points live in one dense vector; a map from id to slot makes insert,
//! remove and relocate O(1), so only queries pay the brute-force price. That
//! keeps the maintenance comparison honest (a naive `Vec` search per move
//! would make brute force look far worse than it needs to be). Left out: more
//! than one entry per id, which neither the sim nor the benchmarks need.

use std::collections::HashMap;

use battlegrid_protocol::{PlayerId, Position};

/// All points in one vector, scanned in full by every query.
#[derive(Debug, Clone, Default)]
pub struct BruteForce {
    points: Vec<(PlayerId, Position)>,
    /// Where each id sits in `points`, so updates need no scan.
    slots: HashMap<PlayerId, usize>,
}

impl BruteForce {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `points`; a repeated id keeps its last position.
    pub fn bulk_load(points: Vec<(PlayerId, Position)>) -> Self {
        let mut set = Self {
            points: Vec::with_capacity(points.len()),
            slots: HashMap::with_capacity(points.len()),
        };
        for (id, at) in points {
            set.insert(id, at);
        }
        set
    }

    /// Puts `id` at `at`. An id holds one entry: inserting it again moves it.
    pub fn insert(&mut self, id: PlayerId, at: Position) {
        match self.slots.get(&id) {
            Some(&slot) => self.points[slot].1 = at,
            None => {
                self.slots.insert(id, self.points.len());
                self.points.push((id, at));
            }
        }
    }

    /// Removes the entry `(id, at)`; `false` if `id` is absent or stored
    /// elsewhere (the same contract as the R-tree wrapper).
    pub fn remove(&mut self, id: PlayerId, at: Position) -> bool {
        let Some(&slot) = self.slots.get(&id) else {
            return false;
        };
        if self.points[slot].1 != at {
            return false;
        }
        self.slots.remove(&id);
        self.points.swap_remove(slot);
        if let Some(&(moved, _)) = self.points.get(slot) {
            self.slots.insert(moved, slot);
        }
        true
    }

    /// Moves `id` to `to`; afterwards it is at `to` whether or not it was
    /// at `from`.
    pub fn relocate(&mut self, id: PlayerId, _from: Position, to: Position) {
        self.insert(id, to);
    }

    /// Calls `f` for every point whose distance to `center` is at most
    /// `radius` (inclusive), in no particular order.
    pub fn for_each_within(
        &self,
        center: Position,
        radius: f32,
        mut f: impl FnMut(PlayerId, Position),
    ) {
        let radius_squared = radius * radius;
        for &(id, p) in &self.points {
            if p.distance_squared(center) <= radius_squared {
                f(id, p);
            }
        }
    }

    /// How many points the set holds.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the set holds no point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::neighbours::ids_within;

    /// Removing from the middle keeps the other ids reachable (the slot map
    /// follows the swapped-in entry).
    #[test]
    fn remove_keeps_the_slot_map_consistent() {
        let mut set = BruteForce::bulk_load(vec![
            (PlayerId(1), Position::new(0.0, 0.0)),
            (PlayerId(2), Position::new(1.0, 0.0)),
            (PlayerId(3), Position::new(2.0, 0.0)),
        ]);
        assert!(!set.remove(PlayerId(1), Position::new(9.0, 9.0)));
        assert!(set.remove(PlayerId(1), Position::new(0.0, 0.0)));
        assert!(!set.remove(PlayerId(1), Position::new(0.0, 0.0)));
        set.relocate(
            PlayerId(3),
            Position::new(2.0, 0.0),
            Position::new(5.0, 5.0),
        );
        assert!(set.remove(PlayerId(3), Position::new(5.0, 5.0)));
        assert_eq!(set.len(), 1);
        assert_eq!(ids_within(&set, Position::new(0.0, 0.0), 1.0), vec![2]);
    }

    /// The radius is inclusive; one id holds one entry.
    #[test]
    fn query_is_inclusive_and_ids_are_unique() {
        let mut set = BruteForce::new();
        set.insert(PlayerId(1), Position::new(3.0, 4.0));
        set.insert(PlayerId(2), Position::new(3.0, 4.01));
        set.insert(PlayerId(2), Position::new(30.0, 40.0));
        assert_eq!(set.len(), 2);
        assert_eq!(ids_within(&set, Position::new(0.0, 0.0), 5.0), vec![1]);
        assert_eq!(ids_within(&set, Position::new(0.0, 0.0), 50.0), vec![1, 2]);
    }
}
