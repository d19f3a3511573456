//! The world simulation: regions, players, movement, fan-out. Sans-IO and
//! deterministic (see ARCHITECTURE.md, principle 1).
