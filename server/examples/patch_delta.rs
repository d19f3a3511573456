//! What a delta costs: a 100 MiB file with 1 MiB changed in the middle,
//! delta made at the server's default level and applied as the updater
//! does (from files on disk, hashing the result).
//!
//! `cargo run --release -p battlegrid-server --example patch_delta -- [MiB] [level]`

use std::time::Instant;

use battlegrid_protocol::client::assets::{apply_delta, make_delta};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let level: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);
    let len = mib << 20;
    // Incompressible content, the hard case: only the delta can save
    // bytes, and the changed MiB is new noise too.
    let noise = |len: usize, seed: u64| {
        let mut bytes = vec![0u8; len];
        ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
        bytes
    };
    let old = noise(len, 0x9e37_79b9_7f4a_7c15);
    let mut new = old.clone();
    let middle = len / 2;
    new[middle..middle + (1 << 20)].copy_from_slice(&noise(1 << 20, 0x2545_f491_4f6c_dd1d));
    let started = Instant::now();
    let delta = make_delta(&old, &new, level).expect("make delta");
    let made = started.elapsed();
    let dir = tempfile::tempdir().expect("temp dir");
    let (o, d, r) = (
        dir.path().join("old"),
        dir.path().join("delta"),
        dir.path().join("new"),
    );
    std::fs::write(&o, &old).expect("write old");
    std::fs::write(&d, &delta).expect("write delta");
    let started = Instant::now();
    let (size, _) = apply_delta(&o, &d, &r).expect("apply delta");
    let applied = started.elapsed();
    assert_eq!(size as usize, new.len());
    assert!(
        std::fs::read(&r).expect("read result") == new,
        "delta did not rebuild the file"
    );
    println!(
        "{mib} MiB file, 1 MiB changed, level {level}: delta {} bytes ({:.2}% of the file), made in {:.0} ms, applied in {:.0} ms",
        delta.len(),
        delta.len() as f64 * 100.0 / new.len() as f64,
        made.as_secs_f64() * 1e3,
        applied.as_secs_f64() * 1e3
    );
}
