//! The world simulation: regions, players, movement, fan-out. Sans-IO and
//! deterministic (see ARCHITECTURE.md, principle 1).
//!
//! Drive it through [`Simulation`]: [`Simulation::push`] inputs, then
//! [`Simulation::step`] one tick and route the [`TickOutput`]. Same map,
//! settings, seed and inputs give the same outputs, byte for byte. There is
//! no clock, socket or file in here; the server owns those. Modules follow
//! the tick's phases ([`schedule::TickPhase`]); each holds one feature area.

#![warn(missing_docs)]

pub mod analytics;
pub mod checkpoint;
pub mod fanout;
pub mod handoff;
pub mod input;
pub mod interest;
pub mod map;
pub mod movement;
pub mod outbox;
pub mod persist;
pub mod player;
pub mod region;
pub mod reload;
pub mod schedule;
pub mod settings;
pub mod simulation;
pub mod snapshot;
pub mod spatial;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use checkpoint::{Checkpoint, CheckpointError, SIM_VERSION};
pub use input::Input;
pub use map::{Bounds, MapError, MapSpec};
pub use outbox::{AnalyticsEvent, CorrectionReason, Delivery, Envelope, SavePosition, TickOutput};
pub use reload::{Relocation, RelocationReason};
pub use settings::{SettingsError, SimSettings};
pub use simulation::Simulation;
pub use snapshot::{SnapshotReader, WorldSnapshot};
pub use spatial::SpatialIndex;
