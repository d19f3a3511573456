//! The tick thread: the bridge between connections and the simulation.
//!
//! One dedicated OS thread owns the [`Worlds`] (a simulation per map) and
//! runs them at the configured rate on a fixed schedule of deadlines. Each
//! tick it
//! 1. applies joins and leaves from the gateway and map changes from the
//!    watcher ([`Control`]), in order, so a map swap always falls between
//!    two ticks;
//! 2. takes at most `max_commands_per_tick` commands from each joined
//!    client's bounded queue, drops the rest (counted) and counts the tick
//!    as flooding; `flood_ticks` flooding ticks in a row close the client
//!    with `RATE_LIMITED`;
//! 3. steps every world and hands each envelope of the outbox to its
//!    connection's [`Peer`] without waiting (a slow client never slows the
//!    tick), then checks every peer's reliable backlog (`TOO_SLOW`);
//! 4. passes position saves to the saver task, batched and deduplicated.
//!
//! Overrun policy: when a tick ends after the next deadline, the next tick
//! starts at once and every deadline already missed is skipped (counted in
//! `ticks_skipped`), so the schedule never tries to catch up with a burst of
//! ticks; overruns are logged at most once per stats interval.
//!
//! Commands of a client that joined this tick wait for the next one, so
//! `Welcome` is always the first message a client receives. A newer
//! connection of the same account replaces the older one: the older gets
//! `SESSION_REPLACED`, and the player leaves and re-joins in the same tick
//! at its live position. A player who left recently re-joins where the
//! tick last saw it, not at the position the gateway read from the store,
//! which may predate a save still on its way (see [`Recent`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use battlegrid_protocol::{ErrorCode, PlayerId, Position, ServerMessage};
use battlegrid_sim::{Delivery, Input, SavePosition, TickOutput};
use tokio::sync::mpsc;

use super::catalog::MapCatalog;
use super::config::QuicConfig;
use super::peer::Peer;
use super::session::Command;
use super::stats::GameStats;
use super::worlds::{Applied, ChangeMapError, Worlds};
use crate::maps::MapEvent;

/// A message from the gateway and the connection tasks to the tick thread.
#[derive(Debug)]
pub enum Control {
    /// A client passed `Hello`; put it in the world.
    Join(Box<Joining>),
    /// Connection `conn` of `player` ended.
    Left {
        /// The connection's number.
        conn: u64,
        /// Its player.
        player: PlayerId,
    },
    /// The maps directory changed (already parsed and validated).
    Map(MapEvent),
    /// Close everyone, save everything, stop.
    Shutdown,
}

/// Everything the tick needs about a joining client.
#[derive(Debug)]
pub struct Joining {
    /// The connection's number (unique for the process).
    pub conn: u64,
    /// The player (its account id).
    pub player: PlayerId,
    /// Display name.
    pub name: String,
    /// Saved map and position, if any.
    pub saved: Option<SavedPlace>,
    /// Its outbound side.
    pub peer: Arc<Peer>,
    /// Its command queue.
    pub commands: mpsc::Receiver<Command>,
}

/// Where a player was saved: a map's name and a position on it.
pub type SavedPlace = (String, Position);

/// A position to save.
#[derive(Debug, Clone, PartialEq)]
pub struct Save {
    /// Whose.
    pub id: PlayerId,
    /// On which map.
    pub map: Arc<str>,
    /// Where.
    pub position: Position,
}

impl Save {
    /// A save the world of `map` asked for.
    fn on(map: &Arc<str>, save: &SavePosition) -> Self {
        Self {
            id: save.id,
            map: Arc::clone(map),
            position: save.position,
        }
    }
}

/// How long the tick remembers where a departed player stood: far longer
/// than a save takes to reach the store. 1200 ticks is a minute at 20 Hz.
const RECENT_TICKS: u64 = 1200;

/// Where players that left recently stood, by the tick they were saved.
/// A reconnect can read the store before the leave's save is written; this
/// keeps such a player from jumping back to an older saved position.
#[derive(Default)]
struct Recent(HashMap<PlayerId, (Save, u64)>);

impl Recent {
    fn forget_older_than(&mut self, tick: u64) {
        self.0.retain(|_, (_, at)| *at >= tick);
    }
}

struct Route {
    conn: u64,
    peer: Arc<Peer>,
    commands: mpsc::Receiver<Command>,
    /// The tick in which the join was applied; commands are taken from the
    /// tick after it.
    joined_tick: u64,
    flood_ticks: u32,
}

/// What the tick thread needs besides the simulation.
pub struct TickLoop {
    /// A simulation per map.
    pub worlds: Worlds,
    /// Where the live maps are published for HTTP readers.
    pub catalog: Arc<MapCatalog>,
    /// Joins, leaves, shutdown.
    pub control: Receiver<Control>,
    /// Batches of positions for the saver task.
    pub saves: mpsc::Sender<Vec<Save>>,
    /// Per-connection limits.
    pub limits: QuicConfig,
    /// Ticks between statistics log lines.
    pub stats_every: u64,
    /// Shared counters.
    pub stats: Arc<GameStats>,
}

impl TickLoop {
    /// Runs until [`Control::Shutdown`] (or every sender is gone), then
    /// closes all clients with `SHUTTING_DOWN` and hands every player's
    /// position to the saver.
    pub fn run(mut self) {
        let period = Duration::from_secs_f64(1.0 / f64::from(self.worlds.settings().tick_rate_hz));
        let mut routes: HashMap<PlayerId, Route> = HashMap::new();
        let mut pending_saves: HashMap<PlayerId, Save> = HashMap::new();
        let mut recent = Recent::default();
        let mut timer = TickTimer::new(self.stats_every);
        let mut deadline = Instant::now() + period;
        loop {
            let started = Instant::now();
            let stop = self.apply_control(&mut routes, &recent);
            if stop {
                self.shut_down(routes, pending_saves);
                return;
            }
            self.take_commands(&mut routes);
            let outputs = self.worlds.step();
            let tick = self.worlds.tick();
            for (map, out) in &outputs {
                self.route(out, &mut routes);
                for save in &out.saves {
                    let save = Save::on(map, save);
                    if !routes.contains_key(&save.id) {
                        recent.0.insert(save.id, (save.clone(), tick));
                    }
                    pending_saves.insert(save.id, save);
                }
            }
            // After the leave saves of their old worlds, so these win.
            for (id, map, position) in self.worlds.take_arrivals() {
                pending_saves.insert(id, Save { id, map, position });
            }
            self.check_backlogs(&mut routes);
            if tick.is_multiple_of(RECENT_TICKS) {
                recent.forget_older_than(tick.saturating_sub(RECENT_TICKS));
            }
            if !pending_saves.is_empty() {
                let batch: Vec<Save> = pending_saves.drain().map(|(_, s)| s).collect();
                if let Err(err) = self.saves.try_send(batch) {
                    // The saver is busy: keep the latest positions for later.
                    let batch = match err {
                        mpsc::error::TrySendError::Full(b)
                        | mpsc::error::TrySendError::Closed(b) => b,
                    };
                    pending_saves.extend(batch.into_iter().map(|s| (s.id, s)));
                }
            }
            let now = Instant::now();
            timer.record(now - started, routes.len(), &self.stats);
            if now < deadline {
                std::thread::sleep(deadline - now);
            } else {
                GameStats::bump(&self.stats.tick_overruns);
                let behind = now - deadline;
                let skipped = (behind.as_nanos() / period.as_nanos().max(1)) as u32;
                GameStats::add(&self.stats.ticks_skipped, u64::from(skipped));
                deadline += period * skipped;
            }
            deadline += period;
        }
    }

    /// Applies queued joins and leaves; `true` when told to stop.
    fn apply_control(&mut self, routes: &mut HashMap<PlayerId, Route>, recent: &Recent) -> bool {
        loop {
            match self.control.try_recv() {
                Ok(Control::Join(joining)) => {
                    let Joining {
                        conn,
                        player,
                        name,
                        saved,
                        peer,
                        commands,
                    } = *joining;
                    // Live place first, then a recent leave's, then the store's.
                    let live = self.worlds.position(player);
                    if let Some(old) = routes.remove(&player) {
                        old.peer.close(
                            ErrorCode::SESSION_REPLACED,
                            "the same account connected again",
                        );
                    }
                    self.worlds.leave(player);
                    let place = live
                        .or_else(|| {
                            let (save, _) = recent.0.get(&player)?;
                            Some((Arc::clone(&save.map), save.position))
                        })
                        .map(|(m, p)| (m.to_string(), p))
                        .or(saved);
                    self.worlds
                        .join(player, name, place.as_ref().map(|(m, p)| (m.as_str(), *p)));
                    routes.insert(
                        player,
                        Route {
                            conn,
                            peer,
                            commands,
                            joined_tick: self.worlds.tick() + 1,
                            flood_ticks: 0,
                        },
                    );
                }
                Ok(Control::Left { conn, player }) => {
                    if routes.get(&player).is_some_and(|r| r.conn == conn) {
                        routes.remove(&player);
                        self.worlds.leave(player);
                    }
                }
                Ok(Control::Map(event)) => self.apply_map_event(&event),
                Ok(Control::Shutdown) | Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => return false,
            }
        }
    }

    /// Moves each joined client's commands (at most the budget) into the
    /// simulation; closes clients that keep flooding.
    fn take_commands(&mut self, routes: &mut HashMap<PlayerId, Route>) {
        let budget = self.worlds.settings().max_commands_per_tick;
        let tick = self.worlds.tick();
        let mut flooders = Vec::new();
        for (&player, route) in routes.iter_mut() {
            if route.joined_tick > tick {
                continue;
            }
            let mut taken = 0;
            while taken < budget {
                let Ok(command) = route.commands.try_recv() else {
                    break;
                };
                taken += 1;
                self.apply(player, command, &route.peer);
            }
            let mut dropped = 0;
            while route.commands.try_recv().is_ok() {
                dropped += 1;
            }
            GameStats::add(&self.stats.commands_dropped, dropped);
            if dropped > 0 || route.peer.take_overflowed() {
                route.flood_ticks += 1;
                if route.flood_ticks == 1 {
                    route.peer.push_reliable(encode(&ServerMessage::Error {
                        code: ErrorCode::COMMANDS_DROPPED,
                        message: format!("more than {budget} commands in one tick; excess dropped"),
                    }));
                }
                if route.flood_ticks >= self.limits.flood_ticks.max(1) {
                    flooders.push(player);
                }
            } else {
                route.flood_ticks = 0;
            }
        }
        for player in flooders {
            if let Some(route) = routes.remove(&player) {
                GameStats::bump(&self.stats.rate_limited);
                route.peer.close(
                    ErrorCode::RATE_LIMITED,
                    "over the command budget for too many ticks",
                );
                self.worlds.leave(player);
            }
        }
    }

    fn apply(&mut self, id: PlayerId, command: Command, peer: &Peer) {
        match command {
            Command::Move(intent) => self.worlds.push(Input::Move { id, intent }),
            Command::Shout(text) => self.worlds.push(Input::Shout { id, text }),
            Command::Broadcast(text) => self.worlds.push(Input::Broadcast { id, text }),
            Command::Ping(nonce) => peer.push_reliable(encode(&ServerMessage::Pong {
                nonce,
                tick: self.worlds.tick(),
            })),
            Command::ChangeMap(map) => {
                if let Err(err) = self.worlds.change_map(id, &map) {
                    let code = match err {
                        ChangeMapError::UnknownMap(_) => ErrorCode::UNKNOWN_MAP,
                        ChangeMapError::AlreadyThere(_) | ChangeMapError::NotPlaying => {
                            ErrorCode::INVALID_VALUE
                        }
                    };
                    peer.push_reliable(encode(&ServerMessage::Error {
                        code,
                        message: err.to_string(),
                    }));
                }
            }
            Command::Refused(code, message) => {
                peer.push_reliable(encode(&ServerMessage::Error { code, message }))
            }
        }
    }

    /// Hands one world's outbox to the peers.
    fn route(&mut self, out: &TickOutput, routes: &mut HashMap<PlayerId, Route>) {
        let mut replaced = 0u64;
        for envelope in &out.outbox {
            let Some(route) = routes.get(&envelope.to) else {
                continue;
            };
            match envelope.delivery {
                Delivery::Reliable => route.peer.push_reliable(envelope.bytes.clone()),
                Delivery::Datagram => {
                    replaced += route.peer.push_datagram(out.tick, envelope.bytes.clone()) as u64
                }
            }
        }
        GameStats::add(&self.stats.datagrams_dropped, replaced);
    }

    /// Wakes every writer and closes the clients that do not drain their
    /// reliable traffic.
    fn check_backlogs(&mut self, routes: &mut HashMap<PlayerId, Route>) {
        let now = Instant::now();
        let limit = self.limits.reliable_backlog_bytes;
        let grace = Duration::from_millis(self.limits.too_slow_ms);
        let mut slow = Vec::new();
        for (&player, route) in routes.iter() {
            route.peer.flush();
            if let Some(reason) = route.peer.check_backlog(now, limit, grace) {
                slow.push((player, reason));
            }
        }
        for (player, reason) in slow {
            if let Some(route) = routes.remove(&player) {
                GameStats::bump(&self.stats.too_slow);
                route.peer.close_now(ErrorCode::TOO_SLOW, &reason);
                self.worlds.leave(player);
            }
        }
    }

    /// Tells every client, lets every player leave, and hands all positions
    /// to the saver (waiting for room: shutdown must not lose them).
    fn shut_down(mut self, routes: HashMap<PlayerId, Route>, mut pending: HashMap<PlayerId, Save>) {
        for (&player, route) in &routes {
            route
                .peer
                .close(ErrorCode::SHUTTING_DOWN, "the server is shutting down");
            self.worlds.leave(player);
        }
        for (map, out) in self.worlds.step() {
            for save in &out.saves {
                pending.insert(save.id, Save::on(&map, save));
            }
        }
        let players = routes.len();
        if !pending.is_empty()
            && self
                .saves
                .blocking_send(pending.into_values().collect())
                .is_err()
        {
            tracing::error!("the saver stopped before the final positions were handed over");
        }
        tracing::info!(players, tick = self.worlds.tick(), "tick loop stopped");
    }

    /// Applies a map change between two ticks, logs it with the map's name
    /// and content hash, and publishes the live maps.
    fn apply_map_event(&mut self, event: &MapEvent) {
        let applied = self.worlds.apply(event);
        match (event, &applied) {
            (MapEvent::Loaded(map), Applied::Added) => {
                tracing::info!(map = %map.name, hash = %map.content_hash, "map loaded");
            }
            (MapEvent::Loaded(map), Applied::Replaced(moved)) => {
                // Per player at debug only: a reload can move thousands, and
                // this runs on the tick thread.
                for r in moved {
                    tracing::debug!(
                        map = %map.name, player = r.id.0, from = ?r.from, to = ?r.to,
                        why = ?r.why, "player moved by a map change"
                    );
                }
                tracing::info!(
                    map = %map.name, hash = %map.content_hash, relocated = moved.len(),
                    "map reloaded"
                );
            }
            (MapEvent::Loaded(map), _) => {
                tracing::info!(map = %map.name, hash = %map.content_hash, "map file unchanged");
            }
            (MapEvent::Removed { name }, Applied::Removed(moved)) => {
                tracing::info!(
                    map = %name, moved, default = %self.worlds.default_map(),
                    "map removed; its players went to the default map"
                );
            }
            (MapEvent::Removed { name }, Applied::KeptDefault) => {
                tracing::error!(
                    map = %name,
                    "the default map's file was removed; its last good version stays live"
                );
            }
            (MapEvent::Removed { name }, _) => {
                tracing::info!(map = %name, "file of a map that was not live removed");
            }
            (MapEvent::Failed(error), _) => {
                tracing::warn!(%error, "map refused; the live version (if any) stays");
            }
        }
        self.catalog.set_live(self.worlds.live_maps());
    }
}

fn encode(message: &ServerMessage) -> bytes::Bytes {
    battlegrid_sim::outbox::encode(message)
}

/// Tick-time statistics, logged every `every` ticks.
struct TickTimer {
    every: u64,
    ticks: u64,
    histogram: hdrhistogram::Histogram<u64>,
    overruns_logged: u64,
}

impl TickTimer {
    fn new(every: u64) -> Self {
        Self {
            every: every.max(1),
            ticks: 0,
            // Microseconds from 1 µs to 60 s at 3 significant digits.
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("static histogram bounds are valid"),
            overruns_logged: 0,
        }
    }

    fn record(&mut self, took: Duration, clients: usize, stats: &GameStats) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
        self.ticks += 1;
        GameStats::bump(&stats.ticks);
        GameStats::set(&stats.players, clients as u64);
        if !self.ticks.is_multiple_of(self.every) {
            return;
        }
        let window = &stats.tick_window;
        GameStats::set(&window.p50_us, self.histogram.value_at_quantile(0.5));
        GameStats::set(&window.p99_us, self.histogram.value_at_quantile(0.99));
        GameStats::set(&window.max_us, self.histogram.max());
        let overruns = GameStats::get(&stats.tick_overruns);
        let new_overruns = overruns - self.overruns_logged;
        self.overruns_logged = overruns;
        tracing::info!(
            clients,
            p50_us = self.histogram.value_at_quantile(0.5),
            p99_us = self.histogram.value_at_quantile(0.99),
            max_us = self.histogram.max(),
            overruns = new_overruns,
            skipped_total = GameStats::get(&stats.ticks_skipped),
            commands_dropped = GameStats::get(&stats.commands_dropped),
            datagrams_dropped = GameStats::get(&stats.datagrams_dropped),
            "tick stats"
        );
        if new_overruns > 0 {
            tracing::warn!(overruns = new_overruns, "ticks overran their deadline");
        }
        self.histogram.reset();
    }
}
