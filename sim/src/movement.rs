//! Server-authoritative movement: standing intents, the speed cap, map
//! bounds and blocked tiles, and corrections when the client's prediction
//! is wrong.
//!
//! A client never sends positions to adopt, only a direction and a speed
//! (a [`MoveIntent`]) which the server keeps applying every tick until the
//! next one: `step = direction / |direction| * min(speed, max_speed) /
//! tick_rate`. The intent's `predicted` position is only compared with the
//! server's, so a teleport attempt is corrected, never honoured. Blocked
//! tiles and the map edge stop movement per axis (sliding along walls).

use battlegrid_protocol::{MoveIntent, PlayerId, Position, ServerMessage};
use bevy_ecs::prelude::*;

use crate::input::Staged;
use crate::map::MapSpec;
use crate::outbox::{AnalyticsEvent, CorrectionReason, Outputs, encode};
use crate::player::{Directory, Player, Pos};
use crate::settings::SimSettings;

/// A player's standing intent and this tick's movement state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Component)]
pub struct Motion {
    /// Displacement per tick along x, already capped.
    pub step_x: f32,
    /// Displacement per tick along y, already capped.
    pub step_y: f32,
    /// Sequence number of the intent in force.
    pub seq: u32,
    /// A correction owed to the client, sent after this tick's move.
    pub correction: Option<CorrectionReason>,
    /// Whether the player's position changed this tick.
    pub moved: bool,
}

/// Validate phase: checks new intents and makes them the players' standing
/// intents. Non-finite numbers are refused and change nothing.
pub fn apply_intents(
    mut staged: ResMut<'_, Staged>,
    mut out: ResMut<'_, Outputs>,
    directory: Res<'_, Directory>,
    settings: Res<'_, SimSettings>,
    mut players: Query<'_, '_, (&Pos, &mut Motion)>,
) {
    for (id, intent) in staged.moves.drain(..) {
        let Some(listed) = directory.get(id) else {
            continue;
        };
        let Ok((pos, mut motion)) = players.get_mut(listed.entity) else {
            continue;
        };
        // The protocol's own check, so the sim and the gateway agree on what
        // is invalid and on its code (INVALID_VALUE keeps the connection open).
        if let Err(invalid) = intent.validate() {
            out.refuse(
                id,
                invalid.code(),
                &format!("movement intent refused: {invalid}"),
            );
            continue;
        }
        let (step_x, step_y, capped) = step_of(&intent, &settings);
        let tolerance = settings.correction_tolerance;
        let drifted = intent.predicted.distance_squared(pos.0) > tolerance * tolerance;
        *motion = Motion {
            step_x,
            step_y,
            seq: intent.seq,
            correction: if capped {
                Some(CorrectionReason::SpeedCapped)
            } else if drifted {
                Some(CorrectionReason::Drift)
            } else {
                None
            },
            moved: false,
        };
    }
}

/// Move phase: applies every standing intent and sends owed corrections,
/// by increasing player id.
pub fn move_players(
    map: Res<'_, MapSpec>,
    mut out: ResMut<'_, Outputs>,
    mut players: Query<'_, '_, (&Player, &mut Pos, &mut Motion)>,
    mut corrections: Local<'_, Vec<(PlayerId, u32, Position, CorrectionReason)>>,
) {
    for (player, mut pos, mut motion) in &mut players {
        let from = pos.0;
        let mut to = from;
        if motion.step_x != 0.0 {
            let next = Position::new(to.x + motion.step_x, to.y);
            if !map.is_blocked(next) {
                to = next;
            }
        }
        if motion.step_y != 0.0 {
            let next = Position::new(to.x, to.y + motion.step_y);
            if !map.is_blocked(next) {
                to = next;
            }
        }
        let moved = to != from;
        if moved {
            pos.0 = to;
        }
        // Writing through `Mut` only when something changed keeps bevy's
        // change ticks meaningful.
        if motion.moved != moved {
            motion.moved = moved;
        }
        if let Some(reason) = motion.correction.take() {
            corrections.push((player.id, motion.seq, to, reason));
        }
    }
    corrections.sort_unstable_by_key(|c| c.0);
    for (id, seq, position, reason) in corrections.drain(..) {
        out.reliable(
            id,
            encode(&ServerMessage::PositionCorrected { seq, position }),
        );
        out.analytics.push(AnalyticsEvent::Corrected { id, reason });
    }
}

/// Per-tick displacement of a (finite) intent and whether its speed was
/// capped.
fn step_of(intent: &MoveIntent, settings: &SimSettings) -> (f32, f32, bool) {
    let length = intent.direction.x.hypot(intent.direction.y);
    let capped = intent.speed > settings.max_speed;
    let speed = intent.speed.clamp(0.0, settings.max_speed);
    if length == 0.0 || speed == 0.0 {
        return (0.0, 0.0, capped);
    }
    let per_tick = speed / f32::from(settings.tick_rate_hz.max(1));
    (
        intent.direction.x / length * per_tick,
        intent.direction.y / length * per_tick,
        capped,
    )
}

/// Adds intent validation (after joins) and the Move phase.
pub(crate) fn plugin(schedule: &mut Schedule) {
    use crate::schedule::TickPhase;
    schedule.add_systems((
        apply_intents
            .in_set(TickPhase::Validate)
            .after(crate::player::apply_joins),
        move_players.in_set(TickPhase::Move),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use battlegrid_protocol::Vec2;

    fn intent(dx: f32, dy: f32, speed: f32) -> MoveIntent {
        MoveIntent {
            seq: 1,
            direction: Vec2 { x: dx, y: dy },
            speed,
            predicted: Position::default(),
        }
    }

    /// Directions are normalised and speeds capped at max_speed per second.
    #[test]
    fn steps_are_normalised_and_capped() {
        let s = SimSettings::default();
        assert_eq!(step_of(&intent(3.0, 4.0, 40.0), &s), (1.2, 1.6, false));
        assert_eq!(step_of(&intent(0.0, -10.0, 1e9), &s), (0.0, -4.0, true));
        assert_eq!(step_of(&intent(0.0, 0.0, 80.0), &s), (0.0, 0.0, false));
        assert_eq!(step_of(&intent(1.0, 0.0, -5.0), &s), (0.0, 0.0, false));
        let (x, y, _) = step_of(&intent(f32::MAX, f32::MAX, 80.0), &s);
        assert!(x.is_finite() && y.is_finite());
    }
}
