//! Watching the maps directory: file changes in, [`MapEvent`]s out.
//!
//! `notify` reports raw file-system events; editors save in steps (truncate
//! then write, or write a temporary file and rename it into place), so one
//! save produces several events and, between them, half-written files. Each
//! map file therefore gets a quiet period (the debounce): only when no event
//! touched it for that long is it read, once, hashed and (when the hash is
//! new) validated like [`super::load_map_bytes`] does, on a blocking thread.
//! A half-written file that still slips through fails validation
//! (`Failed`), and the rest of the save triggers another pass that loads it. Content equal to the last outcome
//! for that file (loaded or failed) emits nothing.
//!
//! What it leaves out: swapping maps into the game and moving players, which
//! the receiver of the events does. Subdirectories are not watched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::Watcher as _;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::{LoadedMap, MapLoadError, content_hash, load_hashed_bytes, map_name, read_limited};

/// Default quiet period before a changed file is read.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);

/// Events from [`watch`] can wait this many to be received before the
/// watcher waits for the receiver.
const CHANNEL_CAPACITY: usize = 64;

/// A change of the maps directory, after debouncing and validation.
#[derive(Debug, Clone)]
pub enum MapEvent {
    /// A map file was added or changed and is valid. It may carry the same
    /// content as the live map when a file returns to it after `Failed`: the
    /// error is then over.
    Loaded(Arc<LoadedMap>),
    /// A map file was added or changed and is refused; whatever map of that
    /// name is live stays live.
    Failed(MapLoadError),
    /// The file of map `name` is gone (it had loaded or failed before).
    Removed {
        /// The map's name.
        name: String,
    },
}

/// Why the watch could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The OS file watch (inotify on Linux) could not be created, e.g. the
    /// per-user limit of watches is reached.
    #[error("cannot create the map watcher")]
    Create(#[source] notify::Error),
    /// The maps directory could not be watched (missing, not readable).
    #[error("cannot watch the maps directory {}", dir.display())]
    Watch {
        /// The maps directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: notify::Error,
    },
}

/// Keeps the watch alive; dropping it stops the watch and closes the event
/// channel.
pub struct MapWatcher {
    /// The OS watch; events stop when it drops.
    _watcher: notify::RecommendedWatcher,
    /// The debounce task, aborted on drop.
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MapWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Files waiting for their quiet period to end, shared between the `notify`
/// callback (a plain thread) and the debounce task.
#[derive(Default)]
struct Pending {
    /// When each touched map file may be read.
    due: Mutex<HashMap<PathBuf, Instant>>,
    /// Set when `notify` lost events: every file is looked at again.
    rescan: AtomicBool,
    /// Wakes the debounce task.
    wake: Notify,
}

impl Pending {
    fn touch(&self, path: PathBuf, debounce: Duration) {
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        due.insert(path, Instant::now() + debounce);
    }
}

/// Watches `dir` for map files (see [`map_name`]) being added, changed or
/// removed. `known` maps the name of every map already live to its content
/// hash; files that differ from it, and files not in it, are reported once
/// on a first pass right after the watch starts (so nothing that changed
/// since the caller's own scan is missed). Must be called inside a tokio
/// runtime.
pub fn watch(
    dir: PathBuf,
    debounce: Duration,
    known: HashMap<String, String>,
) -> Result<(MapWatcher, mpsc::Receiver<MapEvent>), WatchError> {
    let pending = Arc::new(Pending::default());
    let from_notify = Arc::clone(&pending);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        match res {
            Ok(event) => {
                if event.need_rescan() {
                    from_notify.rescan.store(true, Ordering::Relaxed);
                }
                for path in event.paths {
                    if map_name(&path).is_some() {
                        from_notify.touch(path, debounce);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(%err, "map watcher error; looking at every map file again");
                from_notify.rescan.store(true, Ordering::Relaxed);
            }
        }
        from_notify.wake.notify_one();
    })
    .map_err(WatchError::Create)?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .map_err(|source| WatchError::Watch {
            dir: dir.clone(),
            source,
        })?;
    pending.rescan.store(true, Ordering::Relaxed);
    pending.wake.notify_one();
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let task = tokio::spawn(run(dir, debounce, known, pending, tx));
    Ok((
        MapWatcher {
            _watcher: watcher,
            task,
        },
        rx,
    ))
}

/// The debounce loop: sleeps until the earliest due file, then examines
/// every due file in the order it was last touched.
async fn run(
    dir: PathBuf,
    debounce: Duration,
    mut last: HashMap<String, String>,
    pending: Arc<Pending>,
    tx: mpsc::Sender<MapEvent>,
) {
    loop {
        let next = {
            let due = pending.due.lock().unwrap_or_else(|e| e.into_inner());
            due.values().min().copied()
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = pending.wake.notified() => {}
                }
            }
            None => pending.wake.notified().await,
        }
        if pending.rescan.swap(false, Ordering::Relaxed) {
            for path in every_map_file(&dir, &last) {
                pending.touch(path, debounce);
            }
        }
        let mut ready: Vec<(Instant, PathBuf)> = {
            let mut due = pending.due.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let paths: Vec<PathBuf> = due
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(p, _)| p.clone())
                .collect();
            paths
                .into_iter()
                .filter_map(|p| due.remove(&p).map(|at| (at, p)))
                .collect()
        };
        ready.sort();
        for (_, path) in ready {
            let Some(name) = map_name(&path) else {
                continue;
            };
            let previous = last.get(&name).cloned();
            let examined = tokio::task::spawn_blocking(move || examine(&path, previous)).await;
            let event = match examined {
                Ok(Outcome::Unchanged) => continue,
                Ok(Outcome::Gone) => match last.remove(&name) {
                    Some(_) => {
                        tracing::info!(map = %name, "map file removed");
                        MapEvent::Removed { name }
                    }
                    None => continue,
                },
                Ok(Outcome::Loaded(map)) => {
                    tracing::info!(map = %name, hash = %map.content_hash, "map file loaded");
                    last.insert(name, map.content_hash.clone());
                    MapEvent::Loaded(Arc::new(map))
                }
                Ok(Outcome::Failed { error, hash }) => {
                    tracing::warn!(map = %name, hash = %hash, %error, "map file refused");
                    last.insert(name, hash);
                    MapEvent::Failed(error)
                }
                Err(err) => {
                    tracing::error!(map = %name, %err, "map validation task failed");
                    continue;
                }
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    }
}

/// Map files in `dir` now, plus the files of every map seen before (so that
/// files deleted while events were lost are noticed).
fn every_map_file(dir: &Path, last: &HashMap<String, String>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| map_name(p).is_some())
            .collect(),
        Err(err) => {
            tracing::warn!(dir = %dir.display(), %err, "cannot list the maps directory");
            Vec::new()
        }
    };
    paths.extend(last.keys().map(|name| dir.join(format!("{name}.tmx"))));
    paths.sort();
    paths.dedup();
    paths
}

/// What reading one map file found.
enum Outcome {
    /// Same content as last time.
    Unchanged,
    /// The file does not exist.
    Gone,
    /// New content that loads.
    Loaded(LoadedMap),
    /// New content (hash, or empty when unreadable) that does not load.
    Failed { error: MapLoadError, hash: String },
}

/// Reads `path` once and validates it unless its hash is `previous`.
fn examine(path: &Path, previous: Option<String>) -> Outcome {
    if !path.exists() {
        return Outcome::Gone;
    }
    let bytes = match read_limited(path) {
        Ok(bytes) => bytes,
        Err(problem) if !path.exists() => {
            drop(problem);
            return Outcome::Gone;
        }
        Err(problem) => {
            return Outcome::Failed {
                error: problem.in_file(path),
                hash: String::new(),
            };
        }
    };
    let hash = content_hash(&bytes);
    if previous.as_deref() == Some(hash.as_str()) {
        return Outcome::Unchanged;
    }
    let name = map_name(path).unwrap_or_default();
    match load_hashed_bytes(&name, path, bytes, hash.clone()) {
        Ok(map) => Outcome::Loaded(map),
        Err(error) => Outcome::Failed { error, hash },
    }
}
