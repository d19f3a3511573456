//! Regions as entities: bounds, member list and spatial index, plus the
//! Index phase that copies member positions into each region's R-tree.
//!
//! A player belongs to exactly one region at a time (see [`crate::handoff`]
//! for when that changes). Because of handoff hysteresis a member may stand
//! up to `handoff_margin` outside its region's bounds, so radius queries look
//! at every region whose bounds grown by the margin touch the query disc
//! ([`crate::map::MapSpec::regions_near`]). Which node owns a region is not
//! modelled yet; every region is simulated here.

use battlegrid_protocol::messages::MAX_NAME_LEN;
use battlegrid_protocol::{EntityState, PlayerId, Position, RegionId, encode_entity_state};
use bevy_ecs::batching::BatchingStrategy;
use bevy_ecs::prelude::*;

use crate::interest::Roster;
use crate::map::{Bounds, MapSpec};
use crate::movement::Motion;
use crate::outbox::Envelope;
use crate::player::{Directory, Pos};
use crate::spatial::SpatialIndex;

/// Identity and geometry of a region entity.
#[derive(Debug, Clone, Component)]
pub struct Region {
    /// Its id (`row * cols + col`).
    pub id: RegionId,
    /// Its bounds on the map.
    pub bounds: Bounds,
}

/// A player another player has in view, as last told to the watcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// Who.
    pub id: PlayerId,
    /// The position the watcher was last told.
    pub at: Position,
}

/// A display name stored inline (names are at most [`MAX_NAME_LEN`] bytes),
/// so that copying a region's names is one contiguous copy and reading one
/// touches no other allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineName {
    len: u8,
    bytes: [u8; MAX_NAME_LEN],
}

impl InlineName {
    /// `name`, cut to at most [`MAX_NAME_LEN`] bytes at a character boundary
    /// (joins with longer names are refused before they get here).
    pub fn new(name: &str) -> Self {
        let mut end = name.len().min(MAX_NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; MAX_NAME_LEN];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        Self {
            len: end as u8,
            bytes,
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Always a prefix of a `&str` cut at a character boundary.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for InlineName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// A player as its region keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The player.
    pub id: PlayerId,
    /// Its entity.
    pub entity: Entity,
    /// Where the region's index has it, `None` until first indexed. Needed
    /// because an R-tree finds entries to remove by position.
    pub indexed_at: Option<Position>,
    /// Where the players it sees (its area of interest) are kept; read it
    /// with [`Members::view`].
    pub view: View,
    /// Its display name, for introducing it to players that start seeing it.
    pub name: InlineName,
}

/// Where a member's view, the players it sees sorted by id, is stored.
///
/// Views live in one array per region, rewritten by each Interest phase in
/// the order players are processed, so the next tick reads them nearly
/// sequentially instead of chasing one allocation per player (that cache
/// miss was the largest single cost of the phase). A member handed to
/// another region carries a copy until that region stores it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum View {
    /// Not computed yet: the player just joined.
    #[default]
    Empty,
    /// `len` entries from `start` in its region's view array.
    Stored {
        /// First entry.
        start: u32,
        /// Number of entries.
        len: u32,
    },
    /// Carried over from the previous region on handoff.
    Carried(Vec<Seen>),
}

impl View {
    /// The view's entries, given its region's view array.
    pub fn resolve<'a>(&'a self, views: &'a [Seen]) -> &'a [Seen] {
        match self {
            View::Empty => &[],
            View::Stored { start, len } => {
                let start = *start as usize;
                views.get(start..start + *len as usize).unwrap_or(&[])
            }
            View::Carried(seen) => seen,
        }
    }
}

/// The players of a region, sorted by id so that everything iterating them
/// does so in a deterministic order.
#[derive(Debug, Default, Component)]
pub struct Members {
    list: Vec<Member>,
    /// Set when a member was added or removed since the Index phase last
    /// ran: member slots shifted, so the index's tags must be rebuilt.
    changed: bool,
    /// The members' views (see [`View::Stored`]).
    views: Vec<Seen>,
}

impl Members {
    /// All members, by increasing id.
    pub fn iter(&self) -> std::slice::Iter<'_, Member> {
        self.list.iter()
    }

    /// All members, mutably, by increasing id.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Member> {
        self.list.iter_mut()
    }

    /// All members as a mutable slice, for processing them in another
    /// order than by id, and the view array their `View::Stored` ranges
    /// point into. Callers must not change ids.
    pub(crate) fn parts_mut(&mut self) -> (&mut [Member], &[Seen]) {
        (&mut self.list, &self.views)
    }

    /// Installs a new view array (the members' `View::Stored` ranges must
    /// point into it) and hands back the old one for reuse.
    pub(crate) fn swap_views(&mut self, views: &mut Vec<Seen>) {
        std::mem::swap(&mut self.views, views);
    }

    /// The players `member` (one of these members) sees, sorted by id.
    pub fn view<'a>(&'a self, member: &'a Member) -> &'a [Seen] {
        member.view.resolve(&self.views)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds `member`, replacing a member with the same id.
    pub fn insert(&mut self, member: Member) {
        self.changed = true;
        match self.list.binary_search_by_key(&member.id, |m| m.id) {
            Ok(i) => self.list[i] = member,
            Err(i) => self.list.insert(i, member),
        }
    }

    /// Removes and returns the member `id`.
    pub fn remove(&mut self, id: PlayerId) -> Option<Member> {
        let i = self.list.binary_search_by_key(&id, |m| m.id).ok()?;
        self.changed = true;
        let mut member = self.list.remove(i);
        if let View::Stored { .. } = member.view {
            member.view = View::Carried(self.view(&member).to_vec());
        }
        Some(member)
    }

    /// Removes the members whose ids are in `ids` (sorted, ascending) in one
    /// pass and returns them in id order; ids that are not members are
    /// skipped. Cheaper than [`Members::remove`] per id when several leave
    /// at once: the list is rewritten once instead of shifted per removal.
    pub fn remove_many(&mut self, ids: &[PlayerId]) -> Vec<Member> {
        let mut removed = Vec::with_capacity(ids.len());
        if ids.is_empty() {
            return removed;
        }
        self.changed = true;
        let old = std::mem::take(&mut self.list);
        self.list.reserve(old.len().saturating_sub(ids.len()));
        let mut k = 0;
        for mut member in old {
            while k < ids.len() && ids[k] < member.id {
                k += 1;
            }
            if k < ids.len() && ids[k] == member.id {
                if let View::Stored { .. } = member.view {
                    member.view = View::Carried(self.view(&member).to_vec());
                }
                removed.push(member);
            } else {
                self.list.push(member);
            }
        }
        removed
    }

    /// Removes every member and returns them by id, each carrying its view
    /// (used when the map is swapped and all regions are rebuilt).
    pub fn drain(&mut self) -> Vec<Member> {
        self.changed = true;
        let mut all = std::mem::take(&mut self.list);
        for member in &mut all {
            if let View::Stored { .. } = member.view {
                member.view = View::Carried(member.view.resolve(&self.views).to_vec());
            }
        }
        self.views.clear();
        all
    }

    /// Adds `arrivals` (sorted by id, ascending) in one merge pass; an
    /// arrival replaces a member with the same id.
    pub fn insert_many(&mut self, arrivals: Vec<Member>) {
        if arrivals.is_empty() {
            return;
        }
        self.changed = true;
        let old = std::mem::take(&mut self.list);
        self.list.reserve(old.len() + arrivals.len());
        let mut old = old.into_iter().peekable();
        for arrival in arrivals {
            while let Some(m) = old.next_if(|m| m.id < arrival.id) {
                self.list.push(m);
            }
            old.next_if(|m| m.id == arrival.id);
            self.list.push(arrival);
        }
        self.list.extend(old);
    }

    /// The member `id`.
    pub fn get(&self, id: PlayerId) -> Option<&Member> {
        let i = self.list.binary_search_by_key(&id, |m| m.id).ok()?;
        Some(&self.list[i])
    }
}

/// The region's R-tree of member positions, rebuilt in the Index phase.
#[derive(Debug, Default, Component)]
pub struct RegionIndex(pub SpatialIndex);

/// Messages a region's parallel work produced this tick, merged into the
/// tick's outbox in region-id order so the result does not depend on which
/// thread ran which region.
#[derive(Debug, Default, Component)]
pub struct RegionOutbox(pub Vec<Envelope>);

/// How to split regions into parallel tasks: about `PLAYERS_PER_TASK`
/// players' worth of regions per task, so a small world runs as one task
/// (handing work to other threads costs more than it saves there) and a
/// large one is spread evenly over every core.
pub(crate) fn region_batching(players: usize, regions: usize) -> BatchingStrategy {
    const PLAYERS_PER_TASK: usize = 2_000;
    let per_region = players.div_ceil(regions.max(1)).max(1);
    BatchingStrategy::fixed(
        PLAYERS_PER_TASK
            .div_ceil(per_region)
            .clamp(1, regions.max(1)),
    )
}

/// Region entities by region id.
#[derive(Debug, Default, Resource)]
pub struct RegionDirectory(pub Vec<Entity>);

impl RegionDirectory {
    /// The entity of region `id`. Ids come from the map, so they are valid.
    pub fn entity(&self, id: RegionId) -> Entity {
        self.0[id.0 as usize]
    }
}

/// Spawns one entity per region of `map` and records them.
pub fn spawn_regions(world: &mut World, map: &MapSpec) {
    let mut directory = RegionDirectory::default();
    for i in 0..map.region_count() {
        let id = RegionId(i as u32);
        let bounds = map
            .region_bounds(id)
            .expect("ids below region_count are valid");
        let entity = world
            .spawn((
                Region { id, bounds },
                Members::default(),
                RegionIndex::default(),
                RegionOutbox::default(),
                Roster::default(),
            ))
            .id();
        directory.0.push(entity);
    }
    world.insert_resource(directory);
}

/// Index phase: brings every region's R-tree and [`Roster`] up to date with
/// its members, regions in parallel.
///
/// Removals were done eagerly by leave and handoff. Each point is tagged
/// with its member's slot, so when membership changed (slots shifted), or so
/// many members moved that one bulk load beats relocating them one by one
/// (a relocation is a removal, i.e. a tree descent, plus an insertion), the
/// tree is rebuilt; otherwise moved members are relocated.
pub fn update_indices(
    mut regions: Query<'_, '_, (&mut Members, &mut RegionIndex, &mut Roster)>,
    positions: Query<'_, '_, (&Pos, &Motion)>,
    directory: Res<'_, RegionDirectory>,
    players: Res<'_, Directory>,
) {
    let batching = region_batching(players.len(), directory.0.len());
    regions.par_iter_mut().batching_strategy(batching).for_each(
        |(mut members, mut index, mut roster)| {
            let members = &mut *members;
            let roster = &mut *roster;
            let membership_changed = std::mem::take(&mut members.changed);
            if membership_changed {
                roster.names.clear();
                roster.names.extend(members.iter().map(|m| m.name));
            }
            // One (random-access) component read per member; everything
            // below works from this list.
            roster.records.clear();
            roster.walking.clear();
            let mut points = Vec::with_capacity(members.len());
            let mut stale = 0;
            for (slot, m) in members.iter().enumerate() {
                let (at, walking) = position(&positions, m);
                roster.walking.push(walking);
                let moved = Some(at) != m.indexed_at;
                stale += usize::from(moved);
                roster.records.push(moved.then(|| {
                    encode_entity_state(&EntityState {
                        id: m.id,
                        position: at,
                    })
                }));
                points.push((m.id, at, slot as u32));
            }
            if membership_changed || stale * 4 >= members.len().max(1) {
                for (m, point) in members.iter_mut().zip(&points) {
                    m.indexed_at = Some(point.1);
                }
                index.0 = SpatialIndex::bulk_load_tagged(points);
            } else if stale > 0 {
                for (m, &(id, at, slot)) in members.iter_mut().zip(&points) {
                    if let Some(from) = m.indexed_at
                        && from != at
                    {
                        index.0.relocate_tagged(id, from, at, slot);
                        m.indexed_at = Some(at);
                    }
                }
            }
        },
    );
}

/// Moves every region's buffered messages into the tick's outbox, in region
/// id order.
pub fn flush_region_outboxes(
    directory: Res<'_, RegionDirectory>,
    mut outboxes: Query<'_, '_, &mut RegionOutbox>,
    mut out: ResMut<'_, crate::outbox::Outputs>,
) {
    let total: usize = directory
        .0
        .iter()
        .filter_map(|&e| outboxes.get(e).ok())
        .map(|b| b.0.len())
        .sum();
    out.outbox.reserve(total);
    for &entity in &directory.0 {
        if let Ok(mut buffered) = outboxes.get_mut(entity)
            && !buffered.0.is_empty()
        {
            out.outbox.append(&mut buffered.0);
        }
    }
}

/// A member's position, and whether it holds a non-zero intent (it walks,
/// or pushes against a wall).
fn position(positions: &Query<'_, '_, (&Pos, &Motion)>, member: &Member) -> (Position, bool) {
    // Members always have a `Pos` and a `Motion`: they are removed from
    // their region in the same system that despawns them.
    positions
        .get(member.entity)
        .map(|(p, m)| (p.0, m.step_x != 0.0 || m.step_y != 0.0))
        .unwrap_or_default()
}

/// Adds the Index phase, and the merge of region outboxes at the end of the
/// Interest phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    use crate::schedule::TickPhase;
    schedule.add_systems((
        update_indices.in_set(TickPhase::Index),
        flush_region_outboxes
            .in_set(TickPhase::Interest)
            .after(crate::interest::sync_interest),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inline names keep names up to the limit and cut longer ones at a
    /// character boundary, never producing invalid UTF-8.
    #[test]
    fn inline_names() {
        assert_eq!(InlineName::new("alice").as_str(), "alice");
        assert_eq!(InlineName::new("").as_str(), "");
        let long = "é".repeat(MAX_NAME_LEN);
        let cut = InlineName::new(&long);
        assert_eq!(cut.as_str(), "é".repeat(MAX_NAME_LEN / 2));
        assert_eq!(
            InlineName::new(&"a".repeat(MAX_NAME_LEN)).as_str().len(),
            MAX_NAME_LEN
        );
    }

    /// Batch removal and insertion keep the list sorted and agree with the
    /// one-at-a-time versions.
    #[test]
    fn batch_removal_and_insertion() {
        let member = |id| Member {
            id: PlayerId(id),
            entity: Entity::PLACEHOLDER,
            indexed_at: None,
            view: View::Empty,
            name: InlineName::new("x"),
        };
        let mut members = Members::default();
        members.insert_many((0..10).map(|i| member(i * 2)).collect());
        let removed = members.remove_many(&[PlayerId(1), PlayerId(4), PlayerId(8), PlayerId(30)]);
        assert_eq!(
            removed.iter().map(|m| m.id.0).collect::<Vec<_>>(),
            vec![4, 8]
        );
        members.insert_many(vec![member(3), member(6), member(99)]);
        let ids: Vec<_> = members.iter().map(|m| m.id.0).collect();
        assert_eq!(ids, vec![0, 2, 3, 6, 10, 12, 14, 16, 18, 99]);
    }

    /// A removed member takes its view along, and slots shift.
    #[test]
    fn removal_carries_the_view() {
        let mut members = Members::default();
        for id in [3, 1, 2] {
            members.insert(Member {
                id: PlayerId(id),
                entity: Entity::PLACEHOLDER,
                indexed_at: None,
                view: View::Empty,
                name: InlineName::new("x"),
            });
        }
        assert_eq!(
            members.iter().map(|m| m.id.0).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        let seen = Seen {
            id: PlayerId(9),
            at: Position::new(1.0, 2.0),
        };
        let mut views = vec![seen];
        members.swap_views(&mut views);
        members.list[1].view = View::Stored { start: 0, len: 1 };
        let removed = members.remove(PlayerId(2)).unwrap();
        assert_eq!(removed.view, View::Carried(vec![seen]));
        assert!(members.changed);
        assert_eq!(members.len(), 2);
    }
}
