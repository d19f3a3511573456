//! The `battlegrid` binary: parses the command line and runs the server.
//!
//! Prints one machine-readable line per bound listener on stdout,
//! `listening <name> <addr>`, then `ready`; logs go to stderr (`RUST_LOG`
//! filters them, default `info`).

use clap::{Parser, Subcommand};

use battlegrid_server::Server;
use battlegrid_server::config::ServeArgs;

/// battlegrid: a server for large shared-world multiplayer games.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Flags of `serve`, which is also what runs without a subcommand.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Start every listener of the server (the default).
    Serve(ServeArgs),
    /// Load generator: N bots sign up, connect, walk and shout; prints figures.
    Bots(battlegrid_server::bots::BotsArgs),
    /// Validate the maps in a directory offline; exit 1 on any error, 2 if unreadable.
    CheckMaps(battlegrid_server::maps::check::CheckMapsArgs),
    /// Bring a directory up to the server's current client assets release.
    FetchAssets(battlegrid_server::fetch_assets::FetchAssetsArgs),
    /// Replay a recording or crash file and check every tick; exit 1 on
    /// divergence, 2 if it cannot be replayed.
    Replay(battlegrid_server::record::replay::ReplayArgs),
    /// Read the analytics event files: summary, heatmap PNG, CSV export.
    Analytics(battlegrid_server::analytics::report::AnalyticsArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Bots(args)) => return Ok(battlegrid_server::bots::main(args)?),
        Some(Command::CheckMaps(args)) => {
            std::process::exit(battlegrid_server::maps::check::main(args))
        }
        Some(Command::FetchAssets(args)) => {
            std::process::exit(battlegrid_server::fetch_assets::main(args))
        }
        Some(Command::Replay(args)) => {
            std::process::exit(battlegrid_server::record::replay::main(args))
        }
        Some(Command::Analytics(args)) => {
            std::process::exit(battlegrid_server::analytics::report::main(args))
        }
        None => cli.serve,
    };
    let config = args.into_config()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let server = Server::bind(config).await?;
        let addrs = server.addrs();
        println!("listening http {}", addrs.http);
        println!("listening admin {}", addrs.admin);
        if let Some(game) = addrs.game {
            println!("listening game {game}");
        }
        println!("ready");
        server.serve(shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
