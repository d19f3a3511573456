//! Measures sign-ups and logins per second against the auth API, and the
//! server's memory under them.
//!
//! By default it starts a server in this process (loopback port 0, data in a
//! temporary directory, rate limits lifted) so one command measures the
//! server; `--spawn` starts the real `battlegrid` binary of the same profile
//! instead, so that the resident memory it reports on `/metrics` is the
//! server's alone (printed at idle, after the sign-ups and after each login
//! round); `--server URL` targets a running server (its rate limits then
//! apply). Request counts are bounded; only loopback is used by default.
//!
//! `cargo run --release -p battlegrid-tests --bin auth-load -- --count 400`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use battlegrid_server::Server;
use battlegrid_server::config::{Rate, RateLimits};
use battlegrid_tests::api::Api;
use battlegrid_tests::server::TestServer;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Sign-ups, then logins, to perform (each).
    #[arg(long, default_value_t = 400)]
    count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Base URL of a running server (default: start one in this process).
    #[arg(long, conflicts_with = "spawn")]
    server: Option<String>,
    /// Start the `battlegrid` binary (built beside this tool) and print its
    /// resident memory from `/metrics`.
    #[arg(long)]
    spawn: bool,
    /// Rounds of `--count` logins (the same accounts each round).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// The server's `[passwords] max_concurrent_hashes` (default: one per
    /// core); not for `--server`.
    #[arg(long, conflicts_with = "server")]
    hashers: Option<usize>,
}

/// Resident memory of the spawned server, in MiB, from its `/metrics`.
async fn rss_mib(server: &TestServer) -> anyhow::Result<f64> {
    let bytes = server
        .metric("process_resident_memory_bytes")
        .await
        .context("no process_resident_memory_bytes in /metrics")?;
    Ok(bytes / (1024.0 * 1024.0))
}

async fn phase(
    label: &str,
    api: &Api,
    args: &Args,
    prefix: &str,
    login: bool,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (api, next, count, prefix) = (
            api.clone(),
            Arc::clone(&next),
            args.count,
            prefix.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                let name = format!("{prefix}{i}");
                let reply = if login {
                    api.log_in(&name, "load-test-password").await
                } else {
                    api.sign_up(&name, "load-test-password").await
                };
                let expected = if login { 200 } else { 201 };
                if reply.status != expected {
                    bail!("{name}: {} {}", reply.status, reply.body);
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = args.count as f64 / secs;
    println!(
        "{label}: {} in {secs:.2} s = {rate:.1}/s (concurrency {})",
        args.count, args.concurrency
    );
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let lifted = Rate::new(u32::MAX / 2, u32::MAX / 2);
    let lift = |config: &mut battlegrid_server::Config| {
        config.rate_limits = RateLimits {
            signup_per_ip: lifted,
            signup_per_name: lifted,
            login_per_ip: lifted,
            login_per_account: lifted,
        };
        config.passwords.max_concurrent_hashes = args.hashers;
    };
    let mut spawned = None;
    let (api, local) = match &args.server {
        Some(url) => {
            let addr = url.trim_start_matches("http://").trim_end_matches('/');
            (
                Api::new(addr.parse().context("--server must be http://IP:PORT")?),
                None,
            )
        }
        None if args.spawn => {
            let server = spawned.insert(TestServer::start(lift));
            (Api::new(server.http), None)
        }
        None => {
            let mut config = battlegrid_tests::server::test_config(dir.path());
            config.ready_file = None;
            lift(&mut config);
            let server = Server::bind(config).await?;
            let api = Api::new(server.addrs().http);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(server.serve(async move {
                let _ = stopped.await;
            }));
            (api, Some((stop, task)))
        }
    };
    let prefix = format!("load{}x", std::process::id());
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    );
    // The cost that bounds both rates: one Argon2id hash on one core.
    let passwords = battlegrid_server::auth::Passwords::new(1).await?;
    let started = Instant::now();
    for _ in 0..10 {
        passwords.hash("load-test-password".into()).await?;
    }
    let hash_ms = started.elapsed().as_secs_f64() * 100.0;
    println!("argon2id hash (19 MiB, t=2, p=1): {hash_ms:.1} ms on one core");
    if let Some(server) = &spawned {
        println!("server RSS idle: {:.1} MiB", rss_mib(server).await?);
    }
    phase("sign-ups", &api, &args, &prefix, false).await?;
    if let Some(server) = &spawned {
        println!(
            "server RSS after sign-ups: {:.1} MiB",
            rss_mib(server).await?
        );
    }
    for round in 1..=args.rounds.max(1) {
        phase("logins", &api, &args, &prefix, true).await?;
        if let Some(server) = &spawned {
            println!(
                "server RSS after login round {round}: {:.1} MiB",
                rss_mib(server).await?
            );
        }
    }
    if let Some((stop, task)) = local {
        let _ = stop.send(());
        task.await??;
    }
    Ok(())
}
