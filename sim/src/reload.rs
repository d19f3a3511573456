//! Swapping a running world's map between two ticks (a designer saved a new
//! version of it), and telling every player about it in the next tick.
//!
//! [`replace_map`] runs outside the schedule, between two `step()`s: it
//! takes every player out of the old region entities, moves the ones the new
//! map no longer lets stand where they are (outside it, or on a tile that is
//! now blocked) to the centre of the nearest free tile, spawns the new map's
//! region entities and puts every player into the region containing its
//! position. Ids, names, intents and views are kept: each member carries its
//! view over as after a handoff, so the next Interest phase sends only the
//! differences (no second `EntitiesEntered` for a player still in view).
//! The next tick's Move phase sends each player one `MapChanged`
//! ([`announce_map_changes`]).
//!
//! What it leaves out: parsing and validating map files (the server does
//! that off the tick thread; a [`MapSpec`] is valid by construction) and
//! moving players between maps (the server's `Leave` here and `Join` there).

use std::collections::BTreeMap;

use battlegrid_protocol::{PlayerId, Position, RegionId, ServerMessage};
use bevy_ecs::prelude::*;

use crate::map::MapSpec;
use crate::movement::Motion;
use crate::outbox::{Outputs, encode};
use crate::player::{InRegion, Pos};
use crate::region::{Member, Members, RegionDirectory, spawn_regions};

/// A player [`replace_map`] moved because the new map does not let it stand
/// where it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relocation {
    /// Who.
    pub id: PlayerId,
    /// Where it stood on the old map.
    pub from: Position,
    /// Where it stands now: the centre of the nearest free tile.
    pub to: Position,
    /// Its region on the old map.
    pub from_region: RegionId,
    /// Its region on the new map.
    pub to_region: RegionId,
    /// Why it had to move.
    pub why: RelocationReason,
}

/// Why a player was moved by a map swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RelocationReason {
    /// Its position is outside the new (smaller) map.
    OutsideMap,
    /// Its tile is blocked on the new map.
    TileBlocked,
}

impl RelocationReason {
    /// The sentence sent to the player in `MapChanged.reason`.
    pub fn message(self) -> &'static str {
        match self {
            RelocationReason::OutsideMap => {
                "the map was updated and you were outside it; moved to the nearest free tile"
            }
            RelocationReason::TileBlocked => {
                "the map was updated and your tile became blocked; moved to the nearest free tile"
            }
        }
    }
}

/// `MapChanged.reason` for a player the swap did not move.
pub const MAP_UPDATED: &str = "the map was updated";

/// Players owed a `MapChanged`, with the reason if they were relocated.
/// Filled by [`replace_map`], drained by the next tick's
/// [`announce_map_changes`]; two swaps between ticks merge (a relocation by
/// either is reported).
#[derive(Debug, Default, Resource)]
pub struct PendingMapChanges(pub(crate) BTreeMap<PlayerId, Option<RelocationReason>>);

/// Swaps `map` into `world` (see the module docs) and returns the players
/// that had to move, by increasing id.
pub(crate) fn replace_map(world: &mut World, map: MapSpec) -> Vec<Relocation> {
    let old = world
        .remove_resource::<RegionDirectory>()
        .unwrap_or_default();
    let mut members: Vec<Member> = Vec::new();
    for &entity in &old.0 {
        if let Some(mut region) = world.get_mut::<Members>(entity) {
            members.extend(region.drain());
        }
        world.despawn(entity);
    }
    members.sort_unstable_by_key(|m| m.id);

    let mut pending = world
        .remove_resource::<PendingMapChanges>()
        .unwrap_or_default();
    let mut relocations = Vec::new();
    let mut by_region: Vec<Vec<Member>> = (0..map.region_count()).map(|_| Vec::new()).collect();
    for mut member in members {
        let Ok(mut player) = world.get_entity_mut(member.entity) else {
            continue;
        };
        let Some(from) = player.get::<Pos>().map(|p| p.0) else {
            continue;
        };
        let from_region = player.get::<InRegion>().map_or(RegionId(0), |r| r.0);
        let why = if !map.contains(from) {
            Some(RelocationReason::OutsideMap)
        } else if map.is_blocked(from) {
            Some(RelocationReason::TileBlocked)
        } else {
            None
        };
        let to = match why {
            Some(_) => nearest_free_tile(&map, from),
            None => from,
        };
        let to_region = map.region_at(to);
        if let Some(mut pos) = player.get_mut::<Pos>() {
            pos.0 = to;
        }
        if let Some(mut region) = player.get_mut::<InRegion>() {
            region.0 = to_region;
        }
        if let Some(why) = why {
            relocations.push(Relocation {
                id: member.id,
                from,
                to,
                from_region,
                to_region,
                why,
            });
        }
        let owed = pending.0.entry(member.id).or_insert(None);
        *owed = why.or(*owed);
        // Not in any tree yet: the next Index phase indexes every member of
        // the new regions.
        member.indexed_at = None;
        by_region[to_region.0 as usize].push(member);
    }

    spawn_regions(world, &map);
    let directory = world.resource::<RegionDirectory>().0.clone();
    for (entity, arrivals) in directory.into_iter().zip(by_region) {
        if let Some(mut region) = world.get_mut::<Members>(entity) {
            region.insert_many(arrivals);
        }
    }
    world.insert_resource(map);
    world.insert_resource(pending);
    relocations
}

/// The centre of the free tile nearest to `p` (Euclidean distance; ties go
/// to the lower row, then the lower column). Positions outside the map
/// search from the nearest tile inside it.
///
/// Searches rings of tiles around `p`'s tile outwards and stops once no
/// tile of the next ring can be nearer than the best found: a tile `k`
/// rings out is at least `k - 1/2` tiles away. A valid map has a free tile
/// (its spawn points stand on one), so this always finds one; for a map
/// without any it returns `p` unchanged.
pub fn nearest_free_tile(map: &MapSpec, p: Position) -> Position {
    let (tiles_x, tiles_y) = map.tile_grid();
    let tile = map.tile_size() as f64;
    // Simulated positions are finite; anything else searches from the origin.
    let finite = |v: f32| if v.is_finite() { f64::from(v) } else { 0.0 };
    let (px, py) = (finite(p.x), finite(p.y));
    let clamp = |v: f64, tiles: u32| -> i64 {
        // `as` saturates, so far-away positions land on the grid's edge.
        ((v / tile).floor().max(0.0) as i64).min(i64::from(tiles) - 1)
    };
    let (cx, cy) = (clamp(px, tiles_x), clamp(py, tiles_y));
    let mut best: Option<(f64, i64, i64)> = None;
    let max_ring = i64::from(tiles_x.max(tiles_y));
    for k in 0..=max_ring {
        if let Some((d2, _, _)) = best {
            let floor = (k as f64 - 0.5) * tile;
            if floor > 0.0 && floor * floor > d2 {
                break;
            }
        }
        let mut consider = |tx: i64, ty: i64| {
            if tx < 0 || ty < 0 || tx >= i64::from(tiles_x) || ty >= i64::from(tiles_y) {
                return;
            }
            if map.is_tile_blocked(tx as u32, ty as u32) {
                return;
            }
            let c = map.tile_center(tx as u32, ty as u32);
            let (dx, dy) = (f64::from(c.x) - px, f64::from(c.y) - py);
            let candidate = (dx * dx + dy * dy, ty, tx);
            if best.is_none_or(|b| candidate < b) {
                best = Some(candidate);
            }
        };
        // The ring of tiles at Chebyshev distance `k`: top and bottom rows,
        // then the left and right columns between them.
        for tx in cx - k..=cx + k {
            consider(tx, cy - k);
            if k > 0 {
                consider(tx, cy + k);
            }
        }
        for ty in cy - k + 1..cy + k {
            consider(cx - k, ty);
            consider(cx + k, ty);
        }
    }
    match best {
        Some((_, ty, tx)) => map.tile_center(tx as u32, ty as u32),
        None => p,
    }
}

/// Move phase, after the move: sends each player owed one its
/// `MapChanged`, by increasing id, with its position after this tick's step
/// and the last intent applied, like a `PositionCorrected`. Players that
/// left since the swap are skipped.
pub fn announce_map_changes(
    mut pending: ResMut<'_, PendingMapChanges>,
    map: Res<'_, MapSpec>,
    directory: Res<'_, crate::player::Directory>,
    players: Query<'_, '_, (&Pos, &InRegion, &Motion)>,
    mut out: ResMut<'_, Outputs>,
) {
    if pending.0.is_empty() {
        return;
    }
    let info = map.info();
    for (id, why) in std::mem::take(&mut pending.0) {
        let Some(listed) = directory.get(id) else {
            continue;
        };
        let Ok((pos, region, motion)) = players.get(listed.entity) else {
            continue;
        };
        let message = ServerMessage::MapChanged {
            map: info.clone(),
            region: region.0,
            position: pos.0,
            seq: motion.seq,
            relocated: why.is_some(),
            reason: why
                .map_or(MAP_UPDATED, RelocationReason::message)
                .to_owned(),
        };
        out.reliable(id, encode(&message));
    }
}

/// Adds the announcement to the Move phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(
        announce_map_changes
            .in_set(crate::schedule::TickPhase::Move)
            .after(crate::movement::move_players),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every tile with the same order: distance, row, column.
    fn brute(map: &MapSpec, p: Position) -> Position {
        let (tx, ty) = map.tile_grid();
        let mut best: Option<(f64, u32, u32)> = None;
        for y in 0..ty {
            for x in 0..tx {
                if map.is_tile_blocked(x, y) {
                    continue;
                }
                let c = map.tile_center(x, y);
                let (dx, dy) = (
                    f64::from(c.x) - f64::from(p.x),
                    f64::from(c.y) - f64::from(p.y),
                );
                let candidate = (dx * dx + dy * dy, y, x);
                if best.is_none_or(|b| candidate < b) {
                    best = Some(candidate);
                }
            }
        }
        let (_, y, x) = best.unwrap();
        map.tile_center(x, y)
    }

    /// A 10x10-tile map with a walled block in the middle and a blocked
    /// top row, so nearest tiles sit in every direction and at ties.
    fn walled() -> MapSpec {
        let mut blocked = Vec::new();
        for y in 3..8 {
            for x in 2..7 {
                blocked.push((x, y));
            }
        }
        blocked.extend((0..10).map(|x| (x, 0)));
        MapSpec::new(
            "walled",
            (160, 160),
            16,
            (2, 2),
            &blocked,
            vec![Position::new(8.0, 40.0)],
        )
        .unwrap()
    }

    /// Ring search agrees with brute force at every point of a fine lattice
    /// covering the map, its edges and beyond them.
    #[test]
    fn nearest_free_tile_matches_brute_force() {
        let map = walled();
        for y in -6..=46 {
            for x in -6..=46 {
                let p = Position::new(x as f32 * 4.0, y as f32 * 4.0);
                assert_eq!(nearest_free_tile(&map, p), brute(&map, p), "from {p:?}");
            }
        }
    }

    /// Exact ties go to the lower row, then the lower column; a free tile
    /// is its own nearest.
    #[test]
    fn ties_are_broken_by_row_then_column() {
        let map = walled();
        // The centre of blocked tile (4, 5): free tiles (1, 5) and (7, 5) are
        // equally far (3 tiles), as are (4, 2) above and (4, 8) below.
        let p = map.tile_center(4, 5);
        assert_eq!(nearest_free_tile(&map, p), map.tile_center(4, 2));
        let free = Position::new(100.0, 20.0);
        assert_eq!(nearest_free_tile(&map, free), map.tile_center(6, 1));
        assert_eq!(
            nearest_free_tile(&map, Position::new(f32::NAN, f32::INFINITY)),
            brute(&map, Position::new(0.0, 0.0))
        );
    }
}
