//! What callers feed the simulation, and the Ingest phase that sorts it.
//!
//! [`Input`]s are queued by `Simulation::push` and drained at the start of
//! the next tick. Ingest enforces the per-player command budget and sorts
//! inputs by kind into [`Staged`]; the Validate phase then applies them in a
//! fixed order: leaves, joins, moves, chat (so a reconnect, a leave then a
//! join of the same id in one tick, works). Content checks (lengths, finite
//! floats, unknown players) belong to the systems of the Validate phase.

use battlegrid_protocol::{ErrorCode, MoveIntent, PlayerId, Position};
use bevy_ecs::prelude::*;
use rustc_hash::FxHashMap;

use crate::outbox::Outputs;
use crate::player::Directory;
use crate::settings::SimSettings;

/// One thing that happened to the world from outside, attributed to a player.
/// Serialisable so that recordings can carry a tick's inputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    /// A player enters the world, at its saved position if it has one.
    Join {
        /// The player (its account id).
        id: PlayerId,
        /// Display name, at most `MAX_NAME_LEN` bytes.
        name: String,
        /// Saved position; `None`, or a blocked or off-map one, means a spawn
        /// point chosen by the seeded RNG.
        position: Option<Position>,
    },
    /// A player arrives from another map of the same server (it asked with
    /// `ChangeMap`, or its map was removed): placed like a [`Input::Join`],
    /// but greeted with `MapChanged` (`relocated: true`, `seq: 0`) instead
    /// of `Welcome`, because its connection is already in the game. The
    /// caller removes it from its old map with [`Input::Leave`] there.
    Arrive {
        /// The player (its account id).
        id: PlayerId,
        /// Display name, at most `MAX_NAME_LEN` bytes.
        name: String,
        /// Where to place it; `None`, or a blocked or off-map position,
        /// means a spawn point chosen by the seeded RNG.
        position: Option<Position>,
        /// Why it moved, in words for the player (`MapChanged.reason`).
        reason: String,
    },
    /// A player leaves (disconnected or logged out).
    Leave {
        /// The player.
        id: PlayerId,
    },
    /// A new standing movement intent.
    Move {
        /// The player.
        id: PlayerId,
        /// The intent, as the client sent it.
        intent: MoveIntent,
    },
    /// A shout to everyone within the shout radius.
    Shout {
        /// The speaker.
        id: PlayerId,
        /// What it said.
        text: String,
    },
    /// A broadcast to everyone in the speaker's region.
    Broadcast {
        /// The speaker.
        id: PlayerId,
        /// What it said.
        text: String,
    },
}

impl Input {
    /// The player this input is attributed to.
    pub fn player(&self) -> PlayerId {
        match self {
            Input::Join { id, .. }
            | Input::Arrive { id, .. }
            | Input::Leave { id }
            | Input::Move { id, .. }
            | Input::Shout { id, .. }
            | Input::Broadcast { id, .. } => *id,
        }
    }
}

/// Inputs pushed since the last tick, in arrival order.
#[derive(Debug, Default, Resource)]
pub struct InputQueue(pub Vec<Input>);

/// A join waiting to be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    /// The player.
    pub id: PlayerId,
    /// Its display name (not yet checked).
    pub name: String,
    /// Requested position (not yet checked).
    pub position: Option<Position>,
    /// For a player arriving from another map, the `MapChanged.reason` it
    /// is greeted with instead of `Welcome`.
    pub arrival: Option<String>,
}

/// This tick's inputs sorted by kind, each list in arrival order.
#[derive(Debug, Default, Resource)]
pub struct Staged {
    /// Players leaving.
    pub leaves: Vec<PlayerId>,
    /// Players joining.
    pub joins: Vec<JoinRequest>,
    /// New movement intents.
    pub moves: Vec<(PlayerId, MoveIntent)>,
    /// Shouts; after Validate, only valid ones remain.
    pub shouts: Vec<(PlayerId, String)>,
    /// Broadcasts; after Validate, only valid ones remain.
    pub broadcasts: Vec<(PlayerId, String)>,
}

/// Ingest phase: drains the queue, refuses inputs over a player's budget,
/// and stages the rest.
pub fn ingest(
    mut queue: ResMut<'_, InputQueue>,
    mut staged: ResMut<'_, Staged>,
    mut out: ResMut<'_, Outputs>,
    directory: Res<'_, Directory>,
    settings: Res<'_, SimSettings>,
    mut counts: Local<'_, FxHashMap<PlayerId, u32>>,
) {
    counts.clear();
    for input in queue.0.drain(..) {
        let id = input.player();
        let count = counts.entry(id).or_default();
        *count += 1;
        if *count > settings.max_commands_per_tick {
            // Refused quietly for players not in the world: there is no one
            // to tell, and a flood of joins must not flood the outbox.
            if *count == settings.max_commands_per_tick + 1 && directory.contains(id) {
                out.refuse(
                    id,
                    ErrorCode::COMMANDS_DROPPED,
                    "too many commands this tick; excess dropped",
                );
            }
            continue;
        }
        match input {
            Input::Join { id, name, position } => staged.joins.push(JoinRequest {
                id,
                name,
                position,
                arrival: None,
            }),
            Input::Arrive {
                id,
                name,
                position,
                reason,
            } => staged.joins.push(JoinRequest {
                id,
                name,
                position,
                arrival: Some(reason),
            }),
            Input::Leave { id } => staged.leaves.push(id),
            Input::Move { id, intent } => staged.moves.push((id, intent)),
            Input::Shout { id, text } => staged.shouts.push((id, text)),
            Input::Broadcast { id, text } => staged.broadcasts.push((id, text)),
        }
    }
}

/// Adds the Ingest phase's system.
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(ingest.in_set(crate::schedule::TickPhase::Ingest));
}
