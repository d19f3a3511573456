//! Once a second, off the tick thread: each connected player's messages
//! per second (from its connection's message counter), and a ten-minute
//! history of tick p50/p99 and players for the dashboard's charts.
//!
//! It reads what exists anyway (the connections' counters, the game's
//! statistics), so the tick pays nothing for it, however many operators
//! look.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use battlegrid_protocol::PlayerId;
use serde::Serialize;

use crate::auth::now_ms;
use crate::game::online::Online;
use crate::game::stats::GameStats;

/// How often the sampler runs.
pub const PERIOD: Duration = Duration::from_secs(1);
/// History kept: ten minutes at one point per [`HISTORY_EVERY`].
pub const HISTORY_POINTS: usize = 120;
/// One history point every this many samples (5 s).
pub const HISTORY_EVERY: u32 = 5;

/// One point of the history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// Unix ms.
    pub at_ms: u64,
    /// Tick p50 over the last statistics window, ms.
    pub tick_p50_ms: f64,
    /// Tick p99 over the last statistics window, ms.
    pub tick_p99_ms: f64,
    /// Players in the world.
    pub players: u64,
}

/// What one run of the sampler found.
#[derive(Debug, Default)]
pub struct Sample {
    /// Messages per second sent to each connected player, over the last
    /// period.
    pub rates: HashMap<PlayerId, f64>,
    /// Oldest first.
    pub history: VecDeque<HistoryPoint>,
}

/// The sampler's latest result, readable from anywhere.
#[derive(Debug, Default)]
pub struct Sampler {
    latest: ArcSwap<Sample>,
}

impl Sampler {
    /// The latest sample.
    pub fn load(&self) -> Arc<Sample> {
        self.latest.load_full()
    }

    /// Samples every [`PERIOD`] forever.
    pub async fn run(self: Arc<Self>, online: Arc<Online>, stats: Arc<GameStats>) {
        let mut interval = tokio::time::interval(PERIOD);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut counts: HashMap<PlayerId, (u64, u64)> = HashMap::new();
        let mut last = Instant::now();
        let mut history = VecDeque::with_capacity(HISTORY_POINTS);
        let mut runs = 0u32;
        loop {
            interval.tick().await;
            let now = Instant::now();
            let secs = now.duration_since(last).as_secs_f64().max(1e-3);
            last = now;
            let mut rates = HashMap::new();
            let mut next = HashMap::new();
            for (id, player) in online.all() {
                let messages = player.peer.figures().messages;
                if let Some(&(conn, before)) = counts.get(&id)
                    && conn == player.conn
                {
                    rates.insert(id, messages.saturating_sub(before) as f64 / secs);
                }
                next.insert(id, (player.conn, messages));
            }
            counts = next;
            if runs.is_multiple_of(HISTORY_EVERY) {
                if history.len() == HISTORY_POINTS {
                    history.pop_front();
                }
                let window = &stats.tick_window;
                history.push_back(HistoryPoint {
                    at_ms: now_ms(),
                    tick_p50_ms: GameStats::get(&window.p50_us) as f64 / 1000.0,
                    tick_p99_ms: GameStats::get(&window.p99_us) as f64 / 1000.0,
                    players: GameStats::get(&stats.players),
                });
            }
            runs = runs.wrapping_add(1);
            self.latest.store(Arc::new(Sample {
                rates,
                history: history.clone(),
            }));
        }
    }
}
