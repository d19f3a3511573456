//! The game listener: QUIC endpoint, gateway, connections and the tick
//! thread that runs the simulation.
//!
//! - [`config`]: the `[tls]`, `[quic]` and `[world]` settings.
//! - [`tls`]: the certificate (operator PEM or generated and reused).
//! - [`transport`]: QUIC limits, chosen for what the protocol uses.
//! - [`gateway`]: admission limits and the `Hello` handshake.
//! - [`session`]: a joined connection's reader and writer tasks.
//! - [`online`]: the connected players, for the admin API.
//! - [`peer`]: the bounded outbound queue between tick and writer.
//! - [`tick`]: the tick thread (the bridge to the simulation).
//! - [`persist`]: the saver task writing positions to the store.
//! - [`worlds`]: a simulation per map, and which world each player is in.
//! - [`watchdog`]: notices a stuck tick; what `/healthz` and `/readyz` say.
//! - [`catalog`]: the live maps and load errors, for the HTTP map API.
//! - `faults` (tests and the `fault-injection` feature only): panics and
//!   stalls on command.
//!
//! [`GameListener::bind`] builds everything that can fail (certificate,
//! maps, worlds, socket) so a bad configuration stops the server at start;
//! [`GameListener::start`] starts the tasks, the map watcher and the tick
//! thread;
//! [`RunningGame::shut_down`] is the graceful stop: no new connections,
//! every client told `SHUTTING_DOWN`, every position saved. What this
//! module leaves out: reading map files (`crate::maps`), metrics rendering
//! (`crate::metrics`), and several nodes.

pub mod catalog;
pub mod config;
#[cfg(any(test, feature = "fault-injection"))]
pub mod faults;
pub mod gateway;
pub mod online;
pub mod peer;
pub mod persist;
pub mod resume;
pub mod session;
pub mod stats;
pub mod tick;
pub mod tls;
pub mod transport;
pub mod watchdog;
pub mod worlds;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use self::catalog::MapCatalog;
use self::gateway::Gateway;
use self::resume::ResumeKeys;
use self::stats::GameStats;
use self::tick::core::{CoreSettings, TickCore};
use self::tick::{Control, TickLoop};
use self::tls::TlsError;
use self::worlds::{Worlds, WorldsError};
use crate::auth::TokenTable;
use crate::config::Config;
use crate::store::Store;

/// How long shutdown waits for clients to receive their goodbye before the
/// endpoint is closed under them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why the game listener could not be bound or started.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// The certificate could not be loaded or generated.
    #[error("preparing the game listener's certificate")]
    Tls(#[from] TlsError),
    /// The resume key in the data directory could not be read or made.
    #[error("resume key")]
    ResumeKey(#[from] self::resume::ResumeKeyError),
    /// The maps directory could not be listed.
    #[error("reading the maps directory {}", path.display())]
    MapsDir {
        /// The maps directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The maps that loaded cannot make the worlds (e.g. no default map).
    #[error("building the worlds from {}", path.display())]
    Worlds {
        /// The maps directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: WorldsError,
    },
    /// The UDP socket could not be bound.
    #[error("binding the game listener on {addr}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The maps directory could not be watched.
    #[error("watching {}", path.display())]
    Watch {
        /// The maps directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: crate::maps::WatchError,
    },
    /// The OS refused a thread for the tick loop.
    #[error("starting the tick thread")]
    TickThread(#[source] std::io::Error),
    /// The OS refused a thread for the watchdog.
    #[error("starting the watchdog thread")]
    WatchdogThread(#[source] std::io::Error),
    /// The OS refused a thread for the recorder.
    #[error("starting the recorder thread")]
    RecorderThread(#[source] std::io::Error),
}

/// A bound game listener, not yet serving.
pub struct GameListener {
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
    fingerprint: String,
    resume: Arc<ResumeKeys>,
    worlds: Worlds,
    catalog: Arc<MapCatalog>,
    config: Config,
    /// Where gameplay events go, and how often positions are sampled
    /// (see [`GameListener::set_analytics`]).
    analytics: crate::analytics::Analytics,
    sample_every: Option<Duration>,
}

impl GameListener {
    /// Loads or makes the certificate, loads the maps and builds their
    /// worlds, and binds the UDP socket. Must run inside a tokio runtime.
    pub fn bind(config: &Config) -> Result<Self, GameError> {
        let identity = tls::load_or_generate(&config.tls, &config.data)?;
        let crypto = tls::quic_server_crypto(&identity)?;
        let server_config = transport::server_config(crypto, &config.quic);
        let scan = crate::maps::scan_dir(&config.maps).map_err(|source| GameError::MapsDir {
            path: config.maps.clone(),
            source,
        })?;
        for error in &scan.errors {
            tracing::warn!(%error, "map refused");
        }
        for map in &scan.maps {
            tracing::info!(map = %map.name, hash = %map.content_hash, "map loaded");
        }
        let worlds = Worlds::new(scan.maps, &scan.errors, &config.world).map_err(|source| {
            GameError::Worlds {
                path: config.maps.clone(),
                source,
            }
        })?;
        let catalog = Arc::new(MapCatalog::new(
            worlds.default_map(),
            worlds.live_maps(),
            scan.errors,
        ));
        catalog.set_views(worlds.views());
        let bind_error = |source| GameError::Bind {
            addr: config.game,
            source,
        };
        let resume = Arc::new(ResumeKeys::load_or_generate(&config.data)?);
        // Persisted keys let a restarted server reset its predecessor's
        // connections, so their clients reconnect at once.
        let endpoint_config =
            resume.quic_endpoint_config(Duration::from_micros(config.quic.min_reset_interval_us));
        let socket = std::net::UdpSocket::bind(config.game).map_err(bind_error)?;
        let runtime = quinn::default_runtime().ok_or_else(|| {
            bind_error(std::io::Error::other(
                "no async runtime for the QUIC endpoint",
            ))
        })?;
        let endpoint = quinn::Endpoint::new(endpoint_config, Some(server_config), socket, runtime)
            .map_err(bind_error)?;
        let addr = endpoint.local_addr().map_err(bind_error)?;
        tracing::info!(
            cert = %identity.source.display(),
            sha256 = %identity.fingerprint,
            "game listener certificate"
        );
        Ok(Self {
            endpoint,
            addr,
            fingerprint: identity.fingerprint,
            resume,
            worlds,
            catalog,
            config: config.clone(),
            analytics: crate::analytics::Analytics::off(),
            sample_every: None,
        })
    }

    /// The bound UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SHA-256 of the certificate, 64 lowercase hex digits.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The live maps and load errors, for the HTTP map API.
    pub fn catalog(&self) -> Arc<MapCatalog> {
        Arc::clone(&self.catalog)
    }

    /// Sends the tick's gameplay events to `analytics`, and every online
    /// player's position every `sample_every` (`None`: no samples).
    pub fn set_analytics(
        &mut self,
        analytics: crate::analytics::Analytics,
        sample_every: Option<Duration>,
    ) {
        self.analytics = analytics;
        self.sample_every = sample_every;
    }

    /// Starts the tick thread, the saver, the map watcher and the accept
    /// loop.
    pub fn start(
        self,
        tokens: Arc<TokenTable>,
        store: Arc<dyn Store>,
        bans: Arc<crate::admin::Bans>,
    ) -> Result<RunningGame, GameError> {
        let stats = Arc::new(GameStats::default());
        // Unbounded on purpose, yet bounded in practice: its only messages
        // are one Join and one Left per admitted connection, a single
        // Shutdown, and map changes (the watcher's own channel is bounded
        // and debounced, so they come at the pace designers save files), and
        // admission caps connections (`max_connections`,
        // `max_pending_handshakes`). A bounded channel here would make the
        // gateway block or drop a Left, which would leak a player.
        let (control_tx, control_rx) = std::sync::mpsc::channel();
        let (saves_tx, saves_rx) = mpsc::channel(1);
        let saver = tokio::spawn(persist::run_saver(
            saves_rx,
            Arc::clone(&store),
            Arc::clone(&stats),
        ));
        let known = self
            .catalog
            .live()
            .iter()
            .map(|(name, map)| (name.clone(), map.content_hash.clone()))
            .collect();
        let (watcher, mut map_events) = crate::maps::watch::watch(
            self.config.maps.clone(),
            Duration::from_millis(self.config.world.map_reload_debounce_ms),
            known,
        )
        .map_err(|source| GameError::Watch {
            path: self.config.maps.clone(),
            source,
        })?;
        let forwarder = {
            let catalog = Arc::clone(&self.catalog);
            let control = control_tx.clone();
            tokio::spawn(async move {
                // Owns the watch: it stops when this task is aborted.
                let _watcher = watcher;
                while let Some(event) = map_events.recv().await {
                    catalog.record(&event);
                    if control.send(Control::Map(event)).is_err() {
                        return;
                    }
                }
            })
        };
        let mut worlds = self.worlds;
        let recording = start_recorder(&self.config, &mut worlds)?;
        #[cfg(feature = "fault-injection")]
        let faults = worlds.faults();
        let beat = worlds.heartbeat();
        let health = Arc::new(watchdog::Health::new(
            Arc::clone(&beat),
            Duration::from_millis(self.config.recovery.tick_stall_warn_ms),
        ));
        let snapshots = worlds.snapshots();
        let mut core = TickCore::new(
            worlds,
            Arc::clone(&self.catalog),
            CoreSettings {
                limits: self.config.quic.clone(),
                recovery: self.config.recovery.clone(),
                stats_every: self.config.world.stats_every_ticks,
            },
            Arc::clone(&stats),
            std::time::Instant::now(),
        );
        core.set_analytics(self.analytics.clone());
        let tick_loop = TickLoop {
            core,
            control: control_rx,
            saves: saves_tx,
            #[cfg(feature = "fault-injection")]
            faults: Arc::clone(&faults),
        };
        let tick = std::thread::Builder::new()
            .name("battlegrid-tick".into())
            .spawn(move || tick_loop.run())
            .map_err(GameError::TickThread)?;
        watchdog::spawn(beat, Arc::clone(&stats), &self.config.recovery)
            .map_err(GameError::WatchdogThread)?;
        let online = Arc::new(online::Online::default());
        let admission = gateway::Admission {
            tokens,
            store,
            resume: Arc::clone(&self.resume),
            bans,
        };
        let gateway = Arc::new(Gateway::new(
            self.config.quic.clone(),
            admission,
            control_tx.clone(),
            Arc::clone(&stats),
            Arc::clone(&online),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let sampler = match self.sample_every {
            Some(every) if self.analytics.is_on() => Some(tokio::spawn(
                crate::analytics::sampler::run(snapshots, self.analytics, every, stop_rx.clone()),
            )),
            _ => None,
        };
        let accept = tokio::spawn(gateway.accept_loop(self.endpoint.clone(), stop_rx));
        tracing::info!(listener = "game", addr = %self.addr, "listening");
        Ok(RunningGame {
            health,
            recording,
            #[cfg(feature = "fault-injection")]
            faults,
            endpoint: self.endpoint,
            control: control_tx,
            stop: stop_tx,
            accept,
            tick,
            saver,
            forwarder,
            sampler,
            stats,
            online,
        })
    }
}

/// Starts the recorder thread (recordings, flight recorder, crash files)
/// and streams `worlds` to it.
fn start_recorder(
    config: &Config,
    worlds: &mut Worlds,
) -> Result<Arc<crate::record::Switch>, GameError> {
    use crate::record::{RecorderLink, Switch, recorder};
    let settings = &config.recording;
    let switch = Arc::new(Switch::new(settings.dir_in(&config.data), settings));
    let (notes, notes_rx) = std::sync::mpsc::sync_channel(settings.queue.max(1));
    let recorder_settings = recorder::RecorderSettings {
        crash_dir: config.data.join("crash"),
        flight_ticks: settings.flight_recorder_secs * u64::from(config.world.tick_rate_hz),
        tick_rate_hz: config.world.tick_rate_hz,
    };
    let thread = {
        let switch = Arc::clone(&switch);
        std::thread::Builder::new()
            .name("battlegrid-recorder".into())
            .spawn(move || recorder::run(notes_rx, switch, recorder_settings))
            .map_err(GameError::RecorderThread)?
    };
    worlds.record_to(RecorderLink::new(
        notes,
        Arc::clone(&switch),
        settings,
        thread,
    ));
    Ok(switch)
}

/// A serving game listener.
pub struct RunningGame {
    /// What the health endpoints answer.
    health: Arc<watchdog::Health>,
    /// Which maps record (the admin API's recording routes).
    recording: Arc<crate::record::Switch>,
    /// Faults the admin listener's debug routes arm (tests only).
    #[cfg(feature = "fault-injection")]
    faults: Arc<faults::Faults>,
    endpoint: quinn::Endpoint,
    /// To tell the tick thread to stop.
    control: std::sync::mpsc::Sender<Control>,
    /// Stops the accept loop.
    stop: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
    tick: std::thread::JoinHandle<()>,
    saver: tokio::task::JoinHandle<()>,
    /// Forwards map changes to the tick thread; owns the watcher.
    forwarder: tokio::task::JoinHandle<()>,
    /// Samples positions for analytics; stops with the accept loop.
    sampler: Option<tokio::task::JoinHandle<()>>,
    stats: Arc<GameStats>,
    online: Arc<online::Online>,
}

impl RunningGame {
    /// The listener's counters.
    pub fn stats(&self) -> Arc<GameStats> {
        Arc::clone(&self.stats)
    }

    /// Which maps record to files.
    pub fn recording(&self) -> Arc<crate::record::Switch> {
        Arc::clone(&self.recording)
    }

    /// Who is connected.
    pub fn online(&self) -> Arc<online::Online> {
        Arc::clone(&self.online)
    }

    /// A sender of control messages to the tick thread (the admin API's
    /// map changes).
    pub fn control(&self) -> std::sync::mpsc::Sender<Control> {
        self.control.clone()
    }

    /// What `/healthz` and `/readyz` answer.
    pub fn health(&self) -> Arc<watchdog::Health> {
        Arc::clone(&self.health)
    }

    /// The faults tests can arm in the tick thread.
    #[cfg(feature = "fault-injection")]
    pub fn faults(&self) -> Arc<faults::Faults> {
        Arc::clone(&self.faults)
    }

    /// Graceful stop: refuse new connections, tell every client
    /// `SHUTTING_DOWN`, let every player leave and write every position to
    /// the store. The caller flushes the store afterwards.
    pub async fn shut_down(self) {
        self.health.drain();
        self.endpoint.set_server_config(None);
        self.forwarder.abort();
        let _ = self.stop.send(true);
        let _ = self.accept.await;
        if let Some(sampler) = self.sampler {
            let _ = sampler.await;
        }
        let _ = self.control.send(Control::Shutdown);
        drop(self.control);
        let tick = self.tick;
        if tokio::task::spawn_blocking(move || tick.join())
            .await
            .is_err()
        {
            tracing::error!("the tick thread panicked");
        }
        // The tick thread dropped its sender: the saver ends after the last batch.
        let _ = self.saver.await;
        if tokio::time::timeout(SHUTDOWN_GRACE, self.endpoint.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!("clients did not acknowledge the shutdown in time");
        }
        self.endpoint.close(
            u32::from(battlegrid_protocol::ErrorCode::SHUTTING_DOWN.0).into(),
            b"the server is shutting down",
        );
    }
}
