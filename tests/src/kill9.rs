//! The kill -9 harness: bots play on the real server, which is killed
//! with SIGKILL at a random moment of every round and started again on the
//! same data directory; after each restart the harness checks what
//! survived.
//!
//! Each bot signs up and logs in once (password, Argon2, the player's
//! path). Every round each bot connects with its session token, walks at
//! full speed in a random direction that changes every second or two, and
//! remembers the last position the server acknowledged (its own record in a
//! `StateUpdate`, a `PositionCorrected`, or `Welcome`). After a random
//! play time the server is killed; once it is up again (so the store
//! opened) the next round's `Welcome` gives each bot's saved position.
//! Checked after every restart:
//! - every bot's session token is still accepted (`Hello` -> `Welcome`),
//!   and a sample of accounts logs in with its password;
//! - every bot's saved position lies within one save interval's travel of
//!   the last position the server acknowledged before the kill, plus the
//!   travel of [`WRITE_SLACK_TICKS`] ticks: a save is durable once the
//!   store has written it, and the tick hands it over without waiting, so
//!   the client can be told of a tick or two more before the write lands.
//!   Farther is a loss. Distances beyond the interval alone are counted
//!   separately ([`Report::beyond_interval`]).
//!
//! `battlegrid-kill9` (`tests/src/bin/kill9.rs`, run by scripts/kill9.sh)
//! runs many rounds; `tests/tests/kill9.rs` runs a few in CI.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use battlegrid_protocol::client::{AuthClient, ClientEndpoint, Event, GameTarget};
use battlegrid_protocol::{ClientMessage, MoveIntent, PlayerId, Position, ServerMessage, Vec2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::server::TestServer;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kills (and restarts) of the server.
    pub rounds: u32,
    /// Bots playing in every round.
    pub bots: u32,
    /// Shortest and longest play time before the kill.
    pub play: (Duration, Duration),
    /// Seed of the kill moments and the walks.
    pub seed: u64,
    /// `[world] save_interval_ticks` of the server.
    pub save_interval_ticks: u64,
    /// Password logins checked per round (random accounts).
    pub login_sample: u32,
}

/// One bot whose saved position was farther than the allowed travel.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// After which kill (1-based).
    pub round: u32,
    /// The bot's account.
    pub player: PlayerId,
    /// How far its saved position was from its last acknowledged one.
    pub distance: f32,
}

/// Ticks of travel allowed besides the save interval: the store's write
/// of a save batch, which the tick does not wait for (docs/PERFORMANCE.md,
/// "Player state across kill -9").
pub const WRITE_SLACK_TICKS: u64 = 2;

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Kills survived (the store opened again each time).
    pub kills: u32,
    /// Saved positions compared with the last acknowledged ones.
    pub checked: u64,
    /// One save interval's travel.
    pub interval_travel: f32,
    /// How far a saved position may lie from the last acknowledged one:
    /// `interval_travel` plus [`WRITE_SLACK_TICKS`] ticks of travel.
    pub allowed: f32,
    /// Comparisons beyond `interval_travel` (losses or not).
    pub beyond_interval: u64,
    /// The distances, sorted.
    pub distances: Vec<f32>,
    /// The comparisons beyond `allowed`.
    pub losses: Vec<Loss>,
    /// Password logins that succeeded after a restart.
    pub logins: u64,
}

impl Report {
    /// The `q` quantile of the distances.
    pub fn quantile(&self, q: f64) -> f32 {
        if self.distances.is_empty() {
            return 0.0;
        }
        let i = ((self.distances.len() - 1) as f64 * q).round() as usize;
        self.distances[i]
    }
}

const PASSWORD: &str = "kill nine harness";
/// Handshakes in flight at once: hundreds of TLS handshakes at the same
/// moment can outlast the server's handshake timeout on a small machine
/// (a load artefact this harness is not about).
const HANDSHAKES: usize = 16;
/// Bound on one network wait: a hang guard, not a measurement.
const NET: Duration = Duration::from_secs(60);

/// Runs the harness on a fresh server in a temporary directory.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let interval = options.save_interval_ticks;
    let mut server = TestServer::start(|config| {
        config.world.save_interval_ticks = interval;
        config.passwords.max_concurrent_hashes = Some(2);
    });
    let world = server.config().world.clone();
    let per_tick = world.max_speed / f32::from(world.tick_rate_hz);
    let interval_travel = per_tick * interval as f32;
    let allowed = per_tick * (interval + WRITE_SLACK_TICKS) as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let tokens = accounts(&server, options.bots).await?;
    let mut report = Report {
        interval_travel,
        allowed,
        ..Report::default()
    };
    // Where each bot was last acknowledged before the previous kill.
    let mut acked: Vec<Option<Position>> = vec![None; tokens.len()];
    for round in 0..=options.rounds {
        let target = AuthClient::new(&server.url(""))?.game_target().await?;
        let (stop, stopped) = watch::channel(false);
        let (joined_tx, mut joined) = tokio::sync::mpsc::channel(tokens.len());
        let mut bots = JoinSet::new();
        let endpoint = Arc::new(ClientEndpoint::for_server(target.addr, &target.trust)?);
        let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
        for (i, token) in tokens.iter().enumerate() {
            let seed = rng.random();
            let round = Round {
                endpoint: Arc::clone(&endpoint),
                handshakes: Arc::clone(&handshakes),
                target: target.clone(),
                joined: joined_tx.clone(),
                stop: stopped.clone(),
            };
            bots.spawn(play(i, token.clone(), seed, round));
        }
        let play_for = rng.random_range(options.play.0..=options.play.1);
        // Every bot joins before the kill, which then comes at a random
        // moment of play. A bot that fails to join ends with its error,
        // reported when the round is collected.
        drop(joined_tx);
        for _ in 0..tokens.len() {
            if !matches!(tokio::time::timeout(NET, joined.recv()).await, Ok(Some(()))) {
                break;
            }
        }
        tokio::time::sleep(play_for).await;
        if round < options.rounds {
            server.kill();
        }
        let _ = stop.send(true);
        while let Some(done) = bots.join_next().await {
            let played = done.context("bot task")??;
            if let Some(before) = acked[played.index] {
                let distance = distance(before, played.welcome);
                report.checked += 1;
                report.distances.push(distance);
                if distance > interval_travel + 0.5 {
                    report.beyond_interval += 1;
                }
                if distance > allowed + 0.5 {
                    report.losses.push(Loss {
                        round,
                        player: played.player,
                        distance,
                    });
                }
            }
            acked[played.index] = Some(played.last_ack);
        }
        if round < options.rounds {
            // Waits for the ready file: the store opened.
            server.restart();
            report.kills += 1;
            report.logins += check_logins(&server, &mut rng, options).await?;
        }
        if round % 10 == 0 || round == options.rounds {
            eprintln!(
                "round {round}/{}: {} compared, {} losses so far",
                options.rounds,
                report.checked,
                report.losses.len()
            );
        }
    }
    report.distances.sort_by(f32::total_cmp);
    Ok(report)
}

/// Signs up and logs in `count` bots; returns their session tokens.
async fn accounts(server: &TestServer, count: u32) -> anyhow::Result<Vec<String>> {
    let auth = AuthClient::new(&server.url(""))?;
    let mut tasks = JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    for i in 1..=count {
        let (auth, permits) = (auth.clone(), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire().await?;
            let name = bot_name(i);
            auth.sign_up(&name, PASSWORD).await?;
            anyhow::Ok((i, auth.log_in(&name, PASSWORD).await?.token))
        });
    }
    let mut tokens = vec![String::new(); count as usize];
    while let Some(done) = tasks.join_next().await {
        let (i, token) = done??;
        tokens[i as usize - 1] = token;
    }
    Ok(tokens)
}

fn bot_name(i: u32) -> String {
    format!("k9bot{i}")
}

/// Logs a few random accounts in with their passwords.
async fn check_logins(
    server: &TestServer,
    rng: &mut ChaCha8Rng,
    options: &Options,
) -> anyhow::Result<u64> {
    let auth = AuthClient::new(&server.url(""))?;
    for _ in 0..options.login_sample {
        let name = bot_name(rng.random_range(1..=options.bots));
        auth.log_in(&name, PASSWORD)
            .await
            .with_context(|| format!("{name} logs in after the restart"))?;
    }
    Ok(u64::from(options.login_sample))
}

/// One bot's round.
struct Played {
    index: usize,
    player: PlayerId,
    /// Where `Welcome` put it: its saved position.
    welcome: Position,
    /// The last position the server acknowledged.
    last_ack: Position,
}

/// What the bots of one round share.
struct Round {
    /// One UDP socket for all bots.
    endpoint: Arc<ClientEndpoint>,
    /// Caps handshakes in flight ([`HANDSHAKES`]).
    handshakes: Arc<tokio::sync::Semaphore>,
    target: GameTarget,
    /// Each bot sends one `()` once it has `Welcome`.
    joined: tokio::sync::mpsc::Sender<()>,
    /// Turns true after the kill.
    stop: watch::Receiver<bool>,
}

async fn play(index: usize, token: String, seed: u64, round: Round) -> anyhow::Result<Played> {
    let Round {
        endpoint,
        handshakes,
        target,
        joined,
        mut stop,
    } = round;
    let permit = handshakes.acquire().await?;
    let (mut client, welcome) = tokio::time::timeout(
        NET,
        endpoint.connect(target.addr, &target.server_name, &token),
    )
    .await
    .context("connect: no answer")?
    .with_context(|| format!("bot {index}: no Welcome for its session after the restart"))?;
    drop(permit);
    let _ = joined.send(()).await;
    let me = welcome.player_id;
    let mut last_ack = welcome.position;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seq = 0;
    let mut turn = tokio::time::interval(Duration::from_millis(rng.random_range(1000..2000)));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = turn.tick() => {
                seq += 1;
                let intent = random_walk(&mut rng, seq, last_ack);
                // A send failing means the server is gone: the stop follows.
                let _ = client.send(&ClientMessage::Move(intent)).await;
            }
            event = client.next_event() => match event {
                Event::Closed(_) => {
                    // Killed: wait for the stop (it follows the kill).
                    let _ = stop.changed().await;
                    break;
                }
                event => acknowledged(&event, me, &mut last_ack),
            },
        }
    }
    // Datagrams and messages sent before the kill may still be queued.
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(50), client.next_event()).await
    {
        if matches!(event, Event::Closed(_)) {
            break;
        }
        acknowledged(&event, me, &mut last_ack);
    }
    client.close("round over");
    Ok(Played {
        index,
        player: me,
        welcome: welcome.position,
        last_ack,
    })
}

/// A full-speed intent in a random direction.
pub(crate) fn random_walk(rng: &mut ChaCha8Rng, seq: u32, predicted: Position) -> MoveIntent {
    let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    MoveIntent {
        seq,
        direction: Vec2 {
            x: angle.cos(),
            y: angle.sin(),
        },
        speed: 80.0,
        predicted,
    }
}

/// Updates `last` from an event that states the player's own position.
pub(crate) fn acknowledged(event: &Event, me: PlayerId, last: &mut Position) {
    match event {
        Event::Datagram(ServerMessage::StateUpdate { moved, .. }) => {
            if let Some(own) = moved.iter().find(|m| m.id == me) {
                *last = own.position;
            }
        }
        Event::Message(ServerMessage::PositionCorrected { position, .. })
        | Event::Message(ServerMessage::MapChanged { position, .. }) => *last = *position,
        _ => {}
    }
}

/// Euclidean distance in world units.
pub(crate) fn distance(a: Position, b: Position) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Fails when `report` has losses, naming the worst.
pub fn check(report: &Report) -> anyhow::Result<()> {
    if let Some(worst) = report
        .losses
        .iter()
        .max_by(|a, b| a.distance.total_cmp(&b.distance))
    {
        bail!(
            "{} of {} saved positions lie beyond one save interval's travel plus the write \
             slack ({} units) of the last acknowledged one; worst {:?}",
            report.losses.len(),
            report.checked,
            report.allowed,
            worst
        );
    }
    Ok(())
}
