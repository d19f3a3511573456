//! Record and replay: every world's ticks as checkpoints plus inputs, to
//! files (switched per map) and to an in-memory flight recorder whose last
//! seconds are written to `data/crash/` when a world's step panics; and
//! `battlegrid replay`, which runs a file through the same `Simulation`
//! and checks every tick's output hash. docs/REPLAY.md is the user's guide.
//!
//! The tick thread's part is small: per streamed world and tick it clones
//! the queued inputs, then hands them, the tick's outputs (moved, not
//! copied) and every `checkpoint_every_ticks` a checkpoint to the recorder
//! thread ([`recorder`]) through one bounded queue. Hashing, encoding,
//! the flight recorder's ring and all file writes happen on that thread.
//! A full queue drops the note, counts it, and makes the world start over
//! from a fresh checkpoint after its next step: the stream has a gap, never
//! a silent hole.
//!
//! Submodules: [`format`] (the file format and its reader), [`recorder`]
//! (the recorder thread), [`replay`] (the `replay` command).

pub mod format;
pub mod recorder;
pub mod replay;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

use battlegrid_sim::{Checkpoint, TickOutput};
use serde::{Deserialize, Serialize};

use self::format::{CheckpointKind, TickRecord};

/// `[recording]`: which maps record to files, and the flight recorder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    /// Maps whose worlds record to files from the start (the admin API
    /// switches others on and off while the server runs). Default none.
    pub maps: Vec<String>,
    /// Where recordings are written. Default `<data>/recordings`.
    pub dir: Option<PathBuf>,
    /// Ticks between two checkpoints of a streamed world (a replay can
    /// start at any of them). Default 200 (10 s at 20 Hz).
    pub checkpoint_every_ticks: u64,
    /// Seconds of every world the flight recorder keeps in memory for a
    /// crash file; 0 turns it off. Default 60.
    pub flight_recorder_secs: u64,
    /// Notes the tick thread may queue for the recorder thread before it
    /// drops them. Default 4096.
    pub queue: usize,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            maps: Vec::new(),
            dir: None,
            checkpoint_every_ticks: 200,
            flight_recorder_secs: 60,
            queue: 4096,
        }
    }
}

impl RecordingConfig {
    /// The recordings directory under data directory `data`.
    pub fn dir_in(&self, data: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data.join("recordings"))
    }
}

/// What the tick thread tells the recorder thread.
#[derive(Debug)]
pub enum Note {
    /// A world's state after tick `checkpoint.tick`.
    Checkpoint {
        /// The world's map.
        map: Arc<str>,
        /// Whether it continues the stream or starts it anew.
        kind: CheckpointKind,
        /// The state.
        checkpoint: Box<Checkpoint>,
    },
    /// A world's tick; `output` is hashed into the record's outcome.
    Tick {
        /// The world's map.
        map: Arc<str>,
        /// Inputs and events (the outcome is filled from `output`).
        record: TickRecord,
        /// What the tick produced; `None` when it panicked.
        output: Option<TickOutput>,
    },
    /// A world was removed (its map was deleted or quarantined).
    Closed {
        /// The world's map.
        map: Arc<str>,
    },
}

/// One map's recording to a file, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingStatus {
    /// The file.
    pub file: PathBuf,
    /// Whether the file is open (its first checkpoint arrived).
    pub started: bool,
    /// Tick records written.
    pub ticks: u64,
    /// Why the recording stopped by itself, if it did.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct SwitchState {
    on: BTreeMap<String, RecordingStatus>,
    /// Finished recordings, last first, for the admin API (a few).
    done: Vec<(String, RecordingStatus)>,
    want_checkpoint: BTreeSet<String>,
}

/// Which maps record to files: shared by the admin API (switches), the
/// tick thread (checkpoint requests) and the recorder thread (files).
#[derive(Debug)]
pub struct Switch {
    dir: PathBuf,
    state: Mutex<SwitchState>,
    /// Some map records: every world streams notes.
    any_on: AtomicBool,
    /// Some map wants a checkpoint (its recording starts).
    checkpoint_wanted: AtomicBool,
    /// Notes dropped because the recorder's queue was full.
    dropped: AtomicU64,
    flight_recorder_secs: u64,
}

/// Why a recording cannot be switched on.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a map name (letters, digits, '_', '-' and '.', not starting with '.')")]
pub struct BadMapName(pub String);

impl Switch {
    /// A switch writing recordings into `dir`, with the maps of `config`
    /// on.
    pub fn new(dir: PathBuf, config: &RecordingConfig) -> Self {
        let switch = Self {
            dir,
            state: Mutex::default(),
            any_on: AtomicBool::new(false),
            checkpoint_wanted: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            flight_recorder_secs: config.flight_recorder_secs,
        };
        for map in &config.maps {
            if let Err(err) = switch.start(map) {
                tracing::warn!(%err, "[recording] maps: entry ignored");
            }
        }
        switch
    }

    fn state(&self) -> MutexGuard<'_, SwitchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts recording `map` to a new file (from the world's next
    /// checkpoint, requested now); returns the file. Recording a map that
    /// records already changes nothing and returns its file. The map need
    /// not be live: its world records from when it appears.
    pub fn start(&self, map: &str) -> Result<RecordingStatus, BadMapName> {
        let valid = !map.is_empty()
            && !map.starts_with('.')
            && map.len() <= battlegrid_sim::map::MAX_MAP_NAME_LEN
            && map
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(BadMapName(map.to_owned()));
        }
        let mut state = self.state();
        let status = state
            .on
            .entry(map.to_owned())
            .or_insert_with(|| RecordingStatus {
                file: self.dir.join(format!("{map}-{}.bgrec", unix_ms())),
                started: false,
                ticks: 0,
                error: None,
            })
            .clone();
        if !status.started {
            state.want_checkpoint.insert(map.to_owned());
            self.checkpoint_wanted.store(true, Ordering::Release);
        }
        self.any_on.store(true, Ordering::Release);
        Ok(status)
    }

    /// Stops recording `map`; the recorder thread closes the file (with
    /// its end block) within a fraction of a second. Returns the file's
    /// last status, `None` when the map was not recording.
    pub fn stop(&self, map: &str) -> Option<RecordingStatus> {
        let mut state = self.state();
        let status = state.on.remove(map)?;
        state.want_checkpoint.remove(map);
        state.done.insert(0, (map.to_owned(), status.clone()));
        state.done.truncate(16);
        self.any_on.store(!state.on.is_empty(), Ordering::Release);
        Some(status)
    }

    /// The maps recording, and the last finished recordings.
    pub fn status(&self) -> serde_json::Value {
        let state = self.state();
        serde_json::json!({
            "recording": state.on,
            "finished": state.done.iter().map(|(map, s)| serde_json::json!({
                "map": map, "file": s.file, "ticks": s.ticks, "error": s.error,
            })).collect::<Vec<_>>(),
            "flight_recorder_secs": self.flight_recorder_secs,
            "notes_dropped": self.dropped.load(Ordering::Relaxed),
        })
    }

    /// Whether any map records to a file.
    pub fn any_on(&self) -> bool {
        self.any_on.load(Ordering::Acquire)
    }

    /// Maps whose recording waits for a checkpoint (cheap when none does).
    pub fn take_checkpoint_requests(&self) -> Vec<String> {
        if !self.checkpoint_wanted.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut self.state().want_checkpoint)
            .into_iter()
            .collect()
    }

    /// The file `map` should record to now, if it records.
    pub(crate) fn target(&self, map: &str) -> Option<PathBuf> {
        self.state().on.get(map).map(|s| s.file.clone())
    }

    /// The recorder thread's news about `map`'s file.
    pub(crate) fn update(&self, map: &str, file: &Path, update: impl FnOnce(&mut RecordingStatus)) {
        let mut state = self.state();
        if let Some(status) = state.on.get_mut(map).filter(|s| s.file == file) {
            update(status);
        } else if let Some((_, status)) = state
            .done
            .iter_mut()
            .find(|(m, s)| m == map && s.file == file)
        {
            update(status);
        }
    }

    /// The recorder thread gave up on `map`'s file.
    pub(crate) fn failed(&self, map: &str, file: &Path, why: String) {
        self.update(map, file, |s| s.error = Some(why));
        let on = self.state().on.get(map).is_some_and(|s| s.file == file);
        if on {
            self.stop(map);
        }
    }
}

/// The tick thread's end of the recorder: the queue, the switch, and the
/// rules for when to stream and checkpoint.
#[derive(Debug)]
pub struct RecorderLink {
    tx: Option<SyncSender<Note>>,
    switch: Arc<Switch>,
    flight: bool,
    checkpoint_every: u64,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RecorderLink {
    /// A link over `tx` to the recorder `thread`.
    pub fn new(
        tx: SyncSender<Note>,
        switch: Arc<Switch>,
        config: &RecordingConfig,
        thread: std::thread::JoinHandle<()>,
    ) -> Self {
        Self {
            tx: Some(tx),
            switch,
            flight: config.flight_recorder_secs > 0,
            checkpoint_every: config.checkpoint_every_ticks.max(1),
            thread: Some(thread),
        }
    }

    /// Whether worlds stream notes now (the flight recorder is on, or some
    /// map records).
    pub fn streaming(&self) -> bool {
        self.tx.is_some() && (self.flight || self.switch.any_on())
    }

    /// Whether tick `tick` is a periodic checkpoint's.
    pub fn checkpoint_due(&self, tick: u64) -> bool {
        tick.is_multiple_of(self.checkpoint_every)
    }

    /// The switch (checkpoint requests).
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// Queues `note`; `false` when it was dropped (queue full, or the
    /// recorder is gone), which the caller answers with a fresh
    /// checkpoint.
    pub fn send(&mut self, note: Note) -> bool {
        let Some(tx) = &self.tx else {
            return false;
        };
        match tx.try_send(note) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.switch.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the recorder thread is gone; recording stops");
                self.tx = None;
                false
            }
        }
    }
}

impl Drop for RecorderLink {
    /// Closes the queue and waits for the recorder thread, which finishes
    /// every open file (end block, flush) before it ends.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the recorder thread panicked");
        }
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
