//! Fault injection for tests: make a world's step panic, the tick thread
//! panic outside the world steps, or a tick stall, on command.
//!
//! Compiled only into unit tests and builds with the cargo feature
//! `fault-injection` (scripts/test.sh builds the end-to-end tests' server
//! binary with it); a release build made the usual way has neither this
//! module nor the admin route that arms it (`crate::http`, `/debug/faults`).
//! Each armed fault fires a given number of times, then disarms.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Armed faults, shared by the admin route and the tick thread.
#[derive(Debug, Default)]
pub struct Faults {
    /// Map name -> how many of its next steps panic.
    world_panics: Mutex<HashMap<String, u32>>,
    /// How many of the next ticks panic outside the world steps.
    tick_panics: AtomicU32,
    /// The next tick sleeps this long (once), in milliseconds, before it
    /// applies control messages.
    stall_ms: AtomicU64,
    /// Map name -> how long its next step sleeps (once).
    world_stalls: Mutex<HashMap<String, Duration>>,
}

impl Faults {
    /// The next `times` steps of the world of `map` panic.
    pub fn panic_world(&self, map: &str, times: u32) {
        self.world_panics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(map.to_owned(), times);
    }

    /// The next `times` ticks panic on the tick thread, outside any world.
    pub fn panic_tick(&self, times: u32) {
        self.tick_panics.store(times, Ordering::Relaxed);
    }

    /// The next tick stalls for `how_long`; with `map`, inside that map's
    /// world step, else before the tick applies control messages.
    pub fn stall(&self, map: Option<&str>, how_long: Duration) {
        match map {
            Some(map) => {
                self.world_stalls
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(map.to_owned(), how_long);
            }
            None => {
                let ms = u64::try_from(how_long.as_millis()).unwrap_or(u64::MAX);
                self.stall_ms.store(ms, Ordering::Relaxed);
            }
        }
    }

    /// Called before the step of the world of `map`: stalls when armed,
    /// and returns the message the step must panic with when a panic is
    /// armed (the caller panics inside its step, and records the fault:
    /// see `crate::record`).
    pub fn world_fault(&self, map: &str) -> Option<String> {
        let stall = self
            .world_stalls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(map);
        if let Some(stall) = stall {
            std::thread::sleep(stall);
        }
        let mut armed = self
            .world_panics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match armed.get_mut(map) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Some(format!("injected fault: the world of {map:?} panics"))
            }
            _ => None,
        }
    }

    /// Called on the tick thread outside the world steps: panics or stalls
    /// when armed.
    pub fn before_tick(&self) {
        let stall = self.stall_ms.swap(0, Ordering::Relaxed);
        if stall > 0 {
            std::thread::sleep(Duration::from_millis(stall));
        }
        let armed = self
            .tick_panics
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if armed.is_ok() {
            panic!("injected fault: the tick thread panics");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An armed world panic fires exactly the armed number of times, only
    /// for its own map.
    #[test]
    fn world_panics_fire_as_often_as_armed() {
        let faults = Faults::default();
        faults.panic_world("small", 2);
        let fires = |map: &str| faults.world_fault(map).is_some();
        assert!(!fires("world"));
        assert!(fires("small"));
        assert!(fires("small"));
        assert!(!fires("small"));
    }
}
