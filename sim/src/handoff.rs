//! Region handoff with hysteresis: a player changes region only once it is
//! more than `handoff_margin` past its current region's border, so walking
//! along (or jittering across) a border does not flap between regions.
//!
//! The member record, including the player's area-of-interest state, moves
//! to the new region; the player is told with `RegionChanged`. Ownership of
//! regions by other nodes (a redirect instead of a local move) is not
//! modelled yet.

use battlegrid_protocol::{PlayerId, RegionId, ServerMessage};
use bevy_ecs::prelude::*;

use crate::map::MapSpec;
use crate::outbox::{AnalyticsEvent, Outputs, encode};
use crate::player::{InRegion, Player, Pos};
use crate::region::{Members, RegionDirectory};
use crate::settings::SimSettings;

/// Handoff phase: moves players that left their region (by more than the
/// margin) into the region they now stand in, by increasing player id.
#[allow(clippy::too_many_arguments)]
pub fn hand_off(
    map: Res<'_, MapSpec>,
    settings: Res<'_, SimSettings>,
    directory: Res<'_, RegionDirectory>,
    mut out: ResMut<'_, Outputs>,
    mut players: Query<'_, '_, (&Player, &Pos, &mut InRegion)>,
    mut regions: Query<'_, '_, &mut Members>,
    mut changes: Local<'_, Vec<(PlayerId, RegionId, RegionId)>>,
) {
    let margin = settings.handoff_margin;
    for (player, pos, mut region) in &mut players {
        let inside = map
            .region_bounds(region.0)
            .is_some_and(|b| b.contains_with_margin(pos.0, margin));
        if inside {
            continue;
        }
        let to = map.region_at(pos.0);
        if to != region.0 {
            changes.push((player.id, region.0, to));
            region.0 = to;
        }
    }
    if changes.is_empty() {
        return;
    }
    // Each region's member list is rewritten once for all its departures
    // and once for all its arrivals: shifting a sorted list per handoff cost
    // more than the rest of this phase with tens of thousands of players.
    // The trees are not touched here: the Index phase rebuilds the tree of
    // every region whose membership changed.
    changes.sort_unstable_by_key(|&(id, from, _)| (from, id));
    let mut moving = Vec::with_capacity(changes.len());
    for group in changes.chunk_by(|a, b| a.1 == b.1) {
        let from = group[0].1;
        let ids: Vec<PlayerId> = group.iter().map(|c| c.0).collect();
        if let Ok(mut members) = regions.get_mut(directory.entity(from)) {
            let removed = members.remove_many(&ids);
            // Removed members come back in id order, like `group`.
            for (member, &(_, _, to)) in removed.into_iter().zip(group) {
                moving.push((to, member));
            }
        }
    }
    moving.sort_unstable_by_key(|(to, member)| (*to, member.id));
    let mut moving = moving.into_iter().peekable();
    while let Some((to, first)) = moving.next() {
        let mut arrivals = vec![first];
        while let Some((_, member)) = moving.next_if(|(next_to, _)| *next_to == to) {
            arrivals.push(member);
        }
        for member in &mut arrivals {
            member.indexed_at = None;
        }
        if let Ok(mut members) = regions.get_mut(directory.entity(to)) {
            members.insert_many(arrivals);
        }
    }
    changes.sort_unstable_by_key(|c| c.0);
    for (id, from, to) in changes.drain(..) {
        out.reliable(id, encode(&ServerMessage::RegionChanged { region: to }));
        out.analytics
            .push(AnalyticsEvent::RegionChanged { id, from, to });
    }
}

/// Adds the Handoff phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(hand_off.in_set(crate::schedule::TickPhase::Handoff));
}
