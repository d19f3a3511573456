//! The Analytics phase: closes the tick's event stream with a summary and
//! publishes the position snapshot.
//!
//! Gameplay events themselves ([`AnalyticsEvent`]) are recorded by the
//! systems where they happen; shipping them anywhere is the server's job.

use bevy_ecs::prelude::*;

use crate::outbox::{AnalyticsEvent, Outputs};
use crate::player::Directory;
use crate::schedule::{Tick, TickPhase};
use crate::snapshot::publish_snapshot;

/// Analytics phase: records how many players were in the world and how many
/// messages the tick produced.
pub fn summarise_tick(
    tick: Res<'_, Tick>,
    directory: Res<'_, Directory>,
    mut out: ResMut<'_, Outputs>,
) {
    let messages = out.outbox.len() as u64;
    out.analytics.push(AnalyticsEvent::TickSummary {
        tick: tick.0,
        players: directory.len() as u64,
        messages,
    });
}

/// Adds the Analytics phase: the summary, then the snapshot.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(
        (summarise_tick, publish_snapshot)
            .chain()
            .in_set(TickPhase::Analytics),
    );
}
