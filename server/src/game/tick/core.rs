//! The tick's logic without a thread, a socket or a clock: the sans-IO
//! core that the tick thread drives.
//!
//! The caller feeds [`Control`] messages in ([`TickCore::handle_control`]),
//! runs a tick at a time it names ([`TickCore::tick`]), takes the batch of
//! saves out ([`TickCore::take_saves`], handing it back with
//! [`TickCore::saves_refused`] when the saver is busy), and asks when the
//! next tick is due ([`TickCore::finish`]). Everything the tick decides
//! lives here: deadlines and skipped ticks, the flood policy, backlog
//! checks, save batching, the cache of recent leaves, and what happens
//! when a world's step panics (restore it from its players' last saves, or
//! quarantine it). Clients are [`Link`]s, so tests drive the core with
//! recording links and a made-up clock, as quinn-proto tests its
//! connection state machine.
//!
//! Commands of a client that joined this tick wait for the next one, so
//! `Welcome` is always the first message a client receives. A newer
//! connection of the same account replaces the older one: the older gets
//! `SESSION_REPLACED`, and the player leaves and re-joins in the same tick
//! at its live position. A player who left recently re-joins where the
//! tick last saw it (see [`Places`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use battlegrid_protocol::{ErrorCode, PlayerId, ServerMessage};
use battlegrid_sim::{AnalyticsEvent, CorrectionReason, Delivery, Input, TickOutput};

use super::link::Link;
use super::places::{Places, RECENT_TICKS};
use super::schedule::{Finish, Schedule, TickTimer};
use super::supervise::{Supervisor, Verdict};
use super::{Control, Joining, Save};
use crate::analytics::{Analytics, Event, MapName};
use crate::game::catalog::MapCatalog;
use crate::game::config::{QuicConfig, RecoveryConfig};
use crate::game::session::Command;
use crate::game::stats::GameStats;
use crate::game::watchdog::Phase;
use crate::game::worlds::{Applied, ChangeMapError, Rejoin, Worlds};
use crate::maps::MapEvent;

/// A joined client.
struct Route<L> {
    conn: u64,
    link: L,
    /// The tick in which the join was applied; commands are taken from the
    /// tick after it.
    joined_tick: u64,
    flood_ticks: u32,
    /// Wall-clock unix milliseconds of the join, for the session's length.
    joined_ms: u64,
}

/// Everything the core needs besides the worlds and the clock.
pub struct CoreSettings {
    /// Per-connection limits (flood, backlog).
    pub limits: QuicConfig,
    /// When a failing world is quarantined.
    pub recovery: RecoveryConfig,
    /// Ticks between statistics log lines.
    pub stats_every: u64,
}

/// The tick's state and decisions, driven by the tick thread (or a test).
pub struct TickCore<L> {
    worlds: Worlds,
    catalog: Arc<MapCatalog>,
    limits: QuicConfig,
    stats: Arc<GameStats>,
    routes: HashMap<PlayerId, Route<L>>,
    /// Latest position per player not yet handed to the saver.
    pending: HashMap<PlayerId, Save>,
    places: Places,
    schedule: Schedule,
    timer: TickTimer,
    supervisor: Supervisor,
    /// Where gameplay events go (off unless [`TickCore::set_analytics`]).
    analytics: Analytics,
}

impl<L: Link> TickCore<L> {
    /// A core over `worlds` whose first tick is due one period after `now`.
    pub fn new(
        worlds: Worlds,
        catalog: Arc<MapCatalog>,
        settings: CoreSettings,
        stats: Arc<GameStats>,
        now: Instant,
    ) -> Self {
        let period = Schedule::period_of(worlds.settings().tick_rate_hz);
        Self {
            worlds,
            catalog,
            limits: settings.limits,
            stats,
            routes: HashMap::new(),
            pending: HashMap::new(),
            places: Places::default(),
            schedule: Schedule::new(period, now),
            timer: TickTimer::new(settings.stats_every),
            supervisor: Supervisor::new(
                settings.recovery.world_failures_max,
                Duration::from_millis(settings.recovery.world_failures_window_ms),
            ),
            analytics: Analytics::off(),
        }
    }

    /// Sends gameplay events (sessions, movement, speech, moderation, map
    /// reloads, tick summaries) to `analytics`.
    pub fn set_analytics(&mut self, analytics: Analytics) {
        self.analytics = analytics;
    }

    /// The worlds (read-only).
    pub fn worlds(&self) -> &Worlds {
        &self.worlds
    }

    /// Joined clients.
    pub fn clients(&self) -> usize {
        self.routes.len()
    }

    /// Applies one message from the gateway or the map watcher; `false`
    /// when it is [`Control::Shutdown`].
    pub fn handle_control(&mut self, control: Control<L>) -> bool {
        match control {
            Control::Join(joining) => self.join(*joining),
            Control::Left { conn, player } => {
                if self.routes.get(&player).is_some_and(|r| r.conn == conn) {
                    if let Some(route) = self.routes.remove(&player) {
                        let reason = match route.link.close_code() {
                            Some(ErrorCode::KICKED) => "kicked",
                            _ => "disconnected",
                        };
                        self.end_session(player, &route, reason);
                    }
                    self.worlds.leave(player);
                    self.places.left(player, self.worlds.tick());
                }
            }
            Control::Map(event) => self.apply_map_event(&event),
            Control::SetDefaultMap { name, reply } => {
                let outcome = self
                    .worlds
                    .set_default_map(&name)
                    .map_err(|e| e.to_string());
                if outcome.is_ok() {
                    tracing::info!(map = %name, "default map set by the admin API");
                    self.catalog.set_default_map(&name);
                }
                let _ = reply.send(outcome);
            }
            Control::Shutdown => return false,
        }
        true
    }

    fn join(&mut self, joining: Joining<L>) {
        let Joining {
            conn,
            player,
            name,
            saved,
            link,
        } = joining;
        // Live place first, then a recent leave's, then the store's.
        let live = self.worlds.position(player);
        if let Some(old) = self.routes.remove(&player) {
            old.link.close(
                ErrorCode::SESSION_REPLACED,
                "the same account connected again",
            );
            self.end_session(player, &old, "replaced");
        }
        self.worlds.leave(player);
        let place = live
            .or_else(|| {
                let save = self.places.departed(player)?;
                Some((Arc::clone(&save.map), save.position))
            })
            .or_else(|| saved.map(|(m, p)| (Arc::from(m.as_str()), p)));
        self.worlds
            .join(player, name, place.as_ref().map(|(m, p)| (&**m, *p)));
        self.places.joined(
            player,
            place.map(|(map, position)| Save {
                id: player,
                map,
                position,
            }),
        );
        self.routes.insert(
            player,
            Route {
                conn,
                link,
                joined_tick: self.worlds.tick() + 1,
                flood_ticks: 0,
                joined_ms: crate::auth::now_ms(),
            },
        );
        if let Some(map) = self.worlds.map_of(player) {
            self.analytics.emit(
                Some(self.worlds.tick()),
                Event::SessionStart {
                    account: player.0,
                    map: MapName(map),
                },
            );
        }
    }

    /// Records the end of `player`'s session (before it leaves its world).
    fn end_session(&self, player: PlayerId, route: &Route<L>, reason: &str) {
        if !self.analytics.is_on() {
            return;
        }
        self.analytics.emit(
            Some(self.worlds.tick()),
            Event::SessionEnd {
                account: player.0,
                map: self.worlds.map_of(player).map(MapName),
                duration_ms: crate::auth::now_ms().saturating_sub(route.joined_ms),
                reason: reason.to_owned(),
            },
        );
    }

    /// Passes one world's gameplay events on, with its map's name.
    fn record_events(&self, map: &Arc<str>, out: &TickOutput) {
        if !self.analytics.is_on() {
            return;
        }
        let tick = Some(out.tick);
        let map = || MapName::from(map);
        for event in &out.analytics {
            let event = match event {
                // Sessions and map changes say who entered or left a world.
                AnalyticsEvent::Joined { .. } | AnalyticsEvent::Left { .. } => continue,
                AnalyticsEvent::Shout {
                    id,
                    recipients,
                    text,
                } => Event::Shout {
                    account: id.0,
                    map: map(),
                    bytes: text.len() as u32,
                    recipients: *recipients,
                    text: self.analytics.text(text),
                },
                AnalyticsEvent::Broadcast {
                    id,
                    region,
                    recipients,
                    text,
                } => Event::Broadcast {
                    account: id.0,
                    map: map(),
                    region: region.0,
                    bytes: text.len() as u32,
                    recipients: *recipients,
                    text: self.analytics.text(text),
                },
                AnalyticsEvent::RegionChanged { id, from, to } => Event::RegionChange {
                    account: id.0,
                    map: map(),
                    from: from.0,
                    to: to.0,
                },
                AnalyticsEvent::Corrected { id, reason } => Event::Correction {
                    account: id.0,
                    map: map(),
                    reason: match reason {
                        CorrectionReason::Drift => "drift",
                        CorrectionReason::SpeedCapped => "speed_capped",
                    }
                    .to_owned(),
                },
                AnalyticsEvent::TickSummary {
                    players, messages, ..
                } => Event::TickSummary {
                    map: map(),
                    players: *players,
                    messages: *messages,
                },
                AnalyticsEvent::InvalidInput { id, code } => Event::InvalidInput {
                    account: id.0,
                    map: map(),
                    code: code.0,
                },
            };
            self.analytics.emit(tick, event);
        }
    }

    /// Runs one tick at `now`: commands in, every world stepped (a world
    /// that panics is restored or quarantined), outboxes to the clients,
    /// backlogs checked, saves collected.
    pub fn tick(&mut self, now: Instant) {
        let beat = self.worlds.heartbeat();
        beat.phase(Phase::Commands);
        self.take_commands();
        let stepped = self.worlds.step();
        beat.phase(Phase::Route);
        let tick = self.worlds.tick();
        for (map, out) in &stepped.outputs {
            self.route(out);
            self.record_events(map, out);
            for save in &out.saves {
                let save = Save::on(map, save);
                let playing = self.routes.contains_key(&save.id);
                self.places.saved(save.clone(), playing, tick);
                self.pending.insert(save.id, save);
            }
        }
        // Routed: the recorder may have them (moved, not copied).
        self.worlds.recorded(stepped.outputs);
        // After the leave saves of their old worlds, so these win.
        for (id, map, position) in self.worlds.take_arrivals() {
            let save = Save { id, map, position };
            self.places.saved(save.clone(), true, tick);
            self.pending.insert(id, save);
        }
        for (map, why) in stepped.failed {
            self.world_failed(&map, &why, now);
        }
        self.check_backlogs(now);
        if tick.is_multiple_of(RECENT_TICKS) {
            self.places
                .forget_departed_before(tick.saturating_sub(RECENT_TICKS));
        }
    }

    /// The tick thread panicked outside the world steps (the panic left
    /// this tick half done): every world is rebuilt from its players' last
    /// saves, as if each had failed, and the loop goes on.
    pub fn recover(&mut self, why: &str) {
        self.worlds.heartbeat().phase(Phase::Recover);
        GameStats::bump(&self.stats.tick_restarts);
        tracing::error!(
            tick = self.worlds.tick(),
            why,
            "the tick panicked outside a world; restoring every world from the saves"
        );
        // Joins of a tick that panicked before its step have not been
        // welcomed; earlier ones have.
        let fresh_from = self.worlds.tick() + 1;
        for map in self.worlds.map_names() {
            self.restore(&map, fresh_from);
        }
    }

    /// The batch of saves to hand to the saver, if any.
    pub fn take_saves(&mut self) -> Option<Vec<Save>> {
        (!self.pending.is_empty()).then(|| self.pending.drain().map(|(_, s)| s).collect())
    }

    /// The saver was busy: keep `batch` for the next tick, unless a newer
    /// position of the same player is already waiting.
    pub fn saves_refused(&mut self, batch: Vec<Save>) {
        for save in batch {
            self.pending.entry(save.id).or_insert(save);
        }
    }

    /// The tick that started at `started` ended at `now`: records its
    /// duration and says when the next tick starts (`None`: at once, the
    /// tick overran; missed deadlines are skipped and counted).
    pub fn finish(&mut self, started: Instant, now: Instant) -> Option<Instant> {
        self.timer.record(
            now.saturating_duration_since(started),
            self.routes.len(),
            &self.stats,
        );
        match self.schedule.finished(now) {
            Finish::OnTime { next } => Some(next),
            Finish::Overran { skipped } => {
                GameStats::bump(&self.stats.tick_overruns);
                GameStats::add(&self.stats.ticks_skipped, u64::from(skipped));
                None
            }
        }
    }

    /// Closes every client with `SHUTTING_DOWN`, lets every player leave
    /// and returns every position still to save.
    pub fn shut_down(mut self) -> Vec<Save> {
        for (&player, route) in &self.routes {
            route
                .link
                .close(ErrorCode::SHUTTING_DOWN, "the server is shutting down");
            self.end_session(player, route, "shutdown");
        }
        let players: Vec<PlayerId> = self.routes.keys().copied().collect();
        for player in players {
            self.worlds.leave(player);
        }
        let stepped = self.worlds.step();
        for (map, out) in &stepped.outputs {
            for save in &out.saves {
                self.pending.insert(save.id, Save::on(map, save));
            }
        }
        // A world that panics now cannot save its players; their last
        // saves (already with the saver or in the store) stand.
        for (map, why) in &stepped.failed {
            tracing::error!(map = %map, why, "a world panicked while shutting down");
        }
        tracing::info!(
            players = self.routes.len(),
            tick = self.worlds.tick(),
            "tick loop stopped"
        );
        self.pending.into_values().collect()
    }

    /// Moves each joined client's commands (at most the budget) into the
    /// simulation; closes clients that keep flooding.
    fn take_commands(&mut self) {
        let budget = self.worlds.settings().max_commands_per_tick;
        let tick = self.worlds.tick();
        let mut flooders = Vec::new();
        for (&player, route) in &mut self.routes {
            if route.joined_tick > tick {
                continue;
            }
            let mut taken = 0;
            while taken < budget {
                let Some(command) = route.link.command() else {
                    break;
                };
                taken += 1;
                apply(
                    &mut self.worlds,
                    player,
                    command,
                    &route.link,
                    &self.analytics,
                );
            }
            let mut dropped = 0;
            while route.link.command().is_some() {
                dropped += 1;
            }
            GameStats::add(&self.stats.commands_dropped, dropped);
            if dropped > 0 || route.link.take_overflowed() {
                route.flood_ticks += 1;
                if route.flood_ticks == 1 {
                    route.link.reliable(encode(&ServerMessage::Error {
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
            if let Some(route) = self.routes.remove(&player) {
                GameStats::bump(&self.stats.rate_limited);
                route.link.close(
                    ErrorCode::RATE_LIMITED,
                    "over the command budget for too many ticks",
                );
                self.analytics.emit(
                    Some(tick),
                    Event::FloodDisconnect {
                        account: player.0,
                        map: self.worlds.map_of(player).map(MapName),
                    },
                );
                self.end_session(player, &route, "rate_limited");
                self.worlds.leave(player);
                self.places.left(player, tick);
            }
        }
    }

    /// Hands one world's outbox to the clients.
    fn route(&self, out: &TickOutput) {
        let mut replaced = 0u64;
        for envelope in &out.outbox {
            let Some(route) = self.routes.get(&envelope.to) else {
                continue;
            };
            match envelope.delivery {
                Delivery::Reliable => route.link.reliable(envelope.bytes.clone()),
                Delivery::Datagram => {
                    replaced += route.link.datagram(out.tick, envelope.bytes.clone()) as u64
                }
            }
        }
        GameStats::add(&self.stats.datagrams_dropped, replaced);
    }

    /// Wakes every writer and closes the clients that do not drain their
    /// reliable traffic.
    fn check_backlogs(&mut self, now: Instant) {
        let limit = self.limits.reliable_backlog_bytes;
        let grace = Duration::from_millis(self.limits.too_slow_ms);
        let mut slow = Vec::new();
        for (&player, route) in &self.routes {
            route.link.flush();
            if let Some(reason) = route.link.backlog(now, limit, grace) {
                slow.push((player, reason));
            }
        }
        for (player, reason) in slow {
            if let Some(route) = self.routes.remove(&player) {
                GameStats::bump(&self.stats.too_slow);
                route.link.close_now(ErrorCode::TOO_SLOW, &reason);
                self.end_session(player, &route, "too_slow");
                self.worlds.leave(player);
                self.places.left(player, self.worlds.tick());
            }
        }
    }

    /// The world of `map` panicked in its step at `now`.
    fn world_failed(&mut self, map: &Arc<str>, why: &str, now: Instant) {
        GameStats::bump(&self.stats.world_failures);
        let verdict = self.supervisor.failed(map, now);
        tracing::error!(map = %map, tick = self.worlds.tick(), why, ?verdict, "a world's step panicked");
        if verdict == Verdict::Quarantine {
            let tick = self.worlds.tick();
            let routes = &self.routes;
            let fresh = |id| routes.get(&id).is_some_and(|r| r.joined_tick >= tick);
            match self.worlds.quarantine(map, fresh) {
                Some(moved) => {
                    GameStats::bump(&self.stats.worlds_quarantined);
                    tracing::error!(
                        map = %map, moved, default = %self.worlds.default_map(),
                        "a world kept failing and is quarantined; its players went to the default map"
                    );
                    self.publish_worlds();
                    return;
                }
                None => tracing::error!(
                    map = %map,
                    "the default map keeps failing; it cannot be quarantined and is restored again"
                ),
            }
        }
        // Joins of this tick were in the failed step: not welcomed.
        self.restore(map, self.worlds.tick());
    }

    /// Rebuilds the world of `map` from its players' last saves and tells
    /// the players that were already playing there; clients that joined at
    /// tick `fresh_from` or later have had no `Welcome` and join afresh.
    fn restore(&mut self, map: &Arc<str>, fresh_from: u64) {
        let tick = self.worlds.tick();
        let (routes, places) = (&self.routes, &self.places);
        let moved = self.worlds.restore(map, |id| Rejoin {
            position: places
                .playing(id)
                .filter(|save| save.map == *map)
                .map(|save| save.position),
            // Joined in this tick: no Welcome went out yet.
            fresh: routes.get(&id).is_some_and(|r| r.joined_tick >= fresh_from),
        });
        GameStats::bump(&self.stats.worlds_restored);
        self.catalog.set_views(self.worlds.views());
        let notice = encode(&ServerMessage::Error {
            code: ErrorCode::WORLD_RESTORED,
            message: format!(
                "the map {map:?} was restored after a server fault; you are back at your last saved place"
            ),
        });
        for id in &moved {
            if let Some(route) = self.routes.get(id) {
                route.link.reliable(notice.clone());
            }
        }
        tracing::warn!(map = %map, players = moved.len(), tick, "world restored from the saves");
    }

    /// Applies a map change between two ticks, logs it with the map's name
    /// and content hash, and publishes the live maps.
    fn apply_map_event(&mut self, event: &MapEvent) {
        let applied = self.worlds.apply(event);
        self.record_map_event(event, &applied);
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
        self.publish_worlds();
    }

    /// Publishes the live maps and each world's view: after any change of
    /// the set of worlds or of a world's simulation (never per tick).
    fn publish_worlds(&self) {
        self.catalog.set_live(self.worlds.live_maps());
        self.catalog.set_views(self.worlds.views());
    }
}

/// Applies one command of `id` (its client is `link`).
fn apply<L: Link>(
    worlds: &mut Worlds,
    id: PlayerId,
    command: Command,
    link: &L,
    analytics: &Analytics,
) {
    match command {
        Command::Move(intent) => worlds.push(Input::Move { id, intent }),
        Command::Shout(text) => worlds.push(Input::Shout { id, text }),
        Command::Broadcast(text) => worlds.push(Input::Broadcast { id, text }),
        Command::Ping(nonce) => link.reliable(encode(&ServerMessage::Pong {
            nonce,
            tick: worlds.tick(),
        })),
        Command::ChangeMap(map) => {
            let from = worlds.map_of(id);
            let changed = worlds.change_map(id, &map);
            if let (Ok(()), Some(from)) = (&changed, from) {
                analytics.emit(
                    Some(worlds.tick()),
                    Event::MapChange {
                        account: id.0,
                        from: MapName(from),
                        to: MapName::from(map.as_str()),
                        reason: "asked".to_owned(),
                    },
                );
            }
            if let Err(err) = changed {
                let code = match err {
                    ChangeMapError::UnknownMap(_) => ErrorCode::UNKNOWN_MAP,
                    ChangeMapError::AlreadyThere(_) | ChangeMapError::NotPlaying => {
                        ErrorCode::INVALID_VALUE
                    }
                };
                link.reliable(encode(&ServerMessage::Error {
                    code,
                    message: err.to_string(),
                }));
            }
        }
        Command::Refused(code, message) => {
            // Refused by the connection's validation before the simulation
            // saw it; the simulation records its own refusals.
            if let Some(map) = worlds.map_of(id) {
                analytics.emit(
                    Some(worlds.tick()),
                    Event::InvalidInput {
                        account: id.0,
                        map: MapName(map),
                        code: code.0,
                    },
                );
            }
            link.reliable(encode(&ServerMessage::Error { code, message }))
        }
    }
}

fn encode(message: &ServerMessage) -> bytes::Bytes {
    battlegrid_sim::outbox::encode(message)
}

impl<L: Link> TickCore<L> {
    /// Records what a map event did as a `map_reload` event.
    fn record_map_event(&self, event: &MapEvent, applied: &Applied) {
        let (map, result, relocated) = match (event, applied) {
            (MapEvent::Loaded(map), Applied::Added) => (map.name.clone(), "loaded", 0),
            (MapEvent::Loaded(map), Applied::Replaced(moved)) => {
                (map.name.clone(), "reloaded", moved.len())
            }
            (MapEvent::Loaded(map), _) => (map.name.clone(), "unchanged", 0),
            (MapEvent::Removed { name }, Applied::Removed(moved)) => {
                (name.clone(), "removed", *moved)
            }
            (MapEvent::Removed { name }, Applied::KeptDefault) => (name.clone(), "kept_default", 0),
            // A file that was never live: nothing changed for players.
            (MapEvent::Removed { .. }, _) => return,
            (MapEvent::Failed(error), _) => (
                crate::maps::map_name(&error.file)
                    .unwrap_or_else(|| error.file.display().to_string()),
                "refused",
                0,
            ),
        };
        self.analytics.emit(
            Some(self.worlds.tick()),
            Event::MapReload {
                map: MapName::from(map.as_str()),
                result: result.to_owned(),
                relocated: relocated as u32,
            },
        );
    }
}
