//! The kill -9 harness (see `battlegrid_tests::kill9`): bots play, the
//! server is killed with SIGKILL at random moments and restarted on the
//! same data directory, and every restart is checked for lost accounts and
//! saved positions farther than one save interval's travel. Prints a
//! summary; exits with an error if anything was lost.
//!
//! `scripts/kill9.sh` builds the server and runs this in release:
//! `cargo run --release -p battlegrid-tests --bin kill9 -- --rounds 200 --bots 200`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use battlegrid_tests::kill9::{Options, check, run};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Kills (each followed by a restart).
    #[arg(long, default_value_t = 200)]
    rounds: u32,
    /// Bots playing in every round.
    #[arg(long, default_value_t = 200)]
    bots: u32,
    /// Shortest play time before a kill, milliseconds.
    #[arg(long, default_value_t = 500)]
    min_play_ms: u64,
    /// Longest play time before a kill, milliseconds.
    #[arg(long, default_value_t = 3000)]
    max_play_ms: u64,
    /// `[world] save_interval_ticks` of the server (the default config's 200
    /// is 10 s at 20 Hz; shorter makes each round test more saves).
    #[arg(long, default_value_t = 20)]
    save_interval_ticks: u64,
    /// Password logins checked after each restart.
    #[arg(long, default_value_t = 3)]
    login_sample: u32,
    /// Seed of the kill moments and walks (default: the clock).
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
        rounds: args.rounds,
        bots: args.bots,
        play: (
            Duration::from_millis(args.min_play_ms),
            Duration::from_millis(args.max_play_ms.max(args.min_play_ms)),
        ),
        seed,
        save_interval_ticks: args.save_interval_ticks,
        login_sample: args.login_sample,
    };
    println!("seed {seed}");
    let report = run(&options).await?;
    println!(
        "kills {}, saved positions compared {}, one save interval's travel {} units, \
         allowed with the write slack {} units",
        report.kills, report.checked, report.interval_travel, report.allowed
    );
    println!(
        "distance saved-to-last-acknowledged: p50 {:.1}, p99 {:.1}, max {:.1} units",
        report.quantile(0.5),
        report.quantile(0.99),
        report.quantile(1.0)
    );
    println!(
        "beyond one interval {}, password logins after restarts {}, losses {}",
        report.beyond_interval,
        report.logins,
        report.losses.len()
    );
    check(&report)
}
