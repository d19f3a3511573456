//! The analytics pipeline: gameplay and server events into append-only,
//! zstd-compressed NDJSON files under `data/analytics/` that analysts'
//! tools (DuckDB, `zstdcat | jq`, pandas) open directly.
//!
//! Producers (the tick thread, the auth API, the position sampler) hold an
//! [`Analytics`] handle and call [`Analytics::emit`]: a `try_send` into one
//! bounded queue. A full queue drops the event and counts it
//! (`battlegrid_analytics_events_dropped` in `/metrics`); a producer never
//! waits. The writer thread ([`writer`]) drains the queue into files that
//! rotate hourly or by size and are deleted by age or total size.
//!
//! Submodules: [`event`] (the schema), [`config`] (`[analytics]`),
//! [`writer`] (files, rotation, retention, crash recovery), [`files`]
//! (reading them back), [`sampler`] (position samples from the published
//! snapshots), [`report`] (the `battlegrid analytics` subcommand),
//! [`heatmap`] (its PNG). docs/ANALYTICS.md documents the schema and how
//! to query the files; format measurements are in docs/ANALYTICS.md too.

pub mod config;
pub mod event;
pub mod files;
pub mod heatmap;
pub mod report;
pub mod sampler;
pub mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

pub use config::AnalyticsConfig;
pub use event::{Event, MapName, Record, SCHEMA_VERSION, Stamped};

/// Counters of the pipeline, read by `/metrics`.
#[derive(Debug, Default)]
pub struct AnalyticsStats {
    /// Events accepted into the queue.
    pub queued: AtomicU64,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Events written to a file.
    pub written: AtomicU64,
    /// Bytes written to files (compressed).
    pub bytes_written: AtomicU64,
    /// Events lost to a write error (disk full, permissions).
    pub write_errors: AtomicU64,
    /// Complete files deleted by the retention rules.
    pub files_deleted: AtomicU64,
}

/// What producers hold: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Analytics {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    queue: SyncSender<Stamped>,
    stats: Arc<AnalyticsStats>,
    keep_texts: bool,
}

impl Analytics {
    /// A handle that records nothing (analytics off, or tests that do not
    /// look at events).
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// A queue of `capacity` events; the receiver goes to the writer.
    pub fn channel(
        capacity: usize,
        keep_texts: bool,
        stats: Arc<AnalyticsStats>,
    ) -> (Self, Receiver<Stamped>) {
        let (queue, receiver) = sync_channel(capacity.max(1));
        let inner = Inner {
            queue,
            stats,
            keep_texts,
        };
        (
            Self {
                inner: Some(Arc::new(inner)),
            },
            receiver,
        )
    }

    /// Whether events are recorded at all (producers skip building them
    /// when not).
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether message texts go into events (`[analytics] keep_texts`).
    pub fn keep_texts(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.keep_texts)
    }

    /// The pipeline's counters, when on.
    pub fn stats(&self) -> Option<Arc<AnalyticsStats>> {
        self.inner.as_ref().map(|i| Arc::clone(&i.stats))
    }

    /// Queues `event`, stamped now, in `tick` (if any); drops and counts it
    /// when the queue is full or the writer is gone.
    pub fn emit(&self, tick: Option<u64>, event: Event) {
        let Some(inner) = &self.inner else {
            return;
        };
        let stamped = Stamped {
            at_ms: crate::auth::now_ms(),
            tick,
            event,
        };
        match inner.queue.try_send(stamped) {
            Ok(()) => inner.stats.queued.fetch_add(1, Ordering::Relaxed),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                inner.stats.dropped.fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// The text to keep for a message: `Some` only with `keep_texts` on.
    pub fn text(&self, text: &str) -> Option<String> {
        self.keep_texts().then(|| text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full queue drops and counts; emitting never waits for the reader.
    #[test]
    fn full_queue_drops_and_counts() {
        let stats = Arc::new(AnalyticsStats::default());
        let (analytics, receiver) = Analytics::channel(4, false, Arc::clone(&stats));
        for account in 0..1000 {
            analytics.emit(
                Some(1),
                Event::Kick {
                    account,
                    reason: "flood".into(),
                },
            );
        }
        assert_eq!(stats.queued.load(Ordering::Relaxed), 4);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 996);
        let kept: Vec<Stamped> = receiver.try_iter().collect();
        assert_eq!(kept.len(), 4);
        assert!(matches!(kept[0].event, Event::Kick { account: 0, .. }));
        drop(receiver);
        analytics.emit(
            None,
            Event::Kick {
                account: 1,
                reason: String::new(),
            },
        );
        assert_eq!(
            stats.dropped.load(Ordering::Relaxed),
            997,
            "writer gone: counted as a drop"
        );
    }

    /// Texts are kept only when the switch is on; an off handle records
    /// nothing.
    #[test]
    fn texts_only_with_the_switch() {
        let stats = Arc::new(AnalyticsStats::default());
        let (without, _r1) = Analytics::channel(1, false, Arc::clone(&stats));
        let (with, _r2) = Analytics::channel(1, true, stats);
        assert_eq!(without.text("hi"), None);
        assert_eq!(with.text("hi").as_deref(), Some("hi"));
        let off = Analytics::off();
        assert!(!off.is_on());
        off.emit(
            None,
            Event::Kick {
                account: 1,
                reason: String::new(),
            },
        );
        assert!(off.stats().is_none());
    }
}
