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
use crate::region::{Members, RegionDirectory, RegionIndex};
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
    mut regions: Query<'_, '_, (&mut Members, &mut RegionIndex)>,
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
    changes.sort_unstable_by_key(|c| c.0);
    for (id, from, to) in changes.drain(..) {
        let member = match regions.get_mut(directory.entity(from)) {
            Ok((mut members, mut index)) => {
                let member = members.remove(id);
                if let Some(at) = member.as_ref().and_then(|m| m.indexed_at) {
                    index.0.remove(id, at);
                }
                member
            }
            Err(_) => None,
        };
        if let (Some(mut member), Ok((mut members, _))) =
            (member, regions.get_mut(directory.entity(to)))
        {
            member.indexed_at = None;
            members.insert(member);
        }
        out.reliable(id, encode(&ServerMessage::RegionChanged { region: to }));
        out.analytics
            .push(AnalyticsEvent::RegionChanged { id, from, to });
    }
}

/// Adds the Handoff phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(hand_off.in_set(crate::schedule::TickPhase::Handoff));
}
