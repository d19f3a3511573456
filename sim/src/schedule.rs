//! The fixed-tick schedule: one [`TickPhase`] set per step of a tick, ordered
//! in exactly one place ([`build_schedule`]), with each feature area adding
//! its systems to its phase through a plugin function.
//!
//! The schedule runs on a single-threaded executor because the phases are a
//! strict chain anyway; parallelism lives inside the heavy systems (index
//! maintenance and interest run regions in parallel on bevy's
//! `ComputeTaskPool`). What the phases do is documented on the variants.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{ScheduleLabel, SingleThreadedExecutor};

/// The current tick number, advanced by the façade before each run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Resource)]
pub struct Tick(pub u64);

/// Label of the tick schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ScheduleLabel)]
pub struct TickSchedule;

/// The phases of a tick, run in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SystemSet)]
pub enum TickPhase {
    /// Drain queued inputs, enforce the per-player budget, sort by kind.
    Ingest,
    /// Check inputs; apply leaves, joins and intents; keep valid chat.
    Validate,
    /// Apply standing intents; send owed corrections and map-change notices.
    Move,
    /// Move players that crossed a border (beyond the margin) to their new region.
    Handoff,
    /// Bring each region's R-tree up to date; encode movers' records.
    Index,
    /// Deliver shouts to everyone within the shout radius.
    Shout,
    /// Deliver broadcasts to everyone in the speaker's region.
    Broadcast,
    /// Recompute each player's view; queue entered, left and moved messages.
    Interest,
    /// Request saves of positions.
    Persist,
    /// Emit the tick's summary event; publish the position snapshot.
    Analytics,
}

/// Builds the tick schedule with every feature area's systems.
pub fn build_schedule() -> Schedule {
    let mut schedule = Schedule::new(TickSchedule);
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.configure_sets(
        (
            TickPhase::Ingest,
            TickPhase::Validate,
            TickPhase::Move,
            TickPhase::Handoff,
            TickPhase::Index,
            TickPhase::Shout,
            TickPhase::Broadcast,
            TickPhase::Interest,
            TickPhase::Persist,
            TickPhase::Analytics,
        )
            .chain(),
    );
    crate::input::plugin(&mut schedule);
    crate::player::plugin(&mut schedule);
    crate::movement::plugin(&mut schedule);
    crate::reload::plugin(&mut schedule);
    crate::handoff::plugin(&mut schedule);
    crate::region::plugin(&mut schedule);
    crate::fanout::plugin(&mut schedule);
    crate::interest::plugin(&mut schedule);
    crate::persist::plugin(&mut schedule);
    crate::analytics::plugin(&mut schedule);
    schedule
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};

    /// No two systems with conflicting data access run in an unspecified
    /// order: the schedule builds with ambiguity detection as an error.
    #[test]
    fn schedule_has_no_ambiguities() {
        let mut world = crate::simulation::new_world(
            crate::map::MapSpec::open(64, 64, 2, 2).unwrap(),
            crate::settings::SimSettings::default(),
            1,
        );
        let mut schedule = build_schedule();
        schedule.set_build_settings(ScheduleBuildSettings {
            ambiguity_detection: LogLevel::Error,
            ..Default::default()
        });
        schedule
            .initialize(&mut world)
            .expect("schedule builds without ambiguities");
    }
}
