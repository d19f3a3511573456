//! `battlegrid bots`: a load generator that plays the game like many people.
//!
//! A run has four phases: accounts (sessions for `<prefix>-00001`...,
//! from the admin listener by default, or by public sign-up and login with
//! `--accounts public`; see [`accounts`]), connecting (QUIC with the
//! certificate pinned from `/v1/server-info`, a bounded number of
//! handshakes at once), the measurement window of `--duration` (every bot
//! walks randomly, shouts at `--shout-rate` and counts what it receives),
//! and the stop (every bot closes its connection with code 0). A live
//! progress line goes to stderr once a second; the summary table (or with
//! `--json` one JSON object) goes to stdout. Ctrl-C ends the run early and
//! still prints the summary.
//!
//! When the admin listener answers, the summary also has the server's side
//! read from its `/metrics` ([`server_metrics`]): tick time p50/p99 over
//! the window, resident memory before connecting and with every bot
//! connected (so memory per client), and the CPU the server used.
//!
//! Exit status: 0 when every bot played without an error, 2 when the run
//! completed with errors (they are counted and sampled in the summary), 1
//! when the run could not start (server unreachable, no game listener).
//!
//! Loopback connections are exempt from the server's per-address
//! connection cap by default, so thousands of bots on the server's machine
//! need no configuration. From another machine, raise `[quic]
//! max_connections_per_ip`, and reach the admin listener through an SSH
//! tunnel rather than exposing it. The bots talk only to the servers given
//! by `--server` and `--admin`, and every count, rate and duration is
//! bounded (see [`args`]).

pub mod accounts;
pub mod args;
pub mod bot;
pub mod cpu;
pub mod metrics;
pub mod report;
pub mod server_metrics;
pub mod shout;
pub mod walk;

use std::sync::Arc;
use std::time::{Duration, Instant};

use battlegrid_protocol::PROTOCOL_VERSION;
use battlegrid_protocol::client::{
    AdminClient, AuthClient, ClientEndpoint, ConnectError, HttpError,
};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use accounts::Provider;
pub use args::{AccountSource, BotsArgs};
use bot::Bot;
use metrics::Metrics;
use report::{Rates, Summary};
use shout::ShoutClock;

/// Bots sharing one UDP socket; more sockets spread the packet work over
/// more endpoint driver tasks.
const BOTS_PER_ENDPOINT: u32 = 250;
/// Most sockets a run opens.
const MAX_ENDPOINTS: u32 = 16;

/// Why a bots run could not start.
#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    /// No tokio runtime could be made.
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A server URL (`--server`, `--admin`) is not usable.
    #[error("bad server URL")]
    Url(#[source] HttpError),
    /// The server did not answer `/v1/server-info`.
    #[error("asking {server} for /v1/server-info")]
    ServerInfo {
        /// `--server`.
        server: String,
        /// The cause.
        #[source]
        source: HttpError,
    },
    /// The server speaks another protocol version.
    #[error("the server speaks protocol {server}, these bots speak {PROTOCOL_VERSION}")]
    Protocol {
        /// The server's version.
        server: u16,
    },
    /// The admin token file could not be read.
    #[error("reading the admin token file {}", path.display())]
    AdminTokenFile {
        /// `--admin-token-file`.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `--accounts admin` without a token.
    #[error(
        "--accounts admin needs the admin token: {} does not exist; give --admin-token-file \
         (the server writes <data>/admin-token) or --admin-token",
        path.display()
    )]
    NoAdminToken {
        /// `--admin-token-file`.
        path: std::path::PathBuf,
    },
    /// The game listener's address or certificate is not known.
    #[error("finding the game listener")]
    GameTarget(#[source] HttpError),
    /// A client UDP socket could not be made.
    #[error("opening a client endpoint")]
    Endpoint(#[from] ConnectError),
}

/// Runs the bots on a fresh runtime and prints the results; the body of
/// `battlegrid bots`.
pub fn main(args: BotsArgs) -> Result<(), BotsError> {
    let runtime = tokio::runtime::Runtime::new().map_err(BotsError::Runtime)?;
    let summary = runtime.block_on(run(&args))?;
    if args.json {
        let json = serde_json::to_string(&summary).expect("the summary serialises");
        println!("{json}");
    } else {
        print!("{}", report::table(&summary));
    }
    drop(runtime);
    if summary.errors > 0 || summary.totals.connects_ok < u64::from(summary.bots) {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(2);
    }
    Ok(())
}

/// One run: accounts, connecting, the measurement window, the stop.
pub async fn run(args: &BotsArgs) -> Result<Summary, BotsError> {
    let auth = AuthClient::new(&args.server).map_err(BotsError::Url)?;
    let info = auth
        .server_info()
        .await
        .map_err(|source| BotsError::ServerInfo {
            server: args.server.clone(),
            source,
        })?;
    if info.protocol_version != PROTOCOL_VERSION {
        return Err(BotsError::Protocol {
            server: info.protocol_version,
        });
    }
    let target = auth.game_target().await.map_err(BotsError::GameTarget)?;
    let metrics = Arc::new(Metrics::new());
    let (stop_tx, stop) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let interrupt = {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: stopping the bots");
                stop_tx.send_replace(true);
            }
        })
    };
    let progress = Progress::start(args.count, metrics.clone());

    let admin_token = args
        .admin_token()
        .map_err(|source| BotsError::AdminTokenFile {
            path: args.admin_token_file.clone(),
            source,
        })?;
    let started = Instant::now();
    let provider = match args.accounts {
        AccountSource::Admin => {
            let token = admin_token.clone().ok_or_else(|| BotsError::NoAdminToken {
                path: args.admin_token_file.clone(),
            })?;
            Provider::Admin(AdminClient::new(&args.admin, &token).map_err(BotsError::Url)?)
        }
        AccountSource::Public => Provider::Public(auth.clone(), args.password.clone()),
    };
    let accounts = accounts::prepare(
        &provider,
        &args.prefix,
        args.count,
        args.auth_concurrency,
        &metrics,
        &stop,
    )
    .await;
    let accounts_took = started.elapsed();
    let scraper = server_metrics::Scraper::new(&args.admin, admin_token.as_deref());
    let mut server = server_metrics::Series::default();
    if let Some(scraper) = &scraper {
        server.before_connect = scraper.sample().await;
    }

    progress.set_phase("connect");
    let connecting = Instant::now();
    let endpoints = (0..args
        .count
        .div_ceil(BOTS_PER_ENDPOINT)
        .clamp(1, MAX_ENDPOINTS))
        .map(|_| ClientEndpoint::for_server(target.addr, &target.trust))
        .collect::<Result<Vec<_>, _>>()?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let clock = ShoutClock::start();
    let permits = Arc::new(Semaphore::new(args.connect_concurrency as usize));
    let server_name: Arc<str> = Arc::from(target.server_name.as_str());
    let shout_every =
        (args.shout_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.shout_rate));
    let mut bots = JoinSet::new();
    let expected = accounts.len() as u64;
    for (i, account) in accounts.into_iter().enumerate() {
        let bot = Bot {
            index: account.index,
            token: account.session.token,
            addr: target.addr,
            server_name: server_name.clone(),
            endpoint: endpoints[i % endpoints.len()].clone(),
            shout_every,
            seed: seed ^ u64::from(account.index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            clock,
            connect_permits: permits.clone(),
            metrics: metrics.clone(),
        };
        bots.spawn(bot.run(stop.clone()));
    }
    wait_until_connected(&metrics, expected, &stop).await;
    let connect_took = connecting.elapsed();

    progress.set_phase("play");
    metrics.reset_shout_latency();
    let window_start = (Instant::now(), metrics.tallies.read());
    let cpu_start = cpu::process_cpu_time();
    let (end_sampling, sampling_ended) = tokio::sync::oneshot::channel::<()>();
    let sampling = scraper.clone().map(|scraper| {
        tokio::spawn(async move {
            let mut samples = vec![scraper.sample().await];
            let mut every = tokio::time::interval(SERVER_SAMPLE_EVERY);
            every.tick().await;
            tokio::pin!(sampling_ended);
            // `--duration` is at most 1 h, so at most 720 samples.
            loop {
                tokio::select! {
                    _ = every.tick() => samples.push(scraper.sample().await),
                    _ = &mut sampling_ended => return samples,
                }
            }
        })
    });
    let mut stopped = stop.clone();
    let _ = tokio::time::timeout(args.duration, stopped.wait_for(|s| *s)).await;
    let window = window_start.0.elapsed();
    if let (Some(scraper), Some(sampling)) = (&scraper, sampling) {
        let _ = end_sampling.send(());
        if let Ok(samples) = sampling.await {
            let mut samples = samples.into_iter();
            server.window_start = samples.next().flatten();
            server.during = samples.flatten().collect();
        }
        server.window_end = scraper.sample().await;
    }
    let in_window = metrics.tallies.read().since(&window_start.1);
    let bots_cpu_percent = cpu_start
        .zip(cpu::process_cpu_time())
        .and_then(|(before, after)| cpu::percent_of_core(before, after, window));
    let shout_latency = metrics.shout_latency();

    progress.set_phase("stop");
    stop_tx.send_replace(true);
    // Safety net: bots stop at once; a stuck one must not hang the report.
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while bots.join_next().await.is_some() {}
    })
    .await;
    bots.abort_all();
    for endpoint in &endpoints {
        // Lets the close frames go out before the process exits.
        let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    }
    progress.stop();
    interrupt.abort();

    let totals = metrics.tallies.read();
    Ok(Summary {
        bots: args.count,
        server: args.server.clone(),
        accounts_s: accounts_took.as_secs_f64(),
        connect_phase_s: connect_took.as_secs_f64(),
        window_s: window.as_secs_f64(),
        connect: metrics.connect_latency(),
        shout_latency,
        bots_cpu_percent,
        server_side: server.summarise(window, totals.connects_ok),
        rates: Rates::over(&in_window, window),
        disconnects: totals.disconnects,
        errors: report::error_count(&totals),
        totals,
        error_samples: metrics.error_samples(),
    })
}

/// How often the server's `/metrics` is read during the window.
const SERVER_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Waits until every bot has connected or failed to (or the run is stopped).
async fn wait_until_connected(metrics: &Metrics, expected: u64, stop: &watch::Receiver<bool>) {
    let mut stop = stop.clone();
    loop {
        let t = metrics.tallies.read();
        if t.connects_ok + t.connect_failures >= expected || *stop.borrow() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), stop.changed()).await;
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The once-a-second progress line on stderr.
struct Progress {
    phase: Arc<std::sync::Mutex<&'static str>>,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(bots: u32, metrics: Arc<Metrics>) -> Self {
        let phase = Arc::new(std::sync::Mutex::new("accounts"));
        let task = {
            let phase = phase.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let mut ticker = tokio::time::interval(Duration::from_secs(1));
                ticker.tick().await;
                let mut last = (Instant::now(), metrics.tallies.read());
                loop {
                    ticker.tick().await;
                    let now = (Instant::now(), metrics.tallies.read());
                    let label = *phase.lock().unwrap_or_else(|p| p.into_inner());
                    let line = if label == "accounts" {
                        format!(
                            "[accounts {:>5.1}s] ready {}/{bots}  new {}  rate-limited waits {}  failures {}",
                            started.elapsed().as_secs_f64(),
                            now.1.logged_in,
                            now.1.signed_up,
                            now.1.rate_limited_waits,
                            now.1.account_failures
                        )
                    } else {
                        let rates = Rates::over(&now.1.since(&last.1), now.0 - last.0);
                        report::progress_line(
                            label,
                            started.elapsed(),
                            bots,
                            &now.1,
                            &rates,
                            &metrics.shout_latency(),
                        )
                    };
                    eprintln!("{line}");
                    last = now;
                }
            })
        };
        Self { phase, task }
    }

    fn set_phase(&self, label: &'static str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = label;
    }

    fn stop(self) {
        self.task.abort();
    }
}
