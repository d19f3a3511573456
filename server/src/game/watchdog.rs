//! The tick watchdog: notices a tick that does not finish, says where it
//! is stuck, tells the health endpoints, and ends the process when it
//! stays stuck, so that a process supervisor (deploy/battlegrid.service)
//! starts a fresh one from the saves.
//!
//! The tick thread publishes a [`Heartbeat`]: when the running tick
//! started, its phase, and which map's world is stepping. It costs the tick
//! a few relaxed atomic stores and one uncontended lock per world. The
//! watchdog thread reads it a few times per warning deadline:
//! - past `tick_stall_warn_ms` (default 1 s) it logs a warning naming the
//!   phase and the world, once per stuck tick, and counts it
//!   (`battlegrid_tick_stalls_total`); `/healthz` and `/readyz` answer 503
//!   with the same reason meanwhile ([`Health`]);
//! - past `tick_stall_exit_ms` (default 10 s) it logs an error and exits
//!   the process with [`EXIT_TICK_STUCK`].
//!
//! A tick thread that died (a panic the tick loop could not recover from)
//! counts as stuck from the moment it died. What this module leaves out:
//! restarting anything itself; restarts are the supervisor's job.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::config::RecoveryConfig;
use super::stats::GameStats;

/// The exit code of a process the watchdog ends (`EX_SOFTWARE` of
/// sysexits.h): not 0, so `Restart=on-failure` restarts it.
pub const EXIT_TICK_STUCK: i32 = 70;

/// What the tick thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Between ticks (sleeping).
    Idle = 0,
    /// Applying joins, leaves and map changes.
    Control = 1,
    /// Taking the clients' commands.
    Commands = 2,
    /// Stepping a world.
    Step = 3,
    /// Handing outboxes to the clients and collecting saves.
    Route = 4,
    /// Rebuilding worlds after a panic.
    Recover = 5,
    /// The tick thread died.
    Dead = 6,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Control,
            2 => Self::Commands,
            3 => Self::Step,
            4 => Self::Route,
            5 => Self::Recover,
            6 => Self::Dead,
            _ => Self::Idle,
        }
    }

    /// The phase's name in logs and health answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Control => "control",
            Self::Commands => "commands",
            Self::Step => "step",
            Self::Route => "route",
            Self::Recover => "recover",
            Self::Dead => "dead",
        }
    }
}

/// What the tick thread publishes about the running tick.
#[derive(Debug)]
pub struct Heartbeat {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the running tick's start, plus one; 0
    /// between ticks.
    started: AtomicU64,
    phase: AtomicU8,
    world: Mutex<Option<Arc<str>>>,
    /// Set when the tick loop ended after a shutdown: nothing to watch.
    stopped: AtomicBool,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            started: AtomicU64::new(0),
            phase: AtomicU8::new(Phase::Idle as u8),
            world: Mutex::new(None),
            stopped: AtomicBool::new(false),
        }
    }
}

/// Where a tick has been stuck, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// Identifies the stuck tick (its start), to warn once per tick.
    pub tick_start: u64,
    /// How long it has run.
    pub running: Duration,
    /// Its phase.
    pub phase: Phase,
    /// The world stepping, in the `step` phase.
    pub world: Option<Arc<str>>,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.phase == Phase::Dead {
            return write!(
                f,
                "the tick thread died {} ms ago",
                self.running.as_millis()
            );
        }
        write!(
            f,
            "the tick has run for {} ms, in phase {}",
            self.running.as_millis(),
            self.phase.name()
        )?;
        if let Some(world) = &self.world {
            write!(f, " (world {world:?})")?;
        }
        Ok(())
    }
}

impl Heartbeat {
    /// A tick starts at `now`.
    pub fn begin(&self, now: Instant) {
        let ns = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX - 1);
        self.started.store(ns + 1, Ordering::Relaxed);
    }

    /// The running tick enters `phase`.
    pub fn phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// The world of `map` starts stepping (`None`: no world steps now).
    pub fn world(&self, map: Option<&Arc<str>>) {
        *self
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map.map(Arc::clone);
    }

    /// The tick ended; the thread sleeps until the next.
    pub fn end(&self) {
        self.phase(Phase::Idle);
        self.started.store(0, Ordering::Relaxed);
    }

    /// The tick thread died at `now`: stuck from now on.
    pub fn died(&self, now: Instant) {
        self.begin(now);
        self.phase(Phase::Dead);
    }

    /// The tick loop stopped after a shutdown.
    pub fn stopped(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// The running tick at `now`, if one runs (or the thread died).
    pub fn running(&self, now: Instant) -> Option<Stuck> {
        let started = self.started.load(Ordering::Relaxed);
        if started == 0 || self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let since = self.epoch + Duration::from_nanos(started - 1);
        let phase = Phase::from_u8(self.phase.load(Ordering::Relaxed));
        Some(Stuck {
            tick_start: started,
            running: now.saturating_duration_since(since),
            phase,
            world: if phase == Phase::Step {
                self.world
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            } else {
                None
            },
        })
    }
}

/// What the health endpoints answer, from the heartbeat.
#[derive(Debug)]
pub struct Health {
    beat: Arc<Heartbeat>,
    warn_after: Duration,
    draining: AtomicBool,
}

impl Health {
    /// Health read from `beat`; a tick running longer than `warn_after` is
    /// unhealthy.
    pub fn new(beat: Arc<Heartbeat>, warn_after: Duration) -> Self {
        Self {
            beat,
            warn_after,
            draining: AtomicBool::new(false),
        }
    }

    /// Why the game is not healthy at `now`, if it is not: the tick is
    /// stuck or dead.
    pub fn unhealthy(&self, now: Instant) -> Option<String> {
        self.beat
            .running(now)
            .filter(|s| s.phase == Phase::Dead || s.running >= self.warn_after)
            .map(|s| s.to_string())
    }

    /// The server is shutting down: not ready for new players.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Why the server should get no new players at `now`, if so: shutting
    /// down, or unhealthy.
    pub fn not_ready(&self, now: Instant) -> Option<String> {
        if self.draining.load(Ordering::Relaxed) {
            return Some("the server is shutting down".to_owned());
        }
        self.unhealthy(now)
    }
}

/// Starts the watchdog thread over `beat` with the deadlines of `config`.
/// It ends by itself once the tick loop has stopped.
pub fn spawn(
    beat: Arc<Heartbeat>,
    stats: Arc<GameStats>,
    config: &RecoveryConfig,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let warn = Duration::from_millis(config.tick_stall_warn_ms.max(1));
    let exit = Duration::from_millis(config.tick_stall_exit_ms.max(1)).max(warn);
    // Checks several times per warning deadline, never busier than 100/s.
    let every = (warn / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    std::thread::Builder::new()
        .name("battlegrid-watchdog".into())
        .spawn(move || {
            let mut warned = 0;
            while !beat.stopped.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let Some(stuck) = beat.running(Instant::now()) else {
                    continue;
                };
                if stuck.running >= exit {
                    tracing::error!(
                        phase = stuck.phase.name(),
                        world = stuck.world.as_deref(),
                        running_ms = stuck.running.as_millis() as u64,
                        exit_code = EXIT_TICK_STUCK,
                        "{stuck}; past the exit deadline, ending the process"
                    );
                    std::process::exit(EXIT_TICK_STUCK);
                }
                if stuck.running >= warn && warned != stuck.tick_start {
                    warned = stuck.tick_start;
                    GameStats::bump(&stats.tick_stalls);
                    tracing::warn!(
                        phase = stuck.phase.name(),
                        world = stuck.world.as_deref(),
                        running_ms = stuck.running.as_millis() as u64,
                        "{stuck}; the tick is stuck"
                    );
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A tick is unhealthy only once it runs past the warning deadline; the
    /// answer names the phase and the world; between ticks all is well.
    #[test]
    fn health_follows_the_running_tick() {
        let beat = Arc::new(Heartbeat::default());
        let health = Health::new(Arc::clone(&beat), 1000 * MS);
        let t0 = Instant::now();
        assert_eq!(health.unhealthy(t0), None);
        beat.begin(t0);
        beat.phase(Phase::Step);
        beat.world(Some(&Arc::from("arena")));
        assert_eq!(health.unhealthy(t0 + 999 * MS), None);
        let reason = health.unhealthy(t0 + 1500 * MS).unwrap();
        assert!(
            reason.contains("1500 ms") && reason.contains("step") && reason.contains("arena"),
            "{reason}"
        );
        beat.end();
        assert_eq!(health.unhealthy(t0 + 5000 * MS), None);
        assert_eq!(health.not_ready(t0 + 5000 * MS), None);
        health.drain();
        assert!(health.not_ready(t0 + 5000 * MS).is_some());
    }

    /// A dead tick thread is unhealthy at once and stays so.
    #[test]
    fn a_dead_tick_is_unhealthy() {
        let beat = Arc::new(Heartbeat::default());
        let health = Health::new(Arc::clone(&beat), 1000 * MS);
        let t0 = Instant::now();
        beat.died(t0);
        let reason = health.unhealthy(t0).unwrap();
        assert!(reason.contains("died"), "{reason}");
    }
}
