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
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{Auth, Passwords, RateLimiters, TokenTable};
use crate::config::Config;
use crate::game::GameListener;
use crate::http::{GameInfo, ServerInfo, admin_router, public_router, serve};
use crate::metrics::Metrics;
use crate::store::{SledStore, Store};

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
    addrs: BoundAddrs,
}

impl Server {
    /// Opens the store, loads live sessions and binds the listeners.
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("creating data directory {}", config.data.display()))?;
        let store = SledStore::open(&config.data, config.store.cache_capacity_bytes)
            .with_context(|| format!("opening the store in {}", config.data.display()))?;
        let store: Arc<dyn Store> = Arc::new(store);
        let hashers = config.passwords.max_concurrent_hashes.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let auth = Arc::new(Auth {
            store,
            tokens: Arc::new(TokenTable::new(
                config.sessions.idle_ttl_secs.saturating_mul(1000),
            )),
            passwords: Passwords::new(hashers).await?,
            limits: RateLimiters::new(&config.rate_limits),
            sessions: config.sessions.clone(),
        });
        let loaded = auth.load_sessions().await.context("loading sessions")?;
        tracing::info!(sessions = loaded, "store open");

        let http = TcpListener::bind(config.http)
            .await
            .with_context(|| format!("binding the HTTP listener on {}", config.http))?;
        let admin = TcpListener::bind(config.admin)
            .await
            .with_context(|| format!("binding the admin listener on {}", config.admin))?;
        let game = GameListener::bind(&config)?;
        let addrs = BoundAddrs {
            http: http.local_addr()?,
            admin: admin.local_addr()?,
            game: Some(game.addr()),
        };
        Ok(Self {
            config,
            auth,
            http,
            admin,
            game,
            addrs,
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
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            config,
            auth,
            http,
            admin,
            game,
            addrs,
        } = self;
        let info = ServerInfo {
            protocol_version: battlegrid_protocol::PROTOCOL_VERSION,
            game: Some(GameInfo {
                addr: game.addr().to_string(),
                cert_sha256: game.fingerprint().to_owned(),
            }),
        };
        let catalog = game.catalog();
        let game = game.start(Arc::clone(&auth.tokens), Arc::clone(&auth.store))?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let health = game.health();
        let public = public_router(
            Arc::clone(&auth),
            info,
            catalog,
            Arc::clone(&health),
            &config.http_limits,
        );
        let public = tokio::spawn(serve(
            "http",
            http,
            public,
            config.http_limits.clone(),
            stop_rx.clone(),
        ));
        let metrics = Arc::new(Metrics::new(game.stats()));
        let admin_app = admin_router(Arc::clone(&auth), metrics, health);
        #[cfg(feature = "fault-injection")]
        let admin_app = {
            tracing::warn!(
                "built with fault injection: /debug/faults is open on the admin listener"
            );
            admin_app.merge(crate::http::faults_router(game.faults()))
        };
        let admin = tokio::spawn(serve(
            "admin",
            admin,
            admin_app,
            config.http_limits.clone(),
            stop_rx,
        ));
        let sweeper = tokio::spawn(Arc::clone(&auth).sweep_forever());
        tracing::info!(listener = "http", addr = %addrs.http, "listening");
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
        sweeper.abort();
        auth.store
            .flush()
            .await
            .context("flushing the store at shutdown")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Writes the bound addresses as JSON, atomically (temp file, then rename),
/// so a reader never sees a half-written file.
fn write_ready_file(path: &Path, addrs: &BoundAddrs) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(addrs)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Binds and serves with `config` until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
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

    /// `run` returns an error (not a panic) when a listener cannot bind.
    #[tokio::test]
    async fn run_reports_bind_errors() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            http: taken.local_addr().unwrap(),
            ..local_config(dir.path())
        };
        let err = run(config, std::future::pending()).await.unwrap_err();
        assert!(format!("{err:#}").contains("HTTP listener"), "{err:#}");
    }
}
