//! Helpers shared by battlegrid's criterion benchmarks.
//!
//! The spatial benchmark compares the sim's R-tree wrapper with two baselines
//! kept here, a [`UniformGrid`] and [`BruteForce`], plus a [`DefaultRTree`]
//! (rstar used the textbook way, as the sim first did). All answer the same
//! inclusive radius query over `(PlayerId, Position)` entries, are driven
//! through one [`NeighbourIndex`] trait, and are fed the same seeded [`data`].
//! Whole-world scenario builders (for the tick benchmark) live in
//! `battlegrid_sim::testing`, not here.

#[cfg(test)]
mod agreement;
pub mod brute;
pub mod cpu_clock;
pub mod data;
pub mod default_rtree;
pub mod grid;
pub mod neighbours;

pub use brute::BruteForce;
pub use data::Area;
pub use default_rtree::DefaultRTree;
pub use grid::UniformGrid;
pub use neighbours::NeighbourIndex;
