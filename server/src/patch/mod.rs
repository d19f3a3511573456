//! The download and patch server: client assets (textures, sounds,
//! configuration, builds: any file in the assets directory) and the live
//! maps, published as releases that clients bring their copy up to with
//! `battlegrid fetch-assets` or the SDK's `client::assets::update`.
//!
//! A release is a manifest (`GET /v1/patch/manifest`): every file's path,
//! size and SHA-256, and where to download it. Files are content-addressed
//! (`GET /v1/patch/files/{sha256}`, immutable), so a release changes
//! atomically: the new manifest is published only once every file it
//! names is in the store, and the last `keep_releases` releases' files stay
//! downloadable, so a client in the middle of an update finishes the release
//! it started. For a changed file the server makes zstd deltas from the
//! previous `delta_versions` versions of the same path, in the background,
//! and lists one only when it is at most `delta_max_share` of the file.
//!
//! One task owns all of it ([`PatchService::run`]): it scans on start, then
//! again after the assets directory has been quiet for `debounce_ms` since
//! its last change, and whenever the live maps change. Handlers only read the
//! published snapshot (an `ArcSwap`), never the disk's directory listing.

mod release;
mod store;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use battlegrid_protocol::client::assets::{Manifest, ManifestDelta, ManifestFile, make_delta};
use bytes::Bytes;
use notify::Watcher;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use crate::game::catalog::MapCatalog;
pub use release::MAPS_PREFIX;
use release::{HashCache, Release, hex};
use store::ObjectStore;
pub use store::is_sha256;

/// `[patch]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatchConfig {
    /// Releases whose files stay downloadable. Default 5.
    pub keep_releases: usize,
    /// How many earlier versions of a changed file get a delta. Default 3.
    pub delta_versions: usize,
    /// A delta is listed only when at most this share of the file. Default 0.5.
    pub delta_max_share: f64,
    /// Files larger than this get no delta (making one holds both versions
    /// in memory). Default 512 MiB.
    pub delta_max_file_bytes: u64,
    /// zstd level of deltas, clamped to 1..=15. Default 9 (measured: as
    /// small as 15 at a sixth of its time; above 15 zstd's strategies made
    /// no usable delta of a 100 MiB file).
    pub delta_level: i32,
    /// Quiet time after a change in the assets directory before it is
    /// scanned. Default 500 ms.
    pub debounce_ms: u64,
}

impl Default for PatchConfig {
    fn default() -> Self {
        Self {
            keep_releases: 5,
            delta_versions: 3,
            delta_max_share: 0.5,
            delta_max_file_bytes: 512 << 20,
            delta_level: 9,
            debounce_ms: 500,
        }
    }
}

/// Why the patch server could not start.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The content store's folders could not be made.
    #[error("patch store in {path}: {source}")]
    Store {
        /// The data directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What the handlers read: the current manifest and where every file and
/// delta of the kept releases is.
pub struct Published {
    /// The manifest's JSON.
    pub manifest: Bytes,
    /// Its ETag (a hash of the JSON, without quotes).
    pub etag: String,
    /// The current release's id.
    pub release: String,
    files: HashMap<String, u64>,
    deltas: HashMap<(String, String), u64>,
}

/// The scan state, touched only by the owning task.
struct State {
    history: VecDeque<Release>,
    cache: HashCache,
    /// Deltas made: (from, to) -> size; `None` when one was made and was
    /// too large to list, so it is not made again.
    deltas: HashMap<(String, String), Option<u64>>,
}

/// The patch server.
pub struct PatchService {
    config: PatchConfig,
    assets: PathBuf,
    store: ObjectStore,
    catalog: Arc<MapCatalog>,
    published: ArcSwapOption<Published>,
    state: Mutex<State>,
}

impl PatchService {
    /// Opens the store under `data`. Nothing is published until
    /// [`PatchService::run`] finishes its first scan.
    pub fn new(
        config: PatchConfig,
        assets: PathBuf,
        data: &std::path::Path,
        catalog: Arc<MapCatalog>,
    ) -> Result<Arc<Self>, PatchError> {
        let store = ObjectStore::open(data).map_err(|source| PatchError::Store {
            path: data.to_owned(),
            source,
        })?;
        let history = store.load_history();
        Ok(Arc::new(Self {
            config,
            assets,
            store,
            catalog,
            published: ArcSwapOption::empty(),
            state: Mutex::new(State {
                history,
                cache: HashCache::new(),
                deltas: HashMap::new(),
            }),
        }))
    }

    /// The current manifest, once the first scan is done.
    pub fn published(&self) -> Option<Arc<Published>> {
        self.published.load_full()
    }

    /// The stored file `sha` and its size, if a kept release lists it.
    pub fn file(&self, sha: &str) -> Option<(PathBuf, u64)> {
        let published = self.published.load();
        let size = *published.as_ref()?.files.get(sha)?;
        Some((self.store.object(sha), size))
    }

    /// The stored delta from `from` to `to` and its size, if listed.
    pub fn delta(&self, from: &str, to: &str) -> Option<(PathBuf, u64)> {
        let published = self.published.load();
        let key = (from.to_owned(), to.to_owned());
        let size = *published.as_ref()?.deltas.get(&key)?;
        Some((self.store.delta(from, to), size))
    }

    /// Scans, publishes, makes deltas; then waits for a change of the
    /// assets directory or of the live maps, and again, until `stop`.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let (tx, mut changes) = mpsc::channel::<()>(1);
        let _watcher = self.watch(tx);
        let mut maps = self.catalog.subscribe();
        let debounce = Duration::from_millis(self.config.debounce_ms);
        loop {
            let this = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || this.rebuild()).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(%err, "patch scan failed; the last release stays"),
                Err(err) => tracing::error!(%err, "patch scan panicked; the last release stays"),
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                Some(()) = changes.recv() => {}
                Ok(()) = maps.changed() => {}
            }
            // Quiet period: a designer's save is often several events.
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(debounce) => break,
                    Some(()) = changes.recv() => {}
                }
            }
        }
    }

    /// Watches the assets directory (if it exists; one made later needs a
    /// restart, like the maps directory).
    fn watch(&self, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok() {
                    let _ = tx.try_send(());
                }
            })
            .map_err(|err| tracing::warn!(%err, "cannot watch the assets directory"))
            .ok()?;
        match watcher.watch(&self.assets, notify::RecursiveMode::Recursive) {
            Ok(()) => Some(watcher),
            Err(err) => {
                tracing::info!(dir = %self.assets.display(), %err, "assets directory not watched");
                None
            }
        }
    }

    /// One scan: a new release if anything changed, published at once,
    /// then its deltas, published again.
    fn rebuild(&self) -> std::io::Result<()> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let maps: Vec<_> = self.catalog.live().values().cloned().collect();
        let release = release::scan(&self.assets, &maps, &self.store, &mut state.cache)?;
        let changed = state
            .history
            .back()
            .is_none_or(|last| last.id != release.id);
        if changed {
            tracing::info!(release = %release.id, files = release.files.len(), "new assets release");
            state.history.push_back(release);
            while state.history.len() > self.config.keep_releases.max(1) {
                state.history.pop_front();
            }
            self.store.save_history(&state.history)?;
        }
        if changed || self.published.load().is_none() {
            self.publish(state);
        }
        if self.make_deltas(state) {
            self.publish(state);
        }
        if changed {
            let keep: HashSet<&str> = state
                .history
                .iter()
                .flat_map(|r| r.files.iter().map(|f| f.sha256.as_str()))
                .collect();
            self.store.collect_garbage(&keep)?;
            state
                .deltas
                .retain(|(from, to), _| keep.contains(from.as_str()) && keep.contains(to.as_str()));
        }
        Ok(())
    }

    /// Makes the missing deltas towards the newest release's files; whether
    /// any new one is listable.
    fn make_deltas(&self, state: &mut State) -> bool {
        let Some(newest) = state.history.back() else {
            return false;
        };
        let mut wanted = Vec::new();
        for file in &newest.files {
            let mut earlier: Vec<&str> = Vec::new();
            for release in state.history.iter().rev().skip(1) {
                if let Some(old) = release.files.iter().find(|f| f.path == file.path)
                    && old.sha256 != file.sha256
                    && !earlier.contains(&old.sha256.as_str())
                {
                    earlier.push(&old.sha256);
                }
            }
            for from in earlier.into_iter().take(self.config.delta_versions) {
                let key = (from.to_owned(), file.sha256.clone());
                if !state.deltas.contains_key(&key) {
                    wanted.push((key, file.size));
                }
            }
        }
        let mut any = false;
        for ((from, to), size) in wanted {
            let outcome = self.make_delta(&from, &to, size);
            any |= outcome.is_some();
            state.deltas.insert((from, to), outcome);
        }
        any
    }

    /// Makes, checks and stores one delta; its size if it is worth listing.
    fn make_delta(&self, from: &str, to: &str, size: u64) -> Option<u64> {
        if size > self.config.delta_max_file_bytes {
            return None;
        }
        let started = std::time::Instant::now();
        let made = (|| {
            let old = std::fs::read(self.store.object(from))?;
            let new = std::fs::read(self.store.object(to))?;
            if old.len() as u64 > self.config.delta_max_file_bytes {
                return Ok(None);
            }
            let delta = make_delta(&old, &new, self.config.delta_level.clamp(1, 15))?;
            if delta.len() as f64 > self.config.delta_max_share * new.len() as f64 {
                return Ok(None);
            }
            self.store.put_delta(from, to, &delta)?;
            Ok::<_, std::io::Error>(Some(delta.len() as u64))
        })();
        match made {
            Ok(Some(bytes)) => {
                tracing::info!(
                    from,
                    to,
                    bytes,
                    file_bytes = size,
                    ms = started.elapsed().as_millis() as u64,
                    "patch delta made"
                );
                Some(bytes)
            }
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(from, to, %err, "patch delta failed; the whole file is offered");
                None
            }
        }
    }

    /// Publishes the newest release's manifest with the deltas made so far.
    fn publish(&self, state: &State) {
        let Some(newest) = state.history.back() else {
            return;
        };
        let deltas: HashMap<(String, String), u64> = state
            .deltas
            .iter()
            .filter_map(|(pair, size)| size.map(|s| (pair.clone(), s)))
            .collect();
        let manifest = Manifest {
            release: newest.id.clone(),
            files: newest
                .files
                .iter()
                .map(|f| ManifestFile {
                    path: f.path.clone(),
                    size: f.size,
                    sha256: f.sha256.clone(),
                    url: format!("/v1/patch/files/{}", f.sha256),
                    deltas: {
                        let mut offered: Vec<ManifestDelta> = deltas
                            .iter()
                            .filter(|((_, to), _)| *to == f.sha256)
                            .map(|((from, to), size)| ManifestDelta {
                                from_sha256: from.clone(),
                                size: *size,
                                url: format!("/v1/patch/deltas/{from}/{to}"),
                            })
                            .collect();
                        // Stable order, so an unchanged manifest keeps its ETag.
                        offered.sort_by(|a, b| a.from_sha256.cmp(&b.from_sha256));
                        offered
                    },
                })
                .collect(),
        };
        let json = serde_json::to_vec(&manifest).expect("a manifest serialises");
        let etag = hex(&Sha256::digest(&json))[..32].to_owned();
        let files = state
            .history
            .iter()
            .flat_map(|r| r.files.iter().map(|f| (f.sha256.clone(), f.size)))
            .collect();
        self.published.store(Some(Arc::new(Published {
            manifest: Bytes::from(json),
            etag,
            release: newest.id.clone(),
            files,
            deltas,
        })));
    }
}
