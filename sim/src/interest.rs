//! Area of interest: who sees whom, and the messages that keep each client's
//! view in sync.
//!
//! Every tick, for every player, the set of players within `view_radius`
//! (inclusive, the player itself excluded) is recomputed from the region
//! indices and diffed with what the player was last told:
//! newcomers arrive in `EntitiesEntered` (reliable), those gone, out of
//! range or out of the game, in `EntitiesLeft` (reliable), and those still in
//! view whose position changed in `StateUpdate` (datagram, split to fit
//! [`DATAGRAM_BUDGET`]). A player whose view did not change gets nothing.
//!
//! Each mover's `EntityState` record is encoded once per tick (in the Index
//! phase, [`RegionMovers`]) and spliced into every watcher's `StateUpdate`.
//! Regions run in parallel; each buffers its messages in its
//! [`RegionOutbox`], merged in region-id order afterwards.

use battlegrid_protocol::{
    DATAGRAM_BUDGET, EncodedEntityState, EntityInfo, EntityState, PlayerId, Position,
    ServerMessage, encode_entity_state, split_state_update,
};
use bevy_ecs::prelude::*;
use rustc_hash::FxHashMap;

use crate::map::MapSpec;
use crate::outbox::{Delivery, Envelope, encode};
use crate::player::Directory;
use crate::region::{Members, Region, RegionDirectory, RegionIndex, RegionOutbox, Seen};
use crate::schedule::Tick;
use crate::settings::SimSettings;

/// Most entities listed in one `EntitiesEntered` (about 50 bytes each at
/// most, so a message stays far below the frame limit).
pub const ENTERED_CHUNK: usize = 512;
/// Most ids listed in one `EntitiesLeft` (at most 9 bytes each).
pub const LEFT_CHUNK: usize = 4096;

/// The encoded `EntityState` of every member of a region whose position
/// changed this tick, filled in the Index phase.
#[derive(Debug, Default, Component)]
pub struct RegionMovers(pub FxHashMap<PlayerId, EncodedEntityState>);

/// Per-thread buffers, reused across members so the hot loop does not
/// allocate.
#[derive(Default)]
struct Scratch {
    near: Vec<(PlayerId, Position, u32)>,
    next: Vec<Seen>,
    entered: Vec<EntityInfo>,
    left: Vec<PlayerId>,
    moved: Vec<EncodedEntityState>,
}

/// Interest phase: recomputes every player's view and queues the messages,
/// regions in parallel.
#[allow(clippy::too_many_arguments)]
pub fn sync_interest(
    tick: Res<'_, Tick>,
    map: Res<'_, MapSpec>,
    settings: Res<'_, SimSettings>,
    directory: Res<'_, Directory>,
    region_directory: Res<'_, RegionDirectory>,
    indices: Query<'_, '_, &RegionIndex>,
    movers: Query<'_, '_, &RegionMovers>,
    mut regions: Query<'_, '_, (&Region, &mut Members, &mut RegionOutbox)>,
) {
    let tick = tick.0;
    let radius = settings.view_radius;
    let margin = settings.handoff_margin;
    regions.par_iter_mut().for_each_init(
        Scratch::default,
        |scratch, (_, mut members, mut outbox)| {
            let outbox = &mut outbox.0;
            // The movers of the regions around the current member; at most a
            // handful, indexed by the `u32` stored with each neighbour.
            let mut near_movers: Vec<Option<&RegionMovers>> = Vec::with_capacity(16);
            for member in members.iter_mut() {
                let Some(center) = member.indexed_at else {
                    continue;
                };
                scratch.near.clear();
                near_movers.clear();
                map.regions_near(center, radius, margin, |region| {
                    let entity = region_directory.entity(region);
                    let Ok(index) = indices.get(entity) else {
                        return;
                    };
                    let slot = near_movers.len() as u32;
                    near_movers.push(movers.get(entity).ok());
                    index.0.for_each_within(center, radius, |id, at| {
                        if id != member.id {
                            scratch.near.push((id, at, slot));
                        }
                    });
                });
                scratch.near.sort_unstable_by_key(|n| n.0);
                diff(scratch, &member.visible, &near_movers, &directory);
                std::mem::swap(&mut member.visible, &mut scratch.next);
                emit(scratch, member.id, tick, outbox);
            }
        },
    );
}

/// Merges the sorted old view with the sorted new neighbours into
/// `scratch.next`, collecting entered, left and moved players.
fn diff(
    scratch: &mut Scratch,
    old: &[Seen],
    near_movers: &[Option<&RegionMovers>],
    directory: &Directory,
) {
    let Scratch {
        near,
        next,
        entered,
        left,
        moved,
    } = scratch;
    next.clear();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < near.len() {
        let old_id = old.get(i).map(|s| s.id);
        let new_id = near.get(j).map(|n| n.0);
        match (old_id, new_id) {
            (Some(o), Some(n)) if o == n => {
                let (id, at, slot) = near[j];
                if old[i].at != at {
                    let record = near_movers[slot as usize]
                        .and_then(|m| m.0.get(&id).copied())
                        .unwrap_or_else(|| encode_entity_state(&EntityState { id, position: at }));
                    moved.push(record);
                }
                next.push(Seen { id, at });
                i += 1;
                j += 1;
            }
            (Some(o), n) if n.is_none_or(|n| o < n) => {
                left.push(o);
                i += 1;
            }
            _ => {
                let (id, at, _) = near[j];
                // Every indexed player is in the directory: leave removes
                // both in the same system.
                let name = directory
                    .get(id)
                    .map(|l| l.name.to_string())
                    .unwrap_or_default();
                entered.push(EntityInfo {
                    id,
                    name,
                    position: at,
                });
                next.push(Seen { id, at });
                j += 1;
            }
        }
    }
}

/// Queues the messages one watcher is owed and empties the lists.
fn emit(scratch: &mut Scratch, to: PlayerId, tick: u64, outbox: &mut Vec<Envelope>) {
    for ids in scratch.left.chunks(LEFT_CHUNK) {
        let bytes = encode(&ServerMessage::EntitiesLeft { ids: ids.to_vec() });
        outbox.push(Envelope {
            to,
            delivery: Delivery::Reliable,
            bytes,
        });
    }
    scratch.left.clear();
    if !scratch.entered.is_empty() {
        let mut entered = std::mem::take(&mut scratch.entered);
        while !entered.is_empty() {
            let rest = entered.split_off(entered.len().min(ENTERED_CHUNK));
            let bytes = encode(&ServerMessage::EntitiesEntered { entities: entered });
            outbox.push(Envelope {
                to,
                delivery: Delivery::Reliable,
                bytes,
            });
            entered = rest;
        }
    }
    split_state_update(tick, scratch.moved.iter(), DATAGRAM_BUDGET, |bytes| {
        outbox.push(Envelope {
            to,
            delivery: Delivery::Datagram,
            bytes,
        })
    });
    scratch.moved.clear();
}

/// Adds the Interest phase's sync.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(sync_interest.in_set(crate::schedule::TickPhase::Interest));
}
