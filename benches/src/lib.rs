//! Shared helpers for the benchmarks live in `battlegrid_sim::testing`.
