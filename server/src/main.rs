//! The `battlegrid` binary: parses the command line and runs the server.

fn main() {}
