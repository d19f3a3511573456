//! A read-only snapshot of every player's position, published after each
//! tick so that other threads (the gateway looking up where a player is,
//! admin pages, metrics) read it without ever blocking the tick.
//!
//! Publishing is a pointer swap ([`arc_swap::ArcSwap`]); readers get an
//! `Arc` to a complete, immutable snapshot of one tick. Snapshots hold
//! positions and regions only; names, views and intents stay in the world.

use std::sync::Arc;

use arc_swap::ArcSwap;
use battlegrid_protocol::{PlayerId, Position, RegionId};
use bevy_ecs::prelude::*;

use crate::region::{Members, Region};
use crate::schedule::Tick;

/// Every player's position at the end of one tick, grouped by region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorldSnapshot {
    tick: u64,
    /// Indexed by region id; each list sorted by player id.
    regions: Vec<Vec<(PlayerId, Position)>>,
}

impl WorldSnapshot {
    /// The tick this snapshot was taken after (0 before the first tick).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Number of players in the world.
    pub fn player_count(&self) -> usize {
        self.regions.iter().map(Vec::len).sum()
    }

    /// The players of region `id`, sorted by id (empty for unknown regions).
    pub fn region(&self, id: RegionId) -> &[(PlayerId, Position)] {
        self.regions.get(id.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// Where player `id` is, and in which region.
    pub fn find(&self, id: PlayerId) -> Option<(Position, RegionId)> {
        self.regions.iter().enumerate().find_map(|(r, players)| {
            let i = players.binary_search_by_key(&id, |p| p.0).ok()?;
            Some((players[i].1, RegionId(r as u32)))
        })
    }

    /// Every player with its position and region, by region then id.
    pub fn iter(&self) -> impl Iterator<Item = (PlayerId, Position, RegionId)> + '_ {
        self.regions.iter().enumerate().flat_map(|(r, players)| {
            players
                .iter()
                .map(move |&(id, at)| (id, at, RegionId(r as u32)))
        })
    }
}

/// A cheap, cloneable handle that reads the latest snapshot from any thread.
#[derive(Debug, Clone)]
pub struct SnapshotReader(Arc<ArcSwap<WorldSnapshot>>);

impl SnapshotReader {
    /// The latest published snapshot. Lock-free; the snapshot stays valid
    /// (and unchanged) for as long as the caller holds it.
    pub fn load(&self) -> Arc<WorldSnapshot> {
        self.0.load_full()
    }
}

/// The publishing side, a resource of the world.
#[derive(Debug, Resource)]
pub struct SnapshotPublisher(Arc<ArcSwap<WorldSnapshot>>);

impl SnapshotPublisher {
    /// A publisher holding an empty snapshot.
    pub fn new() -> Self {
        Self(Arc::new(ArcSwap::from_pointee(WorldSnapshot::default())))
    }

    /// A reader of what this publisher publishes.
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader(self.0.clone())
    }
}

impl Default for SnapshotPublisher {
    fn default() -> Self {
        Self::new()
    }
}

/// Analytics phase, last: publishes this tick's positions.
pub fn publish_snapshot(
    tick: Res<'_, Tick>,
    publisher: Res<'_, SnapshotPublisher>,
    regions: Query<'_, '_, (&Region, &Members)>,
) {
    let mut lists: Vec<Vec<(PlayerId, Position)>> = Vec::new();
    for (region, members) in &regions {
        let i = region.id.0 as usize;
        if lists.len() <= i {
            lists.resize_with(i + 1, Vec::new);
        }
        // After the Index phase every member's indexed position is current.
        lists[i] = members
            .iter()
            .filter_map(|m| Some((m.id, m.indexed_at?)))
            .collect();
    }
    publisher.0.store(Arc::new(WorldSnapshot {
        tick: tick.0,
        regions: lists,
    }));
}
