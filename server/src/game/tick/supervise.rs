//! The policy for a world whose step panicked: restore it, or, when it
//! keeps failing, quarantine it.
//!
//! A world that fails `max_failures` times within `window` is quarantined
//! (its players go to the default map); the default map itself cannot be,
//! so it is restored however often it fails, with an error each time.
//! Time comes in as an argument.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to do with a world that just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rebuild it from its players' last saves.
    Restore,
    /// Take it out of the game; its players go to the default map.
    Quarantine,
}

/// Recent failures per map.
#[derive(Debug)]
pub struct Supervisor {
    max_failures: u32,
    window: Duration,
    failures: HashMap<Arc<str>, VecDeque<Instant>>,
}

impl Supervisor {
    /// Quarantine after `max_failures` failures within `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: HashMap::new(),
        }
    }

    /// The world of `map` failed at `now`.
    pub fn failed(&mut self, map: &Arc<str>, now: Instant) -> Verdict {
        let times = self.failures.entry(Arc::clone(map)).or_default();
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.window)
        {
            times.pop_front();
        }
        times.push_back(now);
        if times.len() >= self.max_failures as usize {
            // A quarantined map that comes back (a new file) starts clean.
            self.failures.remove(map);
            Verdict::Quarantine
        } else {
            Verdict::Restore
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The K-th failure within the window quarantines; failures that
    /// dropped out of the window do not count, nor do other maps'.
    #[test]
    fn k_failures_within_the_window_quarantine() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut sup = Supervisor::new(3, 60 * s);
        let (small, world): (Arc<str>, Arc<str>) = (Arc::from("small"), Arc::from("world"));
        assert_eq!(sup.failed(&small, t0), Verdict::Restore);
        assert_eq!(sup.failed(&small, t0 + 30 * s), Verdict::Restore);
        assert_eq!(sup.failed(&world, t0 + 31 * s), Verdict::Restore);
        // The first failure is a minute old by now.
        assert_eq!(sup.failed(&small, t0 + 60 * s), Verdict::Restore);
        assert_eq!(sup.failed(&small, t0 + 61 * s), Verdict::Quarantine);
        // Counting starts over for the map.
        assert_eq!(sup.failed(&small, t0 + 62 * s), Verdict::Restore);
    }
}
