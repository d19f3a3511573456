//! The worlds the tick thread runs: one [`Simulation`] per loaded map, each
//! with its own regions, stepped together, and which world each player is
//! in.
//!
//! Maps change while the game runs ([`Worlds::apply`]): a new map becomes a
//! new world; a changed map is swapped into its world between two ticks
//! (the simulation moves players off newly blocked tiles and tells them);
//! a deleted map sends its players to the default map, greeted with
//! `MapChanged`. The default map is never removed: deleting its file keeps
//! the last good version live, because new players need somewhere to
//! start. Parsing and validation happened before, off the tick thread, so
//! nothing here reads a file.
//!
//! Every world is created at the current tick number, so the tick numbers
//! clients see (`StateUpdate.tick`, `Pong.tick`) never go backwards when a
//! player changes maps.
//!
//! Each world steps inside its own `catch_unwind`: a panic in one map's
//! simulation fails that world only ([`Stepped::failed`]); the others have
//! run their tick. The tick core then rebuilds the failed world from its
//! players' last saved places ([`Worlds::restore`]) or, when it keeps
//! failing, sends them to the default map ([`Worlds::quarantine`]). Seats
//! live here, outside the simulations, so both know who was on a failed map
//! without reading its broken simulation.
//!
//! With a recorder attached ([`Worlds::record_to`]), each world's ticks
//! also stream to it ([`recording`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use battlegrid_protocol::{PlayerId, Position};
use battlegrid_sim::{
    Input, Relocation, SettingsError, SimSettings, Simulation, SnapshotReader, TickOutput,
};

use self::recording::{Recording, Stream};
use super::config::WorldConfig;
use super::watchdog::{Heartbeat, Phase};
use crate::analytics::sampler::Snapshots;
use crate::maps::{LoadedMap, MapEvent, MapLoadError};

/// Why the worlds could not be built at start.
#[derive(Debug, thiserror::Error)]
pub enum WorldsError {
    /// The default map did not load.
    #[error(
        "the default map {name:?} is not among the maps that loaded ({loaded}){errors}; \
         set [world] default_map or fix the file (battlegrid check-maps DIR says what is wrong)"
    )]
    NoDefaultMap {
        /// `[world] default_map`.
        name: String,
        /// Names that did load, comma-separated, or "none".
        loaded: String,
        /// The load errors, one per line, or "".
        errors: String,
    },
    /// A rule in `[world]` is invalid.
    #[error("invalid [world]: {0}")]
    Settings(#[from] SettingsError),
}

/// One map and its simulation.
pub struct World {
    /// The running simulation.
    pub sim: Simulation,
    /// The live version of the map file.
    pub map: Arc<LoadedMap>,
    /// Its place in the recorder's stream.
    stream: Stream,
    /// How long its last step took, microseconds.
    pub step_us: Arc<AtomicU64>,
}

/// What readers outside the tick thread see of one world: its published
/// position snapshot (the simulation publishes one per tick, whoever
/// reads it) and its last step's duration.
#[derive(Debug, Clone)]
pub struct WorldView {
    /// The live map.
    pub map: Arc<LoadedMap>,
    /// The latest positions, by region.
    pub snapshot: SnapshotReader,
    /// The last step's duration, microseconds.
    pub step_us: Arc<AtomicU64>,
}

/// Every world's view, by map name.
pub type WorldViews = BTreeMap<String, WorldView>;

/// Where a player is.
struct Seat {
    map: Arc<str>,
    name: String,
}

/// What [`Worlds::apply`] did, for the log.
#[derive(Debug)]
pub enum Applied {
    /// A new map became a world.
    Added,
    /// A changed map was swapped in; these players had to move.
    Replaced(Vec<Relocation>),
    /// The file came back to the live content; nothing to swap.
    Unchanged,
    /// A map was removed; this many players went to the default map.
    Removed(usize),
    /// The default map's file was removed; its last good version stays.
    KeptDefault,
    /// A removal of a map that was not live, or a failed load.
    Nothing,
}

/// What one [`Worlds::step`] produced.
#[derive(Default)]
pub struct Stepped {
    /// The output of every world that stepped, in name order.
    pub outputs: Vec<(Arc<str>, TickOutput)>,
    /// The worlds whose step panicked, with the panic's message. Each must
    /// be restored or quarantined before the next step.
    pub failed: Vec<(Arc<str>, String)>,
}

/// How to put a player back into a rebuilt world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rejoin {
    /// Its last saved position on that map; `None` means a spawn point.
    pub position: Option<Position>,
    /// Whether its client has not had `Welcome` yet (it joined in the
    /// failed tick): it joins afresh instead of being moved.
    pub fresh: bool,
}

/// Why a player cannot change maps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeMapError {
    /// No map of that name is loaded.
    #[error("no map named {0:?} is loaded")]
    UnknownMap(String),
    /// The player is on that map already.
    #[error("already on map {0:?}")]
    AlreadyThere(String),
    /// The player is not in any world (it left this tick).
    #[error("not in the game")]
    NotPlaying,
}

/// Every world, and every player's seat.
pub struct Worlds {
    worlds: BTreeMap<Arc<str>, World>,
    default_map: Arc<str>,
    settings: SimSettings,
    seed: u64,
    players: HashMap<PlayerId, Seat>,
    /// Players whose `Leave` is queued but not yet run: their world still
    /// holds their live position, which a reconnect in the same tick needs.
    leaving: HashMap<PlayerId, Arc<str>>,
    /// Players moved to another map whose arrival runs in the next step.
    arriving: Vec<PlayerId>,
    tick: u64,
    /// What the watchdog reads: which world is stepping.
    beat: Arc<Heartbeat>,
    /// Every world's snapshot reader, for readers beside the tick (the
    /// analytics position sampler); republished when worlds change.
    snapshots: Snapshots,
    /// Faults armed by tests (see [`super::faults`]).
    #[cfg(any(test, feature = "fault-injection"))]
    faults: Arc<super::faults::Faults>,
    /// Where ticks are recorded, if anywhere.
    recording: Option<Recording>,
}

impl Worlds {
    /// A world per map in `maps`, with the rules of `config`; fails when the
    /// default map is not among them (`errors` explain why, if it failed).
    pub fn new(
        maps: Vec<LoadedMap>,
        errors: &[MapLoadError],
        config: &WorldConfig,
    ) -> Result<Self, WorldsError> {
        let settings = settings(config);
        settings.validate()?;
        if !maps.iter().any(|m| m.name == config.default_map) {
            let loaded: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
            return Err(WorldsError::NoDefaultMap {
                name: config.default_map.clone(),
                loaded: if loaded.is_empty() {
                    "none".to_owned()
                } else {
                    loaded.join(", ")
                },
                errors: errors.iter().map(|e| format!("\n  {e}")).collect(),
            });
        }
        let mut worlds = Self {
            worlds: BTreeMap::new(),
            default_map: Arc::from(config.default_map.as_str()),
            settings,
            seed: config.seed,
            players: HashMap::new(),
            leaving: HashMap::new(),
            arriving: Vec::new(),
            tick: 0,
            beat: Arc::default(),
            snapshots: Snapshots::default(),
            #[cfg(any(test, feature = "fault-injection"))]
            faults: Arc::default(),
            recording: None,
        };
        for map in maps {
            worlds.add(Arc::new(map));
        }
        Ok(worlds)
    }

    fn add(&mut self, map: Arc<LoadedMap>) {
        let name: Arc<str> = Arc::from(map.name.as_str());
        // Each world its own stream of random choices, the same every run.
        let seed = self.seed ^ fnv1a(name.as_bytes());
        let mut sim = Simulation::new(map.spec.clone(), self.settings.clone(), seed);
        sim.start_at_tick(self.tick);
        let mut world = World {
            sim,
            map,
            stream: Stream::default(),
            step_us: Arc::default(),
        };
        if let Some(recording) = &mut self.recording {
            recording.fresh(&name, &mut world);
        }
        self.worlds.insert(name, world);
        self.publish_snapshots();
    }

    /// Streams every world's ticks to the recorder behind `link` from the
    /// next step on.
    pub fn record_to(&mut self, link: crate::record::RecorderLink) {
        self.recording = Some(Recording::new(link));
    }

    /// Hands the outputs of the last [`Worlds::step`] (after routing) to the
    /// recorder, with the step's inputs; without a recorder, drops them.
    pub fn recorded(&mut self, outputs: Vec<(Arc<str>, TickOutput)>) {
        if let Some(recording) = &mut self.recording {
            recording.finish(outputs, &mut self.worlds);
        }
    }

    /// The live worlds' snapshot readers (kept current by the tick).
    pub fn snapshots(&self) -> Snapshots {
        Arc::clone(&self.snapshots)
    }

    fn publish_snapshots(&self) {
        let readers = self
            .worlds
            .iter()
            .map(|(name, world)| (Arc::clone(name), world.sim.snapshot_reader()))
            .collect();
        self.snapshots.store(Arc::new(readers));
    }

    /// The map `id` is on, if it is in a world.
    pub fn map_of(&self, id: PlayerId) -> Option<Arc<str>> {
        self.players.get(&id).map(|seat| Arc::clone(&seat.map))
    }

    /// The heartbeat the tick publishes for the watchdog.
    pub fn heartbeat(&self) -> Arc<Heartbeat> {
        Arc::clone(&self.beat)
    }

    /// The faults tests can arm in these worlds and their tick thread.
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn faults(&self) -> Arc<super::faults::Faults> {
        Arc::clone(&self.faults)
    }

    /// The last tick run (0 before the first).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The simulation's rules, the same in every world.
    pub fn settings(&self) -> &SimSettings {
        &self.settings
    }

    /// The map new players start on.
    pub fn default_map(&self) -> &str {
        &self.default_map
    }

    /// The live maps, by name.
    pub fn live_maps(&self) -> BTreeMap<String, Arc<LoadedMap>> {
        self.worlds
            .iter()
            .map(|(name, world)| (name.to_string(), Arc::clone(&world.map)))
            .collect()
    }

    /// The map and live position of `id`, if it is in a world (or left it
    /// during this tick).
    pub fn position(&self, id: PlayerId) -> Option<(Arc<str>, Position)> {
        let map = match self.players.get(&id) {
            Some(seat) => &seat.map,
            None => self.leaving.get(&id)?,
        };
        let position = self.worlds.get(map)?.sim.position(id)?;
        Some((Arc::clone(map), position))
    }

    /// Puts `id` in the world of `saved`'s map at its position, or on the
    /// default map (at a spawn point) when it has no saved place or that map
    /// is not loaded. The player must not be in a world already.
    pub fn join(&mut self, id: PlayerId, name: String, saved: Option<(&str, Position)>) {
        let (map, position) =
            match saved.and_then(|(m, p)| Some((self.worlds.get_key_value(m)?.0, p))) {
                Some((map, position)) => (Arc::clone(map), Some(position)),
                None => (Arc::clone(&self.default_map), None),
            };
        let Some(world) = self.worlds.get_mut(&map) else {
            tracing::error!(player = id.0, map = %map, "no world for the default map; join dropped");
            return;
        };
        world.sim.push(Input::Join {
            id,
            name: name.clone(),
            position,
        });
        self.players.insert(id, Seat { map, name });
    }

    /// Takes `id` out of its world (its position is saved by that world).
    pub fn leave(&mut self, id: PlayerId) {
        if let Some(seat) = self.players.remove(&id) {
            if let Some(world) = self.world_mut(&seat.map) {
                world.sim.push(Input::Leave { id });
            }
            self.leaving.insert(id, seat.map);
        }
    }

    /// Queues a player's command in its world.
    pub fn push(&mut self, input: Input) {
        let Some(seat) = self.players.get(&input.player()) else {
            return;
        };
        let map = Arc::clone(&seat.map);
        if let Some(world) = self.world_mut(&map) {
            world.sim.push(input);
        }
    }

    /// Moves `id` to a spawn point of map `target` (it asked with
    /// `ChangeMap`).
    pub fn change_map(&mut self, id: PlayerId, target: &str) -> Result<(), ChangeMapError> {
        if !self.worlds.contains_key(target) {
            return Err(ChangeMapError::UnknownMap(target.to_owned()));
        }
        let seat = self.players.get(&id).ok_or(ChangeMapError::NotPlaying)?;
        if &*seat.map == target {
            return Err(ChangeMapError::AlreadyThere(target.to_owned()));
        }
        let reason = format!("you moved to the map {target:?}");
        let Some((target, _)) = self.worlds.get_key_value(target) else {
            return Err(ChangeMapError::UnknownMap(target.to_owned()));
        };
        let target = Arc::clone(target);
        self.transfer(id, target, reason);
        Ok(())
    }

    /// Leave in the player's world, arrive at a spawn point of `target`
    /// (a live world: callers look it up).
    fn transfer(&mut self, id: PlayerId, target: Arc<str>, reason: String) {
        let Some(seat) = self.players.get_mut(&id) else {
            return;
        };
        let Some(world) = self.worlds.get_mut(&target) else {
            return;
        };
        world.sim.push(Input::Arrive {
            id,
            name: seat.name.clone(),
            position: None,
            reason,
        });
        let from = std::mem::replace(&mut seat.map, target);
        if let Some(world) = self.worlds.get_mut(&from) {
            world.sim.push(Input::Leave { id });
        }
        self.arriving.push(id);
    }

    /// Runs one tick of every world, in name order. A world whose step
    /// panics is reported in [`Stepped::failed`]; the others step as usual.
    pub fn step(&mut self) -> Stepped {
        self.tick += 1;
        self.leaving.clear();
        let mut stepped = Stepped::default();
        #[cfg(any(test, feature = "fault-injection"))]
        let faults = &self.faults;
        if let Some(recording) = &mut self.recording {
            recording.begin_tick(&mut self.worlds);
        }
        self.beat.phase(Phase::Step);
        for (name, world) in &mut self.worlds {
            self.beat.world(Some(name));
            // A test's injected fault panics inside the step below; the
            // recording notes it, since it is not the simulation's doing.
            #[cfg(any(test, feature = "fault-injection"))]
            let fault = faults.world_fault(name);
            #[cfg(not(any(test, feature = "fault-injection")))]
            let fault: Option<String> = None;
            let record = match &mut self.recording {
                Some(recording) => recording.before_step(world, fault.as_deref()),
                None => None,
            };
            // AssertUnwindSafe: after a panic the world's simulation may
            // hold broken invariants, but nothing reads it again: the
            // caller must restore or quarantine a failed world before the
            // next step, and both drop the simulation unread (seats, kept
            // here outside it, say who was on the map). Nothing else is
            // borrowed by the closure.
            let step = std::panic::AssertUnwindSafe(|| {
                if let Some(fault) = &fault {
                    panic!("{fault}");
                }
                world.sim.step()
            });
            let started = std::time::Instant::now();
            let result = std::panic::catch_unwind(step);
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            world.step_us.store(took, Ordering::Relaxed);
            match result {
                Ok(out) => {
                    if let Some(recording) = &mut self.recording {
                        recording.stepped(name, world, record);
                    }
                    stepped.outputs.push((Arc::clone(name), out));
                }
                Err(payload) => {
                    let why = panic_message(payload.as_ref());
                    if let Some(recording) = &mut self.recording {
                        recording.panicked(name, world, record, &why);
                    }
                    stepped.failed.push((Arc::clone(name), why));
                }
            }
        }
        self.beat.world(None);
        stepped
    }

    /// What readers outside the tick thread see of every world. Changes
    /// only when a world is added, swapped, rebuilt or removed.
    pub fn views(&self) -> WorldViews {
        self.worlds
            .iter()
            .map(|(name, world)| {
                let view = WorldView {
                    map: Arc::clone(&world.map),
                    snapshot: world.sim.snapshot_reader(),
                    step_us: Arc::clone(&world.step_us),
                };
                (name.to_string(), view)
            })
            .collect()
    }

    /// Makes `map` the map new players start on; it must be live. The
    /// default map is never removed or quarantined, so the old one may be
    /// from now on.
    pub fn set_default_map(&mut self, map: &str) -> Result<(), ChangeMapError> {
        let Some((name, _)) = self.worlds.get_key_value(map) else {
            return Err(ChangeMapError::UnknownMap(map.to_owned()));
        };
        self.default_map = Arc::clone(name);
        Ok(())
    }

    /// The live maps' names, in name order.
    pub fn map_names(&self) -> Vec<Arc<str>> {
        self.worlds.keys().cloned().collect()
    }

    /// Throws away the simulation of `map` (unread) and builds it anew at
    /// the current tick with the players seated on it, each placed as
    /// `rejoin` says: fresh ones join (greeted with `Welcome`), the others
    /// arrive (greeted with `MapChanged`, `relocated: true`, `seq: 0`).
    /// Returns the players that arrived (to be told why); empty when `map`
    /// is not live.
    pub fn restore(&mut self, map: &str, rejoin: impl Fn(PlayerId) -> Rejoin) -> Vec<PlayerId> {
        let Some(world) = self.worlds.get_mut(map) else {
            return Vec::new();
        };
        let seed = self.seed ^ fnv1a(map.as_bytes());
        world.sim = Simulation::new(world.map.spec.clone(), self.settings.clone(), seed);
        world.sim.start_at_tick(self.tick);
        if let Some(recording) = &mut self.recording {
            let name = Arc::from(map);
            recording.fresh(&name, world);
        }
        let reason = format!("the map {map:?} was restored after a server fault");
        let mut moved = Vec::new();
        for (&id, seat) in self.players.iter().filter(|(_, s)| &*s.map == map) {
            let Rejoin { position, fresh } = rejoin(id);
            let name = seat.name.clone();
            world.sim.push(if fresh {
                Input::Join { id, name, position }
            } else {
                moved.push(id);
                Input::Arrive {
                    id,
                    name,
                    position,
                    reason: reason.clone(),
                }
            });
        }
        self.publish_snapshots();
        moved
    }

    /// Takes the world of `map` out of the game (its simulation dropped
    /// unread) and sends its players to spawn points of the default map.
    /// `fresh` says which joined in the failed tick (they join there
    /// afresh). Returns how many moved, or `None` when `map` is the default
    /// map (which stays: new players need it) or not live.
    pub fn quarantine(&mut self, map: &str, fresh: impl Fn(PlayerId) -> bool) -> Option<usize> {
        if map == &*self.default_map {
            return None;
        }
        self.worlds.remove(map)?;
        if let Some(recording) = &mut self.recording {
            recording.closed(map);
        }
        self.publish_snapshots();
        let reason = format!(
            "the map {map:?} failed and is closed for now; you are on the map {:?}",
            &*self.default_map
        );
        let default = Arc::clone(&self.default_map);
        let world = self.worlds.get_mut(&default)?;
        let mut moved = 0;
        for (&id, seat) in self.players.iter_mut().filter(|(_, s)| &*s.map == map) {
            seat.map = Arc::clone(&default);
            let name = seat.name.clone();
            world.sim.push(if fresh(id) {
                Input::Join {
                    id,
                    name,
                    position: None,
                }
            } else {
                self.arriving.push(id);
                Input::Arrive {
                    id,
                    name,
                    position: None,
                    reason: reason.clone(),
                }
            });
            moved += 1;
        }
        Some(moved)
    }

    /// Where the players moved to another map by the last [`Worlds::step`]
    /// now stand. Their old world saved them on its map as they left; these
    /// must be saved after that, so that a crash does not send them back.
    pub fn take_arrivals(&mut self) -> Vec<(PlayerId, Arc<str>, Position)> {
        let arriving = std::mem::take(&mut self.arriving);
        arriving
            .into_iter()
            .filter_map(|id| {
                let (map, position) = self.position(id)?;
                Some((id, map, position))
            })
            .collect()
    }

    /// Applies a change of the maps directory, between two ticks.
    pub fn apply(&mut self, event: &MapEvent) -> Applied {
        match event {
            MapEvent::Loaded(map) => match self.worlds.get_mut(map.name.as_str()) {
                None => {
                    self.add(Arc::clone(map));
                    Applied::Added
                }
                Some(world) if world.map.content_hash == map.content_hash => Applied::Unchanged,
                Some(world) => {
                    Recording::map_replaced(world, &map.spec);
                    let moved = world.sim.replace_map(map.spec.clone());
                    world.map = Arc::clone(map);
                    Applied::Replaced(moved)
                }
            },
            MapEvent::Removed { name } => {
                if name.as_str() == &*self.default_map {
                    return Applied::KeptDefault;
                }
                let Some(world) = self.worlds.remove(name.as_str()) else {
                    return Applied::Nothing;
                };
                if let Some(recording) = &mut self.recording {
                    recording.closed(name);
                }
                self.publish_snapshots();
                let reason = format!(
                    "the map {name:?} was removed; you are on the map {:?}",
                    &*self.default_map
                );
                let default = Arc::clone(&self.default_map);
                let Some(target) = self.worlds.get_mut(&default) else {
                    return Applied::Nothing;
                };
                let mut moved = 0;
                for id in world.sim.player_ids() {
                    let Some(seat) = self.players.get_mut(&id) else {
                        continue;
                    };
                    // The old world is gone with everyone in it: no Leave
                    // to send there, only the arrival.
                    seat.map = Arc::clone(&default);
                    target.sim.push(Input::Arrive {
                        id,
                        name: seat.name.clone(),
                        position: None,
                        reason: reason.clone(),
                    });
                    self.arriving.push(id);
                    moved += 1;
                }
                Applied::Removed(moved)
            }
            MapEvent::Failed(_) => Applied::Nothing,
        }
    }

    /// The world of a seat's map. Every change that removes a world
    /// (`apply`, `quarantine`) reseats its players first, so `None` means
    /// a bug; it is logged, and the input dropped, rather than taking the
    /// tick thread down.
    fn world_mut(&mut self, name: &str) -> Option<&mut World> {
        let world = self.worlds.get_mut(name);
        if world.is_none() {
            tracing::error!(map = name, "a seat names a map with no world");
        }
        world
    }
}

/// The text of a panic's payload (what `panic!` was given), for the log.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The simulation's settings from `config`; settings `[world]` does not
/// expose keep the simulation's defaults.
pub fn settings(config: &WorldConfig) -> SimSettings {
    SimSettings {
        tick_rate_hz: config.tick_rate_hz,
        view_radius: config.view_radius,
        shout_radius: config.shout_radius,
        max_speed: config.max_speed,
        save_interval_ticks: config.save_interval_ticks,
        max_commands_per_tick: config.max_commands_per_tick,
        ..SimSettings::default()
    }
}

/// FNV-1a, to derive a stable per-map seed (std's hasher is randomised).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

mod recording;
#[cfg(test)]
mod tests;
