//! Position samples: every `position_sample_secs`, where every online
//! player is, read from the snapshots the worlds publish after each tick
//! (a pointer load each), so sampling costs the tick thread nothing.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use battlegrid_sim::SnapshotReader;
use tokio::sync::watch;

use super::{Analytics, Event, MapName};

/// The live worlds' snapshot readers by map name; the tick thread swaps
/// the list when a world is added, rebuilt or removed.
pub type Snapshots = Arc<ArcSwap<Vec<(Arc<str>, SnapshotReader)>>>;

/// Emits one `position` event per player of every world.
pub fn sample(snapshots: &Snapshots, analytics: &Analytics) -> usize {
    let mut sampled = 0;
    for (map, reader) in snapshots.load().iter() {
        let snapshot = reader.load();
        let tick = Some(snapshot.tick());
        for (id, at, region) in snapshot.iter() {
            analytics.emit(
                tick,
                Event::Position {
                    account: id.0,
                    map: MapName::from(map),
                    x: at.x,
                    y: at.y,
                    region: region.0,
                },
            );
            sampled += 1;
        }
    }
    sampled
}

/// Samples every `period` until `stop` turns true.
pub async fn run(
    snapshots: Snapshots,
    analytics: Analytics,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => { sample(&snapshots, &analytics); }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
