//! What the maps directory holds right now, for readers outside the tick
//! thread: the live version of every map (as the tick thread swapped it in)
//! and the files that were refused, with their errors. `GET /v1/maps` and
//! `GET /v1/maps/{name}` read it, and the admin API reads each world's
//! published position snapshot through it.
//!
//! Two writers, each rarely: the tick thread publishes the live set after
//! applying a change (an `ArcSwap`, so HTTP readers never wait on it), and
//! the map watcher's forwarder records load errors (a mutex: errors change
//! only when a designer saves a file).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::game::worlds::WorldViews;
use crate::maps::{LoadedMap, MapEvent, MapLoadError, map_name};

/// Live maps by name.
pub type LiveMaps = BTreeMap<String, Arc<LoadedMap>>;

/// The shared view of the maps.
pub struct MapCatalog {
    default_map: ArcSwap<String>,
    live: ArcSwap<LiveMaps>,
    /// Each world's published snapshot and step time, for the admin API
    /// and the dashboard.
    views: ArcSwap<WorldViews>,
    /// Counts publications of the live set, for readers that follow it (the
    /// patch manifest lists the live maps).
    version: tokio::sync::watch::Sender<u64>,
    errors: Mutex<BTreeMap<PathBuf, MapLoadError>>,
}

impl MapCatalog {
    /// A catalog of `live` maps and the start-up scan's `errors`.
    pub fn new(default_map: &str, live: LiveMaps, errors: Vec<MapLoadError>) -> Self {
        Self {
            default_map: ArcSwap::from_pointee(default_map.to_owned()),
            live: ArcSwap::from_pointee(live),
            views: ArcSwap::default(),
            version: tokio::sync::watch::Sender::new(0),
            errors: Mutex::new(errors.into_iter().map(|e| (e.file.clone(), e)).collect()),
        }
    }

    /// The map new players start on.
    pub fn default_map(&self) -> String {
        self.default_map.load().as_ref().clone()
    }

    /// Publishes the tick thread's default map.
    pub fn set_default_map(&self, name: &str) {
        self.default_map.store(Arc::new(name.to_owned()));
    }

    /// Every world's view (snapshot reader, step time).
    pub fn views(&self) -> Arc<WorldViews> {
        self.views.load_full()
    }

    /// Publishes the tick thread's worlds.
    pub fn set_views(&self, views: WorldViews) {
        self.views.store(Arc::new(views));
    }

    /// Every live map.
    pub fn live(&self) -> Arc<LiveMaps> {
        self.live.load_full()
    }

    /// The live map `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedMap>> {
        self.live.load().get(name).cloned()
    }

    /// Publishes the tick thread's live set.
    pub fn set_live(&self, live: LiveMaps) {
        self.live.store(Arc::new(live));
        self.version.send_modify(|v| *v += 1);
    }

    /// A receiver that sees every later [`MapCatalog::set_live`].
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Files refused by their last load, by file.
    pub fn errors(&self) -> Vec<MapLoadError> {
        self.lock().values().cloned().collect()
    }

    /// Keeps the error list in step with a watcher event: a refusal is
    /// recorded for its file; a good load or a removal ends the file's error.
    pub fn record(&self, event: &MapEvent) {
        let mut errors = self.lock();
        match event {
            MapEvent::Failed(error) => {
                errors.insert(error.file.clone(), error.clone());
            }
            MapEvent::Loaded(map) => {
                errors.remove(&map.path);
            }
            MapEvent::Removed { name } => {
                errors.retain(|file, _| map_name(file).as_deref() != Some(name.as_str()));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, MapLoadError>> {
        self.errors.lock().unwrap_or_else(|e| e.into_inner())
    }
}
