//! Persistence requests: which player positions the server should save.
//!
//! The simulation never touches storage; it only says what to save. A
//! leaving player is saved by [`crate::player::apply_leaves`]. Here, players
//! that moved since their last save are saved periodically, at most once per
//! `save_interval_ticks`. The requests are staggered (player `id` is due on
//! ticks where `tick % interval == id % interval`) so the store sees a steady
//! trickle instead of every player at once.

use battlegrid_protocol::PlayerId;
use bevy_ecs::prelude::*;

use crate::outbox::{Outputs, SavePosition};
use crate::player::{Player, Pos, SaveState};
use crate::schedule::Tick;
use crate::settings::SimSettings;

/// Persist phase: requests saves for the players due this tick that moved
/// since their last save, by increasing id.
pub fn request_saves(
    tick: Res<'_, Tick>,
    settings: Res<'_, SimSettings>,
    mut out: ResMut<'_, Outputs>,
    mut players: Query<'_, '_, (&Player, &Pos, &mut SaveState)>,
) {
    let interval = settings.save_interval_ticks.max(1);
    let due = tick.0 % interval;
    let first = out.saves.len();
    for (player, pos, mut saved) in &mut players {
        if player.id.0 % interval == due && saved.last_saved != pos.0 {
            saved.last_saved = pos.0;
            out.saves.push(SavePosition {
                id: player.id,
                position: pos.0,
            });
        }
    }
    out.saves[first..].sort_unstable_by_key(|s: &SavePosition| -> PlayerId { s.id });
}

/// Adds the Persist phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(request_saves.in_set(crate::schedule::TickPhase::Persist));
}
