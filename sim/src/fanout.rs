//! Shout and broadcast: one message, many recipients, encoded once.
//!
//! A shout reaches exactly the players within `shout_radius` of the speaker
//! (inclusive, the same predicate as [`crate::spatial`]), across region
//! borders, **the speaker included** (its echo confirms the shout was
//! delivered). A broadcast reaches exactly the members of the speaker's
//! region, the speaker included. Each message is serialised once and every
//! recipient's envelope holds a clone of the same [`bytes::Bytes`].
//! Chat between friends or groups is a later feature and lives elsewhere.

use battlegrid_protocol::messages::MAX_TEXT_LEN;
use battlegrid_protocol::{ErrorCode, PlayerId, ServerMessage};
use bevy_ecs::prelude::*;

use crate::input::Staged;
use crate::map::MapSpec;
use crate::outbox::{AnalyticsEvent, Delivery, Envelope, Outputs, encode};
use crate::player::{Directory, InRegion, Pos};
use crate::region::{Members, RegionDirectory, RegionIndex};
use crate::settings::SimSettings;

/// Validate phase: keeps chat from players in the world with texts within
/// [`MAX_TEXT_LEN`]; refuses over-long texts.
pub fn validate_chat(
    mut staged: ResMut<'_, Staged>,
    mut out: ResMut<'_, Outputs>,
    directory: Res<'_, Directory>,
) {
    let staged = &mut *staged;
    for list in [&mut staged.shouts, &mut staged.broadcasts] {
        list.retain(|(id, text)| {
            if !directory.contains(*id) {
                return false;
            }
            if text.len() > MAX_TEXT_LEN {
                out.refuse(*id, ErrorCode::TEXT_TOO_LONG, "text too long");
                return false;
            }
            true
        });
    }
}

/// Shout phase: delivers every valid shout, in input order, recipients by
/// increasing id.
#[allow(clippy::too_many_arguments)]
pub fn shout(
    mut staged: ResMut<'_, Staged>,
    mut out: ResMut<'_, Outputs>,
    directory: Res<'_, Directory>,
    regions: Res<'_, RegionDirectory>,
    map: Res<'_, MapSpec>,
    settings: Res<'_, SimSettings>,
    positions: Query<'_, '_, &Pos>,
    indices: Query<'_, '_, &RegionIndex>,
    mut recipients: Local<'_, Vec<PlayerId>>,
) {
    let radius = settings.shout_radius;
    for (speaker, text) in staged.shouts.drain(..) {
        let Some(listed) = directory.get(speaker) else {
            continue;
        };
        let Ok(&Pos(position)) = positions.get(listed.entity) else {
            continue;
        };
        recipients.clear();
        map.regions_near(position, radius, settings.handoff_margin, |region| {
            if let Ok(index) = indices.get(regions.entity(region)) {
                index
                    .0
                    .for_each_within(position, radius, |id, _| recipients.push(id));
            }
        });
        recipients.sort_unstable();
        let message = ServerMessage::ShoutHeard {
            speaker,
            name: listed.name.to_string(),
            position,
            text,
        };
        let bytes = encode(&message);
        deliver(&mut out, &recipients, &bytes);
        // The text moves on to the analytics event: no copy.
        let ServerMessage::ShoutHeard { text, .. } = message else {
            unreachable!("built just above")
        };
        out.analytics.push(AnalyticsEvent::Shout {
            id: speaker,
            recipients: recipients.len() as u32,
            text,
        });
    }
}

/// Broadcast phase: delivers every valid broadcast to the speaker's region,
/// in input order, recipients by increasing id.
pub fn broadcast(
    mut staged: ResMut<'_, Staged>,
    mut out: ResMut<'_, Outputs>,
    directory: Res<'_, Directory>,
    regions: Res<'_, RegionDirectory>,
    players: Query<'_, '_, &InRegion>,
    members: Query<'_, '_, &Members>,
    mut recipients: Local<'_, Vec<PlayerId>>,
) {
    for (speaker, text) in staged.broadcasts.drain(..) {
        let Some(listed) = directory.get(speaker) else {
            continue;
        };
        let Ok(&InRegion(region)) = players.get(listed.entity) else {
            continue;
        };
        recipients.clear();
        if let Ok(members) = members.get(regions.entity(region)) {
            recipients.extend(members.iter().map(|m| m.id));
        }
        let message = ServerMessage::BroadcastHeard {
            speaker,
            name: listed.name.to_string(),
            region,
            text,
        };
        let bytes = encode(&message);
        deliver(&mut out, &recipients, &bytes);
        let ServerMessage::BroadcastHeard { text, .. } = message else {
            unreachable!("built just above")
        };
        out.analytics.push(AnalyticsEvent::Broadcast {
            id: speaker,
            region,
            recipients: recipients.len() as u32,
            text,
        });
    }
}

fn deliver(out: &mut Outputs, recipients: &[PlayerId], bytes: &bytes::Bytes) {
    out.outbox.extend(recipients.iter().map(|&to| Envelope {
        to,
        delivery: Delivery::Reliable,
        bytes: bytes.clone(),
    }));
}

/// Adds chat validation (after intents) and the Shout and Broadcast phases.
pub(crate) fn plugin(schedule: &mut Schedule) {
    use crate::schedule::TickPhase;
    schedule.add_systems((
        validate_chat
            .in_set(TickPhase::Validate)
            .after(crate::movement::apply_intents),
        shout.in_set(TickPhase::Shout),
        broadcast.in_set(TickPhase::Broadcast),
    ));
}
