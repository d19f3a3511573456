//! When ticks run, and how long they took.
//!
//! [`Schedule`] is the fixed schedule of deadlines with its overrun policy:
//! when a tick ends after the next deadline, the next tick starts at once
//! and every deadline already missed is skipped (counted), so the schedule
//! never tries to catch up with a burst of ticks. [`TickTimer`] keeps the
//! tick-time histogram and writes the periodic statistics line. Both take
//! the time as an argument; neither reads a clock.

use std::time::{Duration, Instant};

use crate::game::stats::GameStats;

/// The deadlines of a fixed-rate tick.
#[derive(Debug, Clone)]
pub struct Schedule {
    period: Duration,
    deadline: Instant,
}

/// How a tick ended relative to its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Before the deadline: the next tick starts then.
    OnTime {
        /// When to start the next tick.
        next: Instant,
    },
    /// After it: the next tick starts at once; this many deadlines were
    /// skipped besides.
    Overran {
        /// Deadlines that passed entirely during the tick.
        skipped: u32,
    },
}

impl Schedule {
    /// A schedule of `period` whose first deadline is one period after `now`.
    pub fn new(period: Duration, now: Instant) -> Self {
        Self {
            period,
            deadline: now + period,
        }
    }

    /// The period of `hz` ticks per second.
    pub fn period_of(hz: u16) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(hz.max(1)))
    }

    /// The deadline of the running tick: when the next one is due.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// A tick finished at `now`: says when the next starts and moves the
    /// deadline one period on, past every deadline already missed.
    pub fn finished(&mut self, now: Instant) -> Finish {
        let finish = if now < self.deadline {
            Finish::OnTime {
                next: self.deadline,
            }
        } else {
            let behind = now - self.deadline;
            let skipped = (behind.as_nanos() / self.period.as_nanos().max(1)) as u32;
            self.deadline += self.period * skipped;
            Finish::Overran { skipped }
        };
        self.deadline += self.period;
        finish
    }
}

/// Tick-time statistics, logged every `every` ticks.
pub struct TickTimer {
    every: u64,
    ticks: u64,
    histogram: hdrhistogram::Histogram<u64>,
    overruns_logged: u64,
}

impl TickTimer {
    /// A timer that publishes and logs every `every` ticks.
    pub fn new(every: u64) -> Self {
        Self {
            every: every.max(1),
            ticks: 0,
            // Microseconds from 1 µs to 60 s at 3 significant digits.
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("static histogram bounds are valid"),
            overruns_logged: 0,
        }
    }

    /// Records one tick of `took` with `clients` joined.
    pub fn record(&mut self, took: Duration, clients: usize, stats: &GameStats) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
        self.ticks += 1;
        GameStats::bump(&stats.ticks);
        GameStats::set(&stats.players, clients as u64);
        GameStats::set(&stats.last_tick_us, micros);
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A tick that ends in time waits for its deadline; the next deadline
    /// is one period later, so the schedule does not drift with tick time.
    #[test]
    fn on_time_ticks_keep_the_grid() {
        let start = Instant::now();
        let mut s = Schedule::new(50 * MS, start);
        assert_eq!(
            s.finished(start + 10 * MS),
            Finish::OnTime {
                next: start + 50 * MS
            }
        );
        assert_eq!(
            s.finished(start + 99 * MS),
            Finish::OnTime {
                next: start + 100 * MS
            }
        );
        assert_eq!(s.deadline(), start + 150 * MS);
    }

    /// An overrun starts the next tick at once and skips every deadline
    /// that passed entirely, staying on the original grid.
    #[test]
    fn overruns_skip_missed_deadlines() {
        let start = Instant::now();
        let mut s = Schedule::new(50 * MS, start);
        // Ends 10 ms late: the next tick runs at once, due at 100 ms.
        assert_eq!(s.finished(start + 60 * MS), Finish::Overran { skipped: 0 });
        assert_eq!(s.deadline(), start + 100 * MS);
        // Ends at 275 ms: the deadlines at 150, 200 and 250 ms are gone;
        // the tick starting now is due at 300 ms.
        assert_eq!(s.finished(start + 275 * MS), Finish::Overran { skipped: 3 });
        assert_eq!(s.deadline(), start + 300 * MS);
        assert_eq!(
            s.finished(start + 280 * MS),
            Finish::OnTime {
                next: start + 300 * MS
            }
        );
    }
}
