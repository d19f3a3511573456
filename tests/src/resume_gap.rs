//! The resume-gap harness: many bots play through restarts of the real
//! server and come back by themselves; it measures how long after the new
//! process is ready each bot is back in the world.
//!
//! Each bot gets a session from the admin listener once, connects with the
//! SDK's [`GameSession`], and walks at full speed in a direction that
//! changes every second or two, remembering the last position the server
//! acknowledged (its own record in a `StateUpdate`, or a correction). The
//! harness alternates SIGTERM and SIGKILL; after each it starts a new
//! `battlegrid serve` on the same data directory and ports, and notes when
//! its ready file appears. Per restart it reports:
//! - the resume gap, from ready to each bot's new `Welcome`: p50, p99, max;
//! - how many bots resumed with their resume token and how many needed
//!   their session token (no bot ever logs in with its password);
//! - how far back each bot's resumed place lies from its last acknowledged
//!   one: after SIGTERM, about a tick's travel (every player is saved on
//!   the way out); after SIGKILL, at most one save interval's travel.
//!
//! `battlegrid-resume-gap` (`tests/src/bin/resume-gap.rs`, run by
//! scripts/resume-gap.sh) prints the figures docs/PERFORMANCE.md reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use battlegrid_protocol::ClientMessage;
use battlegrid_protocol::client::{
    AdminClient, AuthClient, Backoff, ClientEndpoint, GameSession, GameTarget, SessionEvent,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::kill9::{acknowledged, distance, random_walk};
use crate::server::TestServer;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bots playing.
    pub bots: u32,
    /// Restarts; odd ones are SIGTERM, even ones SIGKILL.
    pub restarts: u32,
    /// Play time between two restarts.
    pub play: Duration,
    /// `[world] save_interval_ticks` of the server.
    pub save_interval_ticks: u64,
    /// Seed of the walks.
    pub seed: u64,
}

/// How the server was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: a clean shutdown that saves every player.
    Term,
    /// SIGKILL: nothing saved on the way out.
    Kill,
}

/// One restart's figures.
#[derive(Debug, Clone)]
pub struct Restart {
    /// How the old process ended.
    pub stop: Stop,
    /// From the signal to the new process's ready file.
    pub downtime: Duration,
    /// From ready to each bot's new `Welcome`, sorted. A bot whose
    /// `Welcome` came before the ready file was seen counts as 0.
    pub gaps: Vec<Duration>,
    /// Bots back with their resume token.
    pub with_resume_token: u32,
    /// Bots back with their session token (the resume token was refused).
    pub with_session_token: u32,
    /// Distance from the last acknowledged position to the resumed one,
    /// sorted.
    pub rollbacks: Vec<f32>,
}

impl Restart {
    /// The `q` quantile of the gaps (0 when none).
    pub fn gap(&self, q: f64) -> Duration {
        quantile(&self.gaps, q).unwrap_or_default()
    }

    /// The `q` quantile of the rollbacks (0 when none).
    pub fn rollback(&self, q: f64) -> f32 {
        quantile(&self.rollbacks, q).unwrap_or_default()
    }
}

fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((last as f64) * q).round() as usize])
}

/// A run's figures.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One save interval's travel at full speed, in world units.
    pub interval_travel: f32,
    /// Every restart, in order.
    pub restarts: Vec<Restart>,
}

/// A bot back in the world.
struct Back {
    at: Instant,
    with_resume_token: bool,
    rollback: f32,
}

/// Bound on one wait: a hang guard, not a measurement.
const NET: Duration = Duration::from_secs(120);
/// Handshakes in flight while the bots first join.
const HANDSHAKES: usize = 32;

/// Runs the harness on a fresh server in a temporary directory.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let interval = options.save_interval_ticks;
    let mut server = TestServer::start(|config| {
        config.world.save_interval_ticks = interval;
    });
    server.pin_ports();
    let world = server.config().world.clone();
    let per_tick = world.max_speed / f32::from(world.tick_rate_hz);
    let mut report = Report {
        interval_travel: per_tick * interval as f32,
        restarts: Vec::new(),
    };
    let admin = AdminClient::new(&format!("http://{}", server.admin), &server.admin_token())?;
    let target = AuthClient::new(&server.url(""))?.game_target().await?;
    let endpoint = ClientEndpoint::for_server(target.addr, &target.trust)?;
    let (stop_tx, stop) = watch::channel(false);
    let (back_tx, mut back) = mpsc::unbounded_channel();
    let (joined_tx, mut joined) = mpsc::channel(options.bots as usize);
    let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut bots = JoinSet::new();
    for i in 1..=options.bots {
        let token = admin
            .session(&format!("rgbot{i}"), true)
            .await?
            .session
            .token;
        let bot = Bot {
            endpoint: endpoint.clone(),
            target: target.clone(),
            token,
            seed: rng.random(),
            handshakes: Arc::clone(&handshakes),
            joined: joined_tx.clone(),
            back: back_tx.clone(),
            stop: stop.clone(),
        };
        bots.spawn(bot.play());
    }
    drop(joined_tx);
    for _ in 0..options.bots {
        let ok = tokio::time::timeout(NET, joined.recv()).await;
        if !matches!(ok, Ok(Some(()))) {
            let why = match bots.try_join_next() {
                Some(Ok(Err(err))) => format!("{err:#}"),
                _ => "no bot error (hang guard)".to_owned(),
            };
            bail!("not every bot joined: {why}");
        }
    }
    for n in 1..=options.restarts {
        tokio::time::sleep(options.play).await;
        let kind = if n % 2 == 1 { Stop::Term } else { Stop::Kill };
        let stopped_at = Instant::now();
        match kind {
            Stop::Term => {
                let status = server.terminate();
                if !status.success() {
                    bail!("SIGTERM exit {status}: {}", server.log());
                }
            }
            Stop::Kill => server.kill(),
        }
        server.start_again();
        let ready = Instant::now();
        let mut restart = Restart {
            stop: kind,
            downtime: ready - stopped_at,
            gaps: Vec::new(),
            with_resume_token: 0,
            with_session_token: 0,
            rollbacks: Vec::new(),
        };
        for _ in 0..options.bots {
            let b: Back = tokio::time::timeout(NET, back.recv())
                .await
                .context("bots not back within the hang guard")?
                .context("bots ended")?;
            restart.gaps.push(b.at.saturating_duration_since(ready));
            restart.rollbacks.push(b.rollback);
            if b.with_resume_token {
                restart.with_resume_token += 1;
            } else {
                restart.with_session_token += 1;
            }
        }
        restart.gaps.sort();
        restart.rollbacks.sort_by(f32::total_cmp);
        eprintln!(
            "restart {n}/{} ({kind:?}): all {} bots back, gap p50 {:?} max {:?}",
            options.restarts,
            options.bots,
            restart.gap(0.5),
            restart.gap(1.0)
        );
        report.restarts.push(restart);
    }
    let _ = stop_tx.send(true);
    while let Some(done) = bots.join_next().await {
        done.context("bot task")??;
    }
    Ok(report)
}

/// One bot of the run.
struct Bot {
    endpoint: ClientEndpoint,
    target: GameTarget,
    token: String,
    seed: u64,
    handshakes: Arc<tokio::sync::Semaphore>,
    joined: mpsc::Sender<()>,
    back: mpsc::UnboundedSender<Back>,
    stop: watch::Receiver<bool>,
}

impl Bot {
    async fn play(mut self) -> anyhow::Result<()> {
        let permit = self.handshakes.acquire().await?;
        // Hundreds of handshakes at once on two cores can time out; the
        // first join is not what this harness measures, so retry it.
        let mut tries = 0;
        let (mut session, welcome) = loop {
            tries += 1;
            match GameSession::connect(
                self.endpoint.clone(),
                self.target.addr,
                &self.target.server_name,
                &self.token,
                Backoff::default(),
            )
            .await
            {
                Ok(connected) => break connected,
                Err(err) if tries < 10 => {
                    eprintln!("first connect, try {tries}: {err}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(err).context("first connect"),
            }
        };
        drop(permit);
        let _ = self.joined.send(()).await;
        let me = welcome.player_id;
        let mut last_ack = welcome.position;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut seq = 0;
        let mut turn = tokio::time::interval(Duration::from_millis(rng.random_range(1000..2000)));
        loop {
            tokio::select! {
                _ = self.stop.changed() => break,
                _ = turn.tick() => {
                    seq += 1;
                    let intent = random_walk(&mut rng, seq, last_ack);
                    // Fails while the server is away; the next turn retries.
                    let _ = session.send(&ClientMessage::Move(intent)).await;
                }
                event = session.next_event() => match event {
                    SessionEvent::Event(event) => acknowledged(&event, me, &mut last_ack),
                    SessionEvent::Reconnecting { .. } => {}
                    SessionEvent::Resumed { welcome, with_resume_token, .. } => {
                        let rollback = distance(last_ack, welcome.position);
                        last_ack = welcome.position;
                        let at = Instant::now();
                        let _ = self.back.send(Back { at, with_resume_token, rollback });
                        // Walk on at once: the intent did not survive.
                        turn.reset_immediately();
                    }
                    SessionEvent::Ended(closed) => bail!("session ended: {closed:?}"),
                },
            }
        }
        session.close("run over");
        Ok(())
    }
}
