//! Runs the tick benchmark's workload for a while and prints wall and CPU
//! time per tick; a target for `perf record` that has no criterion overhead.
//!
//! `cargo run --release -p battlegrid-sim --features testing --example tick_profile -- 50000 100`

use std::time::Instant;

use battlegrid_sim::Delivery;
use battlegrid_sim::testing::benchmark_world;

/// User plus system CPU time of this process, in seconds (Linux only; 0
/// elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second on Linux).
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let players: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let ticks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let (mut sim, mut walkers) = benchmark_world(players, 10);
    let mut wall = 0.0;
    let mut cpu = 0.0;
    let mut messages = 0usize;
    let (mut datagrams, mut datagram_bytes) = (0usize, 0usize);
    let mut times = Vec::with_capacity(ticks);
    for _ in 0..ticks {
        walkers.drive(&mut sim);
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let out = sim.step();
        let dt = t0.elapsed().as_secs_f64();
        cpu += cpu_seconds() - c0;
        wall += dt;
        times.push(dt);
        messages += out.outbox.len();
        for envelope in out
            .outbox
            .iter()
            .filter(|e| e.delivery == Delivery::Datagram)
        {
            datagrams += 1;
            datagram_bytes += envelope.bytes.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let n = ticks as f64;
    println!(
        "{players} players, {ticks} ticks: median {:.2} ms, mean {:.2} ms wall, {:.2} ms CPU per tick, {:.0} ns/player/tick (median), {:.0} envelopes/tick, of which {:.0} datagrams of {:.0} bytes in all",
        times[ticks / 2] * 1e3,
        wall / n * 1e3,
        cpu / n * 1e3,
        times[ticks / 2] * 1e9 / players as f64,
        messages as f64 / n,
        datagrams as f64 / n,
        datagram_bytes as f64 / n
    );
}
