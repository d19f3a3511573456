//! What the worlds tell the recorder (`crate::record`): per streamed world
//! and tick, the inputs queued for the step and what happened before it
//! (map swaps, an injected fault), then the step's outputs, and a
//! checkpoint when one is due, requested, or the world (re)starts its
//! stream.
//!
//! A world streams once a checkpoint of it went out: right after it was
//! created or rebuilt (no input queued yet), or after a step (the queue
//! was just drained). A note the recorder's queue refused takes the world
//! out of the stream, and it re-enters with a fresh checkpoint after its
//! next step, so the recorder never sees ticks it cannot replay.

use std::sync::Arc;

use battlegrid_sim::checkpoint::MapData;
use battlegrid_sim::{Checkpoint, MapSpec, TickOutput};

use super::World;
use crate::record::format::{CheckpointKind, Outcome, TickEvent, TickRecord};
use crate::record::{Note, RecorderLink};

/// A world's place in the stream.
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// A checkpoint went out and every tick since.
    on: bool,
    /// Happened since the last step, for the next tick's record.
    events: Vec<TickEvent>,
}

/// A stepped world's notes, sent once its outputs were routed.
struct Pending {
    map: Arc<str>,
    record: Option<TickRecord>,
    checkpoint: Option<(CheckpointKind, Box<Checkpoint>)>,
}

/// The recorder link and this tick's notes.
pub(super) struct Recording {
    link: RecorderLink,
    pending: Vec<Pending>,
    /// Whether worlds stream in this tick.
    streaming: bool,
    /// Maps whose recording asked for a checkpoint in this tick.
    requested: Vec<String>,
}

impl Recording {
    pub(super) fn new(link: RecorderLink) -> Self {
        Self {
            link,
            pending: Vec::new(),
            streaming: false,
            requested: Vec::new(),
        }
    }

    /// Before the worlds step: drops notes never finished (a tick that
    /// panicked outside the worlds; those worlds are rebuilt) and reads
    /// the switch.
    pub(super) fn begin_tick(&mut self, worlds: &mut std::collections::BTreeMap<Arc<str>, World>) {
        for stale in self.pending.drain(..) {
            if let Some(world) = worlds.get_mut(&stale.map) {
                world.stream.on = false;
            }
        }
        self.streaming = self.link.streaming();
        self.requested = self.link.switch().take_checkpoint_requests();
    }

    /// The record of `world`'s coming step, if it streams.
    pub(super) fn before_step(
        &mut self,
        world: &mut World,
        fault: Option<&str>,
    ) -> Option<TickRecord> {
        if !self.streaming || !world.stream.on {
            world.stream.on = false;
            world.stream.events.clear();
            return None;
        }
        let mut events = std::mem::take(&mut world.stream.events);
        if let Some(fault) = fault {
            events.push(TickEvent::InjectedFault(fault.to_owned()));
        }
        Some(TickRecord {
            tick: world.sim.tick() + 1,
            events,
            inputs: world.sim.queued_inputs().to_vec(),
            // Filled from the outputs by the recorder thread.
            outcome: Outcome::Ran {
                hash: 0,
                envelopes: 0,
            },
        })
    }

    /// `world` of `map` stepped: its notes wait for the outputs.
    pub(super) fn stepped(
        &mut self,
        map: &Arc<str>,
        world: &mut World,
        record: Option<TickRecord>,
    ) {
        if !self.streaming {
            return;
        }
        let tick = world.sim.tick();
        let kind = if !world.stream.on {
            Some(CheckpointKind::Fresh)
        } else if self.link.checkpoint_due(tick) || self.requested.iter().any(|m| **m == **map) {
            Some(CheckpointKind::Periodic)
        } else {
            None
        };
        world.stream.on = true;
        self.pending.push(Pending {
            map: Arc::clone(map),
            record,
            checkpoint: kind.map(|k| (k, Box::new(world.sim.checkpoint()))),
        });
    }

    /// `world` of `map` panicked in its step (it is rebuilt or removed
    /// next, and restarts its stream then).
    pub(super) fn panicked(
        &mut self,
        map: &Arc<str>,
        world: &mut World,
        record: Option<TickRecord>,
        why: &str,
    ) {
        world.stream.on = false;
        if let Some(mut record) = record {
            record.outcome = Outcome::Panicked(why.to_owned());
            self.link.send(Note::Tick {
                map: Arc::clone(map),
                record,
                output: None,
            });
        }
    }

    /// Sends this tick's notes with the outputs (moved, not copied).
    pub(super) fn finish(
        &mut self,
        outputs: Vec<(Arc<str>, TickOutput)>,
        worlds: &mut std::collections::BTreeMap<Arc<str>, World>,
    ) {
        // Both lists are in name order.
        let mut outputs = outputs.into_iter().peekable();
        for pending in std::mem::take(&mut self.pending) {
            while outputs.next_if(|(m, _)| *m < pending.map).is_some() {}
            let output = outputs.next_if(|(m, _)| *m == pending.map).map(|(_, o)| o);
            let mut sent = true;
            if let Some(record) = pending.record {
                sent = self.link.send(Note::Tick {
                    map: Arc::clone(&pending.map),
                    record,
                    output,
                });
            }
            if sent && let Some((kind, checkpoint)) = pending.checkpoint {
                sent = self.link.send(Note::Checkpoint {
                    map: Arc::clone(&pending.map),
                    kind,
                    checkpoint,
                });
            }
            if !sent && let Some(world) = worlds.get_mut(&pending.map) {
                world.stream.on = false;
            }
        }
    }

    /// `world` of `map` was just created or rebuilt, nothing queued yet:
    /// it starts its stream here.
    pub(super) fn fresh(&mut self, map: &Arc<str>, world: &mut World) {
        self.pending.retain(|p| p.map != *map);
        world.stream = Stream::default();
        if !self.link.streaming() {
            return;
        }
        world.stream.on = self.link.send(Note::Checkpoint {
            map: Arc::clone(map),
            kind: CheckpointKind::Fresh,
            checkpoint: Box::new(world.sim.checkpoint()),
        });
    }

    /// `world`'s map was swapped for `map` between two ticks.
    pub(super) fn map_replaced(world: &mut World, map: &MapSpec) {
        if world.stream.on {
            world
                .stream
                .events
                .push(TickEvent::MapReplaced(MapData::of(map)));
        }
    }

    /// The world of `map` is gone.
    pub(super) fn closed(&mut self, map: &str) {
        self.pending.retain(|p| &*p.map != map);
        self.link.send(Note::Closed {
            map: Arc::from(map),
        });
    }
}
