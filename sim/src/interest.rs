//! Area of interest: who sees whom, and the messages that keep each client's
//! view in sync.
//!
//! Every tick, for every player, the set of players within `view_radius`
//! (inclusive, the player itself excluded) is recomputed from the region
//! indices and diffed with what the player was last told:
//! newcomers arrive in `EntitiesEntered` (reliable), those gone, out of
//! range or out of the game, in `EntitiesLeft` (reliable), and those still in
//! view whose position changed in `StateUpdate` (datagram, split to fit
//! [`DATAGRAM_BUDGET`]). A player holding a non-zero intent also finds its
//! own record in its `StateUpdate`, every tick, so a client learns its
//! authoritative position while it walks, also when a wall stops it. A
//! player whose view did not change and who stands still gets nothing.
//!
//! Each mover's `EntityState` record is encoded once per tick (in the Index
//! phase, [`Roster`]) and spliced into every watcher's `StateUpdate`.
//! Regions run in parallel; each buffers its messages in its
//! [`RegionOutbox`], merged in region-id order afterwards. Within a region,
//! players are processed cell by cell (see [`sync_interest`]), so the order
//! of their messages is deterministic but not by id.

use battlegrid_protocol::{
    DATAGRAM_BUDGET, EncodedEntityState, EntityInfo, EntityState, PlayerId, Position,
    ServerMessage, encode_entity_state, split_state_update,
};
use bevy_ecs::prelude::*;

use crate::map::MapSpec;
use crate::outbox::{Arena, Delivery, Envelope};
use crate::player::Directory;
use crate::region::{
    InlineName, Member, Members, Region, RegionDirectory, RegionIndex, RegionOutbox, Seen, View,
    region_batching,
};
use crate::schedule::Tick;
use crate::settings::SimSettings;

/// Most entities listed in one `EntitiesEntered` (about 50 bytes each at
/// most, so a message stays far below the frame limit).
pub const ENTERED_CHUNK: usize = 512;
/// Most ids listed in one `EntitiesLeft` (at most 9 bytes each).
pub const LEFT_CHUNK: usize = 4096;

/// Players per cell the interest phase aims for when grouping a region's
/// players for shared box queries (see [`sync_interest`]); measured with
/// the `tick` benchmark at 10k and 50k players.
const PLAYERS_PER_CELL: f32 = 16.0;

/// Per-slot data of a region's members that other regions' interest work
/// reads while the region's own member list is being updated: each member's
/// encoded `EntityState` if it moved this tick, and its name (needed when
/// it enters someone's view). Filled in the Index phase; slots are the tags
/// of the region's spatial index.
#[derive(Debug, Default, Component)]
pub struct Roster {
    /// By member slot: the encoded record of members that moved this tick.
    pub records: Vec<Option<EncodedEntityState>>,
    /// By member slot: the member's name.
    pub names: Vec<InlineName>,
    /// By member slot: whether the member holds a non-zero intent, and so
    /// is told its own position this tick.
    pub walking: Vec<bool>,
}

/// A player near the cell being processed.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    id: PlayerId,
    at: Position,
    /// Which of the nearby regions' rosters describes it.
    roster: u32,
    /// Its slot in that roster.
    slot: u32,
}

/// Per-thread buffers, reused across members so the hot loop does not
/// allocate.
#[derive(Default)]
struct Scratch {
    /// (cell key, member index) of the region's members.
    order: Vec<(u64, u32)>,
    /// Players near the current cell.
    candidates: Vec<Candidate>,
    /// The candidates' coordinates, apart, for the vectorised distance loop.
    xs: Vec<f32>,
    ys: Vec<f32>,
    /// Squared distances of the candidates to the current member.
    d2: Vec<f32>,
    /// The current member's neighbours, sorted by id.
    near: Vec<Candidate>,
    /// The region's new view array, filled as members are processed.
    views: Vec<Seen>,
    entered: Vec<EntityInfo>,
    left: Vec<PlayerId>,
    moved: Vec<EncodedEntityState>,
    arena: Arena,
}

/// Interest phase: recomputes every player's view and queues the messages,
/// regions in parallel.
///
/// Rather than one index query per player, a region's players are grouped
/// by cells (at least `view_radius` wide, wider in sparse regions so a cell
/// holds several players) and each cell makes one box query (the cell's
/// players' bounding box grown by the radius) over the nearby regions'
/// R-trees. The candidates are sorted by id once; each player of the cell
/// then keeps those passing the exact radius test, which yields its
/// neighbours already sorted for the diff. The result is exactly that of a
/// per-player radius query, at a fraction of the tree walks and sorts.
#[allow(clippy::too_many_arguments)]
pub fn sync_interest(
    tick: Res<'_, Tick>,
    map: Res<'_, MapSpec>,
    settings: Res<'_, SimSettings>,
    region_directory: Res<'_, RegionDirectory>,
    indices: Query<'_, '_, &RegionIndex>,
    rosters_q: Query<'_, '_, &Roster>,
    directory: Res<'_, Directory>,
    mut regions: Query<'_, '_, (Entity, &Region, &mut Members, &mut RegionOutbox)>,
) {
    let tick = tick.0;
    let radius = settings.view_radius;
    let margin = settings.handoff_margin;
    // Cells narrower than a few units would only multiply queries.
    let min_cell = radius.max(8.0);
    let batching = region_batching(directory.len(), region_directory.0.len());
    regions
        .par_iter_mut()
        .batching_strategy(batching)
        .for_each_init(
            Scratch::default,
            |scratch, (entity, region, mut region_members, mut outbox)| {
                let outbox = &mut outbox.0;
                let own_roster = rosters_q.get(entity).ok();
                // Cells hold about `PLAYERS_PER_CELL` players: in sparse
                // regions one box query then still serves several players.
                let (w, h) = (
                    region.bounds.max.x - region.bounds.min.x,
                    region.bounds.max.y - region.bounds.min.y,
                );
                let per_player = w * h / region_members.len().max(1) as f32;
                let cell = (per_player * PLAYERS_PER_CELL).sqrt().max(min_cell);
                let (members, views) = region_members.parts_mut();
                scratch.views.clear();
                // The rosters of the regions around the current cell, indexed
                // by each candidate's `roster` field.
                let mut rosters: Vec<Option<&Roster>> = Vec::with_capacity(16);
                scratch.order.clear();
                for (i, m) in members.iter().enumerate() {
                    if let Some(at) = m.indexed_at {
                        // Positions are inside the map (x, y >= 0), so the casts
                        // only truncate.
                        let key = (((at.y / cell) as u64) << 32) | (at.x / cell) as u64;
                        scratch.order.push((key, i as u32));
                    }
                }
                // By cell, then by member index (that is, by id) within a cell.
                scratch.order.sort_unstable();
                let mut start = 0;
                while start < scratch.order.len() {
                    let key = scratch.order[start].0;
                    let end = start
                        + scratch.order[start..]
                            .iter()
                            .take_while(|(k, _)| *k == key)
                            .count();
                    gather_candidates(
                        scratch,
                        members,
                        start..end,
                        radius,
                        margin,
                        &map,
                        &region_directory,
                        &indices,
                        &rosters_q,
                        &mut rosters,
                    );
                    for o in start..end {
                        let slot = scratch.order[o].1 as usize;
                        let member = &mut members[slot];
                        let center = member.indexed_at.unwrap_or_default();
                        if let Some(own) = own_roster
                            && own.walking.get(slot) == Some(&true)
                        {
                            // A walking player hears of itself too, moved or
                            // stopped by a wall, so its prediction cannot drift.
                            let record = own.records[slot].unwrap_or_else(|| {
                                encode_entity_state(&EntityState {
                                    id: member.id,
                                    position: center,
                                })
                            });
                            scratch.moved.push(record);
                        }
                        select_within(scratch, member.id, center, radius * radius);
                        let old = member.view.resolve(views);
                        let stored = scratch.views.len();
                        diff(scratch, old, &rosters);
                        member.view = View::Stored {
                            start: stored as u32,
                            len: (scratch.views.len() - stored) as u32,
                        };
                        emit(scratch, member.id, tick, outbox);
                    }
                    start = end;
                }
                region_members.swap_views(&mut scratch.views);
            },
        );
}

/// Collects, sorted by id, every indexed player in the box that covers the
/// view discs of the members `order[range]`.
#[allow(clippy::too_many_arguments)]
fn gather_candidates<'a>(
    scratch: &mut Scratch,
    members: &[Member],
    range: std::ops::Range<usize>,
    radius: f32,
    margin: f32,
    map: &MapSpec,
    region_directory: &RegionDirectory,
    indices: &Query<'_, '_, &RegionIndex>,
    rosters_q: &'a Query<'_, '_, &Roster>,
    rosters: &mut Vec<Option<&'a Roster>>,
) {
    let (mut lo, mut hi) = (
        Position::new(f32::INFINITY, f32::INFINITY),
        Position::new(f32::NEG_INFINITY, f32::NEG_INFINITY),
    );
    for &(_, i) in &scratch.order[range] {
        let at = members[i as usize].indexed_at.unwrap_or_default();
        lo = Position::new(lo.x.min(at.x), lo.y.min(at.y));
        hi = Position::new(hi.x.max(at.x), hi.y.max(at.y));
    }
    // Grown by a hair more than the radius so float rounding can never drop
    // a point the exact test would accept.
    let reach = radius + radius * 1e-5 + 1e-3;
    let lo = Position::new(lo.x - reach, lo.y - reach);
    let hi = Position::new(hi.x + reach, hi.y + reach);
    scratch.candidates.clear();
    rosters.clear();
    map.regions_overlapping(lo, hi, margin, |region| {
        let entity = region_directory.entity(region);
        let Ok(index) = indices.get(entity) else {
            return;
        };
        let slot = rosters.len() as u32;
        rosters.push(rosters_q.get(entity).ok());
        index.0.for_each_in_box_tagged(lo, hi, |id, at, tag| {
            scratch.candidates.push(Candidate {
                id,
                at,
                roster: slot,
                slot: tag,
            })
        });
    });
    scratch.candidates.sort_unstable_by_key(|c| c.id);
    scratch.xs.clear();
    scratch.ys.clear();
    scratch.xs.extend(scratch.candidates.iter().map(|c| c.at.x));
    scratch.ys.extend(scratch.candidates.iter().map(|c| c.at.y));
}

/// Fills `scratch.near` with the candidates within `sqrt(r2)` of `center`,
/// except `me`, keeping their id order.
fn select_within(scratch: &mut Scratch, me: PlayerId, center: Position, r2: f32) {
    // Squared distances first, in a loop the compiler vectorises; the
    // arithmetic is exactly `Position::distance_squared`'s, so the result
    // matches the spatial index's own predicate bit for bit.
    scratch.d2.clear();
    scratch.d2.extend(
        scratch
            .xs
            .iter()
            .zip(&scratch.ys)
            .map(|(&x, &y)| (x - center.x) * (x - center.x) + (y - center.y) * (y - center.y)),
    );
    // Branch-free selection: every candidate is written, only those that
    // pass advance the cursor (about a third pass, so a branch would
    // mispredict often).
    let near = &mut scratch.near;
    near.clear();
    near.resize(
        scratch.candidates.len(),
        Candidate {
            id: PlayerId(0),
            at: Position::default(),
            roster: 0,
            slot: 0,
        },
    );
    let mut kept = 0;
    for (candidate, &d2) in scratch.candidates.iter().zip(&scratch.d2) {
        near[kept] = *candidate;
        kept += usize::from((d2 <= r2) & (candidate.id != me));
    }
    near.truncate(kept);
}

/// Merges the sorted old view with the sorted new neighbours into
/// a new run at the end of `scratch.views`, collecting entered, left and
/// moved players.
fn diff(scratch: &mut Scratch, old: &[Seen], rosters: &[Option<&Roster>]) {
    let Scratch {
        near,
        views: next,
        entered,
        left,
        moved,
        ..
    } = scratch;
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < near.len() {
        let old_id = old.get(i).map(|s| s.id);
        let new_id = near.get(j).map(|n| n.id);
        match (old_id, new_id) {
            (Some(o), Some(n)) if o == n => {
                let c = near[j];
                if old[i].at != c.at {
                    // Every mover's record was encoded in the Index phase;
                    // encoding here is only a fallback.
                    let record = rosters[c.roster as usize]
                        .and_then(|r| r.records.get(c.slot as usize).copied().flatten())
                        .unwrap_or_else(|| {
                            encode_entity_state(&EntityState {
                                id: c.id,
                                position: c.at,
                            })
                        });
                    moved.push(record);
                }
                next.push(Seen { id: c.id, at: c.at });
                i += 1;
                j += 1;
            }
            (Some(o), n) if n.is_none_or(|n| o < n) => {
                left.push(o);
                i += 1;
            }
            _ => {
                let c = near[j];
                let name = rosters[c.roster as usize]
                    .and_then(|r| r.names.get(c.slot as usize))
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_default();
                entered.push(EntityInfo {
                    id: c.id,
                    name,
                    position: c.at,
                });
                next.push(Seen { id: c.id, at: c.at });
                j += 1;
            }
        }
    }
}

/// Queues the messages one watcher is owed and empties the lists.
fn emit(scratch: &mut Scratch, to: PlayerId, tick: u64, outbox: &mut Vec<Envelope>) {
    let Scratch {
        entered,
        left,
        moved,
        arena,
        ..
    } = scratch;
    let mut push = |delivery, bytes| {
        outbox.push(Envelope {
            to,
            delivery,
            bytes,
        })
    };
    if left.len() <= LEFT_CHUNK {
        if !left.is_empty() {
            // The list is lent to the message and taken back, so the
            // common case allocates nothing.
            let message = ServerMessage::EntitiesLeft {
                ids: std::mem::take(left),
            };
            push(Delivery::Reliable, arena.encode(&message));
            if let ServerMessage::EntitiesLeft { ids } = message {
                *left = ids;
            }
        }
    } else {
        for ids in left.chunks(LEFT_CHUNK) {
            let bytes = arena.encode(&ServerMessage::EntitiesLeft { ids: ids.to_vec() });
            push(Delivery::Reliable, bytes);
        }
    }
    left.clear();
    while !entered.is_empty() {
        let rest = entered.split_off(entered.len().min(ENTERED_CHUNK));
        let chunk = std::mem::replace(entered, rest);
        let bytes = arena.encode(&ServerMessage::EntitiesEntered { entities: chunk });
        push(Delivery::Reliable, bytes);
    }
    split_state_update(tick, moved.iter(), DATAGRAM_BUDGET, |bytes| {
        push(Delivery::Datagram, arena.copy(&bytes))
    });
    moved.clear();
}

/// Adds the Interest phase's sync.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(sync_interest.in_set(crate::schedule::TickPhase::Interest));
}
