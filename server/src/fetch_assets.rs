//! `battlegrid fetch-assets`: the client asset updater as a command, a thin
//! shell around the SDK's `client::assets::update` with a progress bar on
//! stderr and a summary (or `--json`) on stdout.

use std::path::PathBuf;

use battlegrid_protocol::client::assets::{UpdateOptions, update};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

/// Flags of `battlegrid fetch-assets`.
#[derive(Debug, Clone, Args)]
pub struct FetchAssetsArgs {
    /// The server's public HTTP base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The directory to bring up to date (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Cap the download rate, in bytes per second.
    #[arg(long, value_name = "BYTES_PER_SECOND")]
    pub max_rate: Option<u64>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the updater; the process's exit code: 0 up to date, 1 on any error
/// (its message on stderr).
pub fn main(args: FetchAssetsArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fetch-assets: cannot start the runtime: {err}");
            return 1;
        }
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("a valid template"),
    );
    let options = UpdateOptions {
        max_bytes_per_second: args.max_rate,
    };
    let result = runtime.block_on(update(&args.server, &args.dir, &options, |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    }));
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("a report serialises")
                );
            } else {
                println!(
                    "release {}: {} downloaded, {} patched, {} unchanged, {} removed; {} bytes transferred, {} resumed",
                    report.release,
                    report.downloaded.len(),
                    report.patched.len(),
                    report.unchanged,
                    report.removed.len(),
                    report.bytes_transferred,
                    report.bytes_resumed
                );
            }
            0
        }
        Err(err) => {
            eprintln!("fetch-assets: {err}");
            1
        }
    }
}
