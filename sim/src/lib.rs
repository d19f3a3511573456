//! The world simulation: regions, players, movement, fan-out. Sans-IO and
//! deterministic (see ARCHITECTURE.md, principle 1).

#![warn(missing_docs)]

pub mod spatial;

pub use spatial::SpatialIndex;
