//! Placeholder until the spatial benchmark lands.
fn main() {}
