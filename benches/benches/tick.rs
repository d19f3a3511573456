//! Placeholder until the tick benchmark lands.
fn main() {}
