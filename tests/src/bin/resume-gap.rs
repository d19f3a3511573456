//! The resume-gap harness (see `battlegrid_tests::resume_gap`): bots play
//! through SIGTERM and SIGKILL restarts of the server and come back by
//! themselves; prints how long after the new process was ready each bot was
//! back, how it came back, and how far its place rolled back.
//!
//! `scripts/resume-gap.sh` builds the server and runs this in release:
//! `cargo run --release -p battlegrid-tests --bin resume-gap -- --bots 500`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use battlegrid_tests::resume_gap::{Options, Stop, run};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Bots playing.
    #[arg(long, default_value_t = 500)]
    bots: u32,
    /// Restarts, alternating SIGTERM and SIGKILL (SIGTERM first).
    #[arg(long, default_value_t = 4)]
    restarts: u32,
    /// Play time between restarts, milliseconds.
    #[arg(long, default_value_t = 5000)]
    play_ms: u64,
    /// `[world] save_interval_ticks` of the server.
    #[arg(long, default_value_t = 20)]
    save_interval_ticks: u64,
    /// Seed of the walks (default: the clock).
    #[arg(long)]
    seed: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let options = Options {
        bots: args.bots,
        restarts: args.restarts,
        play: Duration::from_millis(args.play_ms),
        save_interval_ticks: args.save_interval_ticks,
        seed,
    };
    println!("seed {seed}, {} bots", args.bots);
    let report = run(&options).await?;
    println!(
        "one save interval's travel: {} units ({} ticks)",
        report.interval_travel, args.save_interval_ticks
    );
    println!(
        "| restart | downtime | gap p50 | gap p99 | gap max | resume token | session token | rollback p99 | rollback max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for r in &report.restarts {
        let kind = match r.stop {
            Stop::Term => "SIGTERM",
            Stop::Kill => "SIGKILL",
        };
        println!(
            "| {kind} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} | {} | {:.1} | {:.1} |",
            r.downtime.as_secs_f64() * 1e3,
            r.gap(0.5).as_secs_f64() * 1e3,
            r.gap(0.99).as_secs_f64() * 1e3,
            r.gap(1.0).as_secs_f64() * 1e3,
            r.with_resume_token,
            r.with_session_token,
            r.rollback(0.99),
            r.rollback(1.0),
        );
        failed |= r.with_session_token > 0 || r.rollback(1.0) > report.interval_travel + 1.0;
    }
    if failed {
        anyhow::bail!("a bot needed its session token, or rolled back beyond one save interval");
    }
    Ok(())
}
