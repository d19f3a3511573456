//! The tick thread: the bridge between connections and the simulation.
//!
//! One dedicated OS thread owns the [`Worlds`] (a simulation per map) and
//! runs them at the configured rate on a fixed schedule of deadlines. What
//! a tick does is decided by the sans-IO [`core::TickCore`]; this thread
//! only moves data and sleeps. Each tick it
//! 1. hands the core the joins and leaves from the gateway and the map
//!    changes from the watcher ([`Control`]), in order, so a map swap
//!    always falls between two ticks;
//! 2. runs the core's tick (commands in under the flood policy, every
//!    world stepped under supervision, outboxes to the [`Peer`]s without
//!    waiting, backlogs checked);
//! 3. passes the core's batch of position saves to the saver task, or
//!    hands it back when the saver is busy;
//! 4. sleeps until the next deadline (none after an overrun).
//!
//! It publishes each tick's start and phase in the worlds' heartbeat for
//! the watchdog (`crate::game::watchdog`).
//!
//! A panic in a world's step is the core's business (the world is
//! restored from its players' saves). A panic anywhere else in steps 1 and
//! 2 is caught here and the core restores every world from the saves
//! ([`core::TickCore::recover`]): the loop goes on, clients stay
//! connected.
//!
//! Submodules: [`core`] (the logic), [`link`] (what the core needs of a
//! client), [`schedule`] (deadlines, tick-time statistics), [`places`] (last
//! saves per player), [`supervise`] (restore or quarantine).
//!
//! [`Peer`]: crate::game::peer::Peer
//! [`Worlds`]: crate::game::worlds::Worlds

pub mod core;
pub mod link;
pub mod places;
pub mod schedule;
pub mod supervise;
#[cfg(test)]
mod tests;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use battlegrid_protocol::{PlayerId, Position};
use battlegrid_sim::SavePosition;
use tokio::sync::mpsc;

use self::core::TickCore;
use self::link::ClientLink;
use super::watchdog::{Heartbeat, Phase};
use super::worlds::panic_message;
use crate::maps::MapEvent;

/// A message from the gateway and the connection tasks to the tick thread.
#[derive(Debug)]
pub enum Control<L = ClientLink> {
    /// A client passed `Hello`; put it in the world.
    Join(Box<Joining<L>>),
    /// Connection `conn` of `player` ended.
    Left {
        /// The connection's number.
        conn: u64,
        /// Its player.
        player: PlayerId,
    },
    /// The maps directory changed (already parsed and validated).
    Map(MapEvent),
    /// The admin API sets the map new players start on; the answer says
    /// whether it is live.
    SetDefaultMap {
        /// The map's name.
        name: String,
        /// Where the outcome goes.
        reply: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    /// Close everyone, save everything, stop.
    Shutdown,
}

/// Everything the tick needs about a joining client.
#[derive(Debug)]
pub struct Joining<L = ClientLink> {
    /// The connection's number (unique for the process).
    pub conn: u64,
    /// The player (its account id).
    pub player: PlayerId,
    /// Display name.
    pub name: String,
    /// Saved map and position, if any.
    pub saved: Option<SavedPlace>,
    /// Its command queue and outbound side.
    pub link: L,
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

/// Marks the heartbeat dead when the tick thread unwinds.
struct Alive(Arc<Heartbeat>);

impl Drop for Alive {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the tick thread died");
            self.0.died(Instant::now());
        }
    }
}

/// The tick thread: its core and the channels around it.
pub struct TickLoop {
    /// The tick's logic and state.
    pub core: TickCore<ClientLink>,
    /// Joins, leaves, map changes, shutdown.
    pub control: Receiver<Control>,
    /// Batches of positions for the saver task.
    pub saves: mpsc::Sender<Vec<Save>>,
    /// Faults tests arm (see [`crate::game::faults`]).
    #[cfg(feature = "fault-injection")]
    pub faults: Arc<super::faults::Faults>,
}

impl TickLoop {
    /// Runs until [`Control::Shutdown`] (or every sender is gone), then
    /// closes all clients with `SHUTTING_DOWN` and hands every player's
    /// position to the saver.
    pub fn run(mut self) {
        let beat = self.core.worlds().heartbeat();
        // Tells the watchdog if a panic ends this thread after all.
        let _alive = Alive(Arc::clone(&beat));
        loop {
            let started = Instant::now();
            beat.begin(started);
            beat.phase(Phase::Control);
            // AssertUnwindSafe: a panic leaves the core's routes and saves
            // consistent (each is a map updated entry by entry), and the
            // worlds, whose state a panic may break, are all rebuilt from
            // the saves by `recover` before anything reads them again.
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
                #[cfg(feature = "fault-injection")]
                self.faults.before_tick();
                let go_on = self.apply_control();
                if go_on {
                    self.core.tick(started);
                }
                go_on
            }));
            match ran {
                Ok(true) => {}
                Ok(false) => break,
                Err(payload) => self.core.recover(&panic_message(payload.as_ref())),
            }
            if let Some(batch) = self.core.take_saves()
                && let Err(err) = self.saves.try_send(batch)
            {
                // The saver is busy: keep the latest positions for later.
                let (mpsc::error::TrySendError::Full(batch)
                | mpsc::error::TrySendError::Closed(batch)) = err;
                self.core.saves_refused(batch);
            }
            let now = Instant::now();
            beat.end();
            if let Some(next) = self.core.finish(started, now) {
                std::thread::sleep(next.saturating_duration_since(now));
            }
        }
        let saves = self.core.shut_down();
        beat.stopped();
        if !saves.is_empty() && self.saves.blocking_send(saves).is_err() {
            tracing::error!("the saver stopped before the final positions were handed over");
        }
    }

    /// Hands queued control messages to the core; `false` when told to
    /// stop (or every sender is gone).
    fn apply_control(&mut self) -> bool {
        loop {
            match self.control.try_recv() {
                Ok(control) => {
                    if !self.core.handle_control(control) {
                        return false;
                    }
                }
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }
}
