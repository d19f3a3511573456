//! Starting and stopping the whole server: open the store, fill the token
//! table, bind every listener, serve until shutdown, flush.
//!
//! [`Server::bind`] and [`Server::serve`] are split so callers (tests, the
//! binary) learn the bound addresses before serving, which matters when
//! ports are 0. `/v1/server-info` reports the game listener's bound address
//! and certificate fingerprint. At shutdown the game listener stops first,
//! so every player's position is in the store before the final flush.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::{AdminToken, AdminTokenError, Guard, RouteTable, TokenSource};
use crate::analytics::writer::Writer;
use crate::analytics::{Analytics, AnalyticsStats, Stamped};
use crate::auth::{Auth, PasswordError, Passwords, RateLimiters, TokenTable};
use crate::config::Config;
use crate::game::{GameError, GameListener};
use crate::http::tls::{PublicTls, PublicTlsError};
use crate::http::{
    GameInfo, ListenerOptions, ServerInfo, TrustedProxies, admin_router, admin_routes,
    public_router, serve,
};
use crate::metrics::Metrics;
use crate::patch::{PatchError, PatchService};
use crate::store::{SledStore, Store, StoreError};

/// Why the server could not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be created.
    #[error("creating data directory {}", path.display())]
    DataDir {
        /// The configured data directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be opened (e.g. another process holds it).
    #[error("opening the store in {}", path.display())]
    OpenStore {
        /// The configured data directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The live sessions or the bans could not be read from the store.
    #[error("loading sessions and bans")]
    LoadSessions(#[source] StoreError),
    /// The password hasher could not start (its dummy hash failed).
    #[error("preparing password hashing")]
    Passwords(#[from] PasswordError),
    /// An HTTP listener could not be bound.
    #[error("binding the {listener} listener on {addr}")]
    Bind {
        /// `HTTP` or `admin`.
        listener: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The game listener could not be bound or started.
    #[error(transparent)]
    Game(#[from] GameError),
    /// The public listener's TLS could not start.
    #[error(transparent)]
    PublicTls(#[from] PublicTlsError),
    /// The patch server's store could not be opened.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// The ready file could not be written.
    #[error("writing the ready file {}", path.display())]
    ReadyFile {
        /// The file written (the temporary name, or the final one).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The analytics directory could not be prepared (created, or the files
    /// a crash left open completed).
    #[error("preparing the analytics directory {}", path.display())]
    Analytics {
        /// `[analytics] dir`, or `<data>/analytics`.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The analytics writer thread could not start.
    #[error("starting the analytics writer thread")]
    AnalyticsThread(#[source] std::io::Error),
    /// The admin token could not be set up, or the admin listener would be
    /// exposed without one.
    #[error(transparent)]
    AdminToken(#[from] AdminTokenError),
    /// `[admin_api] tls` without `[public_tls]`, whose certificate it uses.
    #[error(
        "[admin_api] tls = true needs [public_tls] enabled = true (it serves that certificate)"
    )]
    AdminTlsWithoutPublicTls,
    /// The final flush failed: the last writes may be lost.
    #[error("flushing the store at shutdown")]
    Flush(#[source] StoreError),
}

/// Addresses the listeners are bound to (ports resolved when 0 was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BoundAddrs {
    /// Public HTTP listener.
    pub http: SocketAddr,
    /// Admin HTTP listener.
    pub admin: SocketAddr,
    /// QUIC game listener (UDP).
    pub game: Option<SocketAddr>,
}

/// A server with its store open and listeners bound, not yet serving.
pub struct Server {
    config: Config,
    auth: Arc<Auth>,
    http: TcpListener,
    admin: TcpListener,
    game: GameListener,
    public_tls: Option<PublicTls>,
    admin_token: AdminToken,
    addrs: BoundAddrs,
    /// The analytics writer and its queue, started by `serve`.
    analytics: Option<(Writer, Receiver<Stamped>)>,
    analytics_stats: Option<Arc<AnalyticsStats>>,
}

impl Server {
    /// Opens the store, loads live sessions and binds the listeners.
    pub async fn bind(config: Config) -> Result<Self, ServerError> {
        std::fs::create_dir_all(&config.data).map_err(|source| ServerError::DataDir {
            path: config.data.clone(),
            source,
        })?;
        let admin_token = admin_token(&config)?;
        let store =
            SledStore::open(&config.data, config.store.cache_capacity_bytes).map_err(|source| {
                ServerError::OpenStore {
                    path: config.data.clone(),
                    source,
                }
            })?;
        let store: Arc<dyn Store> = Arc::new(store);
        let (analytics, writer) = if config.analytics.enabled {
            let stats = Arc::new(AnalyticsStats::default());
            let (analytics, queue) = Analytics::channel(
                config.analytics.queue_capacity,
                config.analytics.keep_texts,
                Arc::clone(&stats),
            );
            let dir = config.analytics.dir_in(&config.data);
            let writer = Writer::new(dir.clone(), config.analytics.clone(), stats)
                .map_err(|source| ServerError::Analytics { path: dir, source })?;
            (analytics, Some((writer, queue)))
        } else {
            (Analytics::off(), None)
        };
        let hashers = config.passwords.max_concurrent_hashes.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let bans = crate::admin::Bans::load(&*store)
            .await
            .map_err(ServerError::LoadSessions)?;
        let auth = Arc::new(Auth {
            bans: Arc::new(bans),
            store,
            tokens: Arc::new(TokenTable::new(
                config.sessions.idle_ttl_secs.saturating_mul(1000),
            )),
            passwords: Passwords::new(hashers).await?,
            limits: RateLimiters::new(&config.rate_limits),
            sessions: config.sessions.clone(),
            analytics: analytics.clone(),
        });
        let loaded = auth
            .load_sessions()
            .await
            .map_err(ServerError::LoadSessions)?;
        tracing::info!(sessions = loaded, "store open");

        let (http, http_addr) = bind_tcp("HTTP", config.http).await?;
        let (admin, admin_addr) = bind_tcp("admin", config.admin).await?;
        let mut game = GameListener::bind(&config)?;
        let sample_every = (config.analytics.position_sample_secs > 0)
            .then(|| Duration::from_secs(config.analytics.position_sample_secs));
        let analytics_stats = analytics.stats();
        game.set_analytics(analytics, sample_every);
        // After the game listener: it generates the development certificate
        // that `[public_tls]` may share.
        let public_tls = PublicTls::from_config(&config)?;
        let addrs = BoundAddrs {
            http: http_addr,
            admin: admin_addr,
            game: Some(game.addr()),
        };
        Ok(Self {
            config,
            auth,
            http,
            admin,
            game,
            public_tls,
            admin_token,
            addrs,
            analytics: writer,
            analytics_stats,
        })
    }

    /// Where the listeners are bound.
    pub fn addrs(&self) -> BoundAddrs {
        self.addrs
    }

    /// The store, shared with the auth API.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.auth.store)
    }

    /// The live token table, shared with the auth API.
    pub fn token_table(&self) -> Arc<TokenTable> {
        Arc::clone(&self.auth.tokens)
    }

    /// Serves until `shutdown` completes, then stops accepting, lets
    /// in-flight requests finish and flushes the store.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Self {
            config,
            auth,
            http,
            admin,
            game,
            public_tls,
            admin_token,
            addrs,
            analytics,
            analytics_stats,
        } = self;
        let analytics_stop = Arc::new(AtomicBool::new(false));
        let analytics_writer = analytics
            .map(|(writer, queue)| {
                crate::analytics::writer::spawn(writer, queue, Arc::clone(&analytics_stop))
            })
            .transpose()
            .map_err(ServerError::AnalyticsThread)?;
        let info = ServerInfo {
            protocol_version: battlegrid_protocol::PROTOCOL_VERSION,
            game: Some(GameInfo {
                addr: game.addr().to_string(),
                cert_sha256: game.fingerprint().to_owned(),
            }),
        };
        let catalog = game.catalog();
        let patch = PatchService::new(
            config.patch.clone(),
            config.assets.clone(),
            &config.data,
            Arc::clone(&catalog),
        )?;
        let game = game.start(
            Arc::clone(&auth.tokens),
            Arc::clone(&auth.store),
            Arc::clone(&auth.bans),
        )?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let proxies = Arc::new(TrustedProxies::new(config.trusted_proxies.clone()));
        let cert_watch = public_tls.as_ref().map(PublicTls::watch).transpose()?;
        let public_options = ListenerOptions {
            tls: public_tls.as_ref().map(PublicTls::acceptor),
            proxies: Arc::clone(&proxies),
        };
        let patcher = tokio::spawn(Arc::clone(&patch).run(stop_rx.clone()));
        let health = game.health();
        let public = public_router(
            Arc::clone(&auth),
            info,
            Arc::clone(&catalog),
            patch,
            Arc::clone(&health),
            &config.http_limits,
            public_tls.is_some(),
        );
        let public = tokio::spawn(serve(
            "http",
            http,
            public,
            config.http_limits.clone(),
            public_options,
            stop_rx.clone(),
        ));
        let mut metrics = Metrics::new(game.stats());
        if let Some(stats) = analytics_stats {
            metrics.add_analytics(stats);
        }
        let metrics = Arc::new(metrics);
        let sampler = Arc::new(crate::admin::Sampler::default());
        let sampling = tokio::spawn(Arc::clone(&sampler).run(game.online(), game.stats()));
        let admin_state = crate::admin::AdminState {
            auth: Arc::clone(&auth),
            online: game.online(),
            catalog: Arc::clone(&catalog),
            control: game.control(),
            stats: game.stats(),
            sampler,
            started: std::time::Instant::now(),
            config: Arc::new(crate::admin::state::redacted_config(&config)),
        };
        let feed = Arc::new(crate::admin::feed::Feed::default());
        let feeding = tokio::spawn(Arc::clone(&feed).run(Arc::clone(&catalog)));
        let admin_table = admin_routes(Arc::clone(&auth), metrics, health, game.recording())
            .merge(crate::admin::api_routes(admin_state, feed));
        #[cfg(feature = "fault-injection")]
        let admin_table = {
            tracing::warn!("built with fault injection: /debug/faults is on the admin listener");
            admin_table.merge(crate::http::faults_routes(game.faults()))
        };
        let admin_api = &config.admin_api;
        let admin_app = admin_router(admin_table, |specs| {
            Guard::new(
                admin_token,
                RouteTable::open_paths(specs, admin_api.metrics_require_token),
                admin_api.failures_per_ip,
            )
        });
        let admin_tls = if admin_api.tls {
            public_tls.as_ref().map(PublicTls::acceptor)
        } else {
            None
        };
        let admin = tokio::spawn(serve(
            "admin",
            admin,
            admin_app,
            config.http_limits.clone(),
            ListenerOptions {
                tls: admin_tls,
                proxies,
            },
            stop_rx,
        ));
        let sweeper = tokio::spawn(Arc::clone(&auth).sweep_forever());
        let scheme = if public_tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(listener = "http", addr = %addrs.http, scheme, "listening");
        if let Some(warning) = plain_http_warning(addrs.http, public_tls.is_some()) {
            tracing::warn!("{warning}");
        }
        tracing::info!(listener = "admin", addr = %addrs.admin, "listening");
        if let Some(path) = &config.ready_file {
            write_ready_file(path, &addrs)?;
        }

        shutdown.await;
        tracing::info!("shutting down");
        // Game first: its players' positions must reach the store before
        // the flush below.
        game.shut_down().await;
        let _ = stop_tx.send(true);
        let _ = public.await;
        let _ = admin.await;
        let _ = patcher.await;
        sweeper.abort();
        sampling.abort();
        feeding.abort();
        drop(cert_watch);
        // After the game: its last events (sessions ended by the shutdown)
        // are in the queue; the writer drains it and completes its file.
        analytics_stop.store(true, Ordering::Relaxed);
        if let Some(writer) = analytics_writer {
            let joined = tokio::task::spawn_blocking(move || writer.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the analytics writer panicked");
            }
        }
        auth.store.flush().await.map_err(ServerError::Flush)?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The admin token per the configuration (see [`crate::admin::token`]),
/// after refusing an exposed admin listener without a token or TLS.
fn admin_token(config: &Config) -> Result<AdminToken, ServerError> {
    let api = &config.admin_api;
    if api.tls && !config.public_tls.enabled {
        return Err(ServerError::AdminTlsWithoutPublicTls);
    }
    crate::admin::token::check_exposure(config.admin, api.token.is_some(), api.tls)?;
    let token = AdminToken::load(api.token.as_deref(), &config.data)?;
    match token.source() {
        TokenSource::Config => tracing::info!("admin token from the configuration"),
        TokenSource::File(path) => {
            tracing::info!(file = %path.display(), "admin token in this file (send it as Authorization: Bearer)")
        }
    }
    Ok(token)
}

/// The start-up warning for a public listener that speaks plain HTTP on an
/// address other machines can reach; `None` when TLS is on or the address
/// is loopback (a TLS proxy on the same machine in front of it).
pub fn plain_http_warning(addr: SocketAddr, tls: bool) -> Option<String> {
    if tls || addr.ip().is_loopback() {
        return None;
    }
    Some(format!(
        "the public listener {addr} speaks plain HTTP on a non-loopback address: passwords, \
         session tokens and the game certificate pin in /v1/server-info cross the network in \
         clear. Turn on HTTPS ([public_tls] enabled = true) or bind it to 127.0.0.1 behind a \
         TLS reverse proxy (and list the proxy in trusted_proxies); see \"Running in \
         production\" in docs/API.md. GET /healthz works either way."
    ))
}

/// Writes the bound addresses as JSON, atomically (temp file, then rename),
/// so a reader never sees a half-written file.
fn write_ready_file(path: &Path, addrs: &BoundAddrs) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let json = serde_json::to_vec(addrs).expect("addresses serialise");
    std::fs::write(&tmp, json).map_err(|source| ServerError::ReadyFile {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| ServerError::ReadyFile {
        path: path.to_owned(),
        source,
    })
}

/// Binds a TCP listener and learns its address (the port, when 0 was asked).
async fn bind_tcp(
    listener: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), ServerError> {
    let bind_error = |source| ServerError::Bind {
        listener,
        addr,
        source,
    };
    let bound = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = bound.local_addr().map_err(bind_error)?;
    Ok((bound, local))
}

/// Binds and serves with `config` until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    Server::bind(config).await?.serve(shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_config(dir: &Path) -> Config {
        Config {
            data: dir.join("data"),
            maps: Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets-maps"),
            game: "127.0.0.1:0".parse().unwrap(),
            http: "127.0.0.1:0".parse().unwrap(),
            admin: "127.0.0.1:0".parse().unwrap(),
            ready_file: Some(dir.join("ready.json")),
            ..Config::default()
        }
    }

    /// bind reports real ports, serve answers on them and writes the ready
    /// file, and completing the shutdown future ends serve with Ok.
    #[tokio::test]
    async fn bind_serve_and_shut_down() {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::bind(local_config(dir.path())).await.unwrap();
        let addrs = server.addrs();
        assert_ne!(addrs.http.port(), 0);
        assert_ne!(addrs.admin.port(), 0);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        for addr in [addrs.http, addrs.admin] {
            let health = reqwest::get(format!("http://{addr}/healthz"))
                .await
                .unwrap();
            assert_eq!(health.status(), 200);
        }
        let ready: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("ready.json")).unwrap()).unwrap();
        assert_eq!(ready["http"], addrs.http.to_string());
        stop.send(()).unwrap();
        serving.await.unwrap().unwrap();
        assert!(
            reqwest::get(format!("http://{}/healthz", addrs.http))
                .await
                .is_err()
        );
    }

    /// The plain-HTTP warning is given for reachable addresses only, and
    /// never with TLS on.
    #[test]
    fn plain_http_warning_cases() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let warning = plain_http_warning(any, false).unwrap();
        assert!(warning.contains("passwords, session tokens"), "{warning}");
        assert!(warning.contains("[public_tls]"), "{warning}");
        assert!(plain_http_warning(any, true).is_none());
        assert!(plain_http_warning("127.0.0.1:8080".parse().unwrap(), false).is_none());
        assert!(plain_http_warning("[::1]:8080".parse().unwrap(), false).is_none());
        assert!(plain_http_warning("192.0.2.4:80".parse().unwrap(), false).is_some());
    }

    /// `[public_tls]` without files serves the game listener's certificate
    /// (here the generated one); with only one file it refuses to start.
    #[tokio::test]
    async fn public_tls_can_share_the_game_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = local_config(dir.path());
        config.public_tls.enabled = true;
        let server = Server::bind(config.clone()).await.unwrap();
        let public = server.public_tls.as_ref().expect("TLS on");
        assert_eq!(public.fingerprint(), server.game.fingerprint());
        config.data = dir.path().join("other-data");
        config.public_tls.cert_pem = Some(dir.path().join("data/tls/cert.pem"));
        let err = Server::bind(config).await.err().expect("half configured");
        assert!(format!("{err:#}").contains("[public_tls]"), "{err:#}");
    }

    /// `run` returns a typed error (not a panic) when a listener cannot
    /// bind, naming the listener and the address, with the OS error as its
    /// source.
    #[tokio::test]
    async fn run_reports_bind_errors() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            http: taken.local_addr().unwrap(),
            ..local_config(dir.path())
        };
        let err = run(config, std::future::pending()).await.unwrap_err();
        let ServerError::Bind {
            listener,
            addr,
            source,
        } = &err
        else {
            panic!("not a bind error: {err:?}");
        };
        assert_eq!((*listener, *addr), ("HTTP", taken.local_addr().unwrap()));
        assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains("HTTP listener"), "{err}");
    }

    /// A game listener failure keeps its own type inside the server's: a
    /// maps directory that does not exist is `GameError::MapsDir`.
    #[tokio::test]
    async fn game_errors_stay_typed() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            maps: dir.path().join("no-maps"),
            ..local_config(dir.path())
        };
        let err = Server::bind(config).await.err().expect("no maps directory");
        assert!(
            matches!(err, ServerError::Game(GameError::MapsDir { .. })),
            "{err:?}"
        );
    }
}
