//! One bot: connect, then walk, shout and listen until told to stop.
//!
//! The bot counts what it receives into the shared [`Metrics`]; it keeps no
//! model of the other players beyond counting area-of-interest changes. A
//! connection that ends before the stop signal is a disconnect; the bot does
//! not reconnect, so disconnects stay visible in the numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use battlegrid_protocol::client::{ClientEndpoint, Event, GameClient, SendError};
use battlegrid_protocol::{ClientMessage, PlayerId, ServerMessage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Semaphore, watch};
use tokio::time::MissedTickBehavior;

use super::metrics::Metrics;
use super::shout::ShoutClock;
use super::walk::Walker;

/// Average time between two movement intents.
const WALK_PERIOD: Duration = Duration::from_secs(1);

/// Everything a bot needs, shared or its own.
pub struct Bot {
    /// Bot number, from 1; also its shout sender id.
    pub index: u32,
    /// Session token for `Hello`.
    pub token: String,
    /// Game listener address.
    pub addr: SocketAddr,
    /// SNI name.
    pub server_name: Arc<str>,
    /// The endpoint (shared with other bots) to connect from.
    pub endpoint: ClientEndpoint,
    /// Time between this bot's shouts; `None` for no shouting.
    pub shout_every: Option<Duration>,
    /// Seed of this bot's random walk.
    pub seed: u64,
    /// The shared shout timestamp clock.
    pub clock: ShoutClock,
    /// Limits handshakes in flight.
    pub connect_permits: Arc<Semaphore>,
    /// The shared counters.
    pub metrics: Arc<Metrics>,
}

impl Bot {
    /// Connects and plays until `stop` turns true (or the connection ends).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let metrics = self.metrics.clone();
        let connected = tokio::select! {
            connected = self.connect() => connected,
            _ = stopped(&mut stop) => None,
        };
        let Some((client, walker, me)) = connected else {
            return;
        };
        metrics.tallies.connected.fetch_add(1, Ordering::Relaxed);
        self.play(client, walker, me, stop).await;
        metrics.tallies.connected.fetch_sub(1, Ordering::Relaxed);
    }

    async fn connect(&self) -> Option<(GameClient, Walker, PlayerId)> {
        let _permit = self.connect_permits.acquire().await.ok()?;
        let started = Instant::now();
        match self
            .endpoint
            .connect(self.addr, &self.server_name, &self.token)
            .await
        {
            Ok((client, welcome)) => {
                self.metrics.record_connect(started.elapsed());
                Metrics::bump(&self.metrics.tallies.connects_ok);
                let walker = Walker::new(welcome.position, &welcome.map);
                Some((client, walker, welcome.player_id))
            }
            Err(err) => {
                Metrics::bump(&self.metrics.tallies.connect_failures);
                self.metrics.sample_error(format!("connect: {err}"));
                None
            }
        }
    }

    async fn play(
        &self,
        mut client: GameClient,
        mut walker: Walker,
        me: PlayerId,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let first_walk = Duration::from_millis(rng.random_range(0..1000));
        let mut walk_at = tokio::time::Instant::now() + first_walk;
        let mut last_advance = Instant::now();
        // Spread shouts over the period so bots do not shout in lockstep.
        let shout_every = self.shout_every.unwrap_or(Duration::from_secs(3600));
        let offset = shout_every.mul_f64(rng.random_range(0.0..1.0));
        let mut shouts =
            tokio::time::interval_at(tokio::time::Instant::now() + offset, shout_every);
        shouts.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stopped(&mut stop) => break,
                event = client.next_event() => {
                    if !self.on_event(event, me, &mut walker) {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(walk_at) => {
                    let now = Instant::now();
                    walker.advance(now.duration_since(last_advance).as_secs_f32());
                    last_advance = now;
                    let intent = walker.next_intent(&mut rng);
                    self.send(&client, &ClientMessage::Move(intent)).await;
                    walk_at += WALK_PERIOD.mul_f64(rng.random_range(0.8..1.2));
                }
                _ = shouts.tick(), if self.shout_every.is_some() => {
                    let text = self.clock.stamp(self.index);
                    if self.send(&client, &ClientMessage::Shout { text }).await {
                        Metrics::bump(&self.metrics.tallies.shouts_sent);
                    }
                }
            }
        }
        let dropped = client
            .reader_stats()
            .datagrams_dropped
            .load(Ordering::Relaxed);
        self.metrics
            .tallies
            .datagrams_dropped
            .fetch_add(dropped, Ordering::Relaxed);
        client.close("bots run finished");
    }

    /// Counts one event; `false` once the connection has ended.
    fn on_event(&self, event: Event, me: PlayerId, walker: &mut Walker) -> bool {
        let tallies = &self.metrics.tallies;
        let aoi = |n: usize| {
            tallies.aoi_updates.fetch_add(n as u64, Ordering::Relaxed);
        };
        let message = match event {
            Event::Message(message) | Event::Datagram(message) => message,
            Event::Closed(closed) => {
                Metrics::bump(&tallies.disconnects);
                self.metrics.sample_error(format!(
                    "disconnected ({:?}, code {:?}): {}",
                    closed.by,
                    closed.code.map(|c| c.0),
                    closed.reason
                ));
                return false;
            }
        };
        Metrics::bump(&tallies.messages_in);
        match message {
            // The bot's own record (sent while it walks) is not interest
            // traffic; its prediction is corrected by PositionCorrected.
            ServerMessage::StateUpdate { moved, .. } => {
                aoi(moved.iter().filter(|s| s.id != me).count())
            }
            ServerMessage::EntitiesEntered { entities } => aoi(entities.len()),
            ServerMessage::EntitiesLeft { ids } => aoi(ids.len()),
            ServerMessage::ShoutHeard { text, .. } => {
                if let Some((_, age)) = self.clock.read(&text) {
                    Metrics::bump(&tallies.shouts_heard);
                    self.metrics.record_shout(age);
                }
            }
            ServerMessage::PositionCorrected { position, .. } => {
                Metrics::bump(&tallies.corrections);
                walker.correct(position);
            }
            ServerMessage::RegionChanged { .. } => Metrics::bump(&tallies.region_changes),
            // The map changed under the bot: its position is authoritative.
            ServerMessage::MapChanged { position, .. } => walker.correct(position),
            ServerMessage::Error { code, message } => {
                Metrics::bump(&tallies.server_errors);
                self.metrics
                    .sample_error(format!("server error {}: {message}", code.0));
            }
            ServerMessage::Welcome { .. }
            | ServerMessage::Reject { .. }
            | ServerMessage::BroadcastHeard { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::ResumeToken { .. }
            | ServerMessage::Announcement { .. } => {}
        }
        true
    }

    /// Sends one message, counting the outcome; `true` if it was sent.
    async fn send(&self, client: &GameClient, message: &ClientMessage) -> bool {
        match client.send(message).await {
            Ok(()) => {
                Metrics::bump(&self.metrics.tallies.messages_out);
                true
            }
            Err(err) => {
                Metrics::bump(&self.metrics.tallies.send_failures);
                if !matches!(err, SendError::Write(_)) {
                    // A closed stream shows up as a disconnect; anything
                    // else is a bot bug worth reading about.
                    self.metrics.sample_error(format!("send: {err}"));
                }
                false
            }
        }
    }
}

/// Completes once the stop signal is set (or its sender is gone). The
/// signal's read guard is not `Send`, so it is dropped here, inside.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
