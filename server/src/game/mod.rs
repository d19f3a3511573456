//! The game listener: QUIC endpoint, gateway, connections and the tick
//! thread that runs the simulation.
//!
//! - [`config`]: the `[tls]`, `[quic]` and `[world]` settings.
//! - [`tls`]: the certificate (operator PEM or generated and reused).
//! - [`transport`]: QUIC limits, chosen for what the protocol uses.
//! - [`gateway`]: admission limits and the `Hello` handshake.
//! - [`session`]: a joined connection's reader and writer tasks.
//! - [`peer`]: the bounded outbound queue between tick and writer.
//! - [`tick`]: the tick thread (the bridge to the simulation).
//! - [`persist`]: the saver task writing positions to the store.
//! - [`world`]: the built-in map and rules.
//!
//! [`GameListener::bind`] builds everything that can fail (certificate,
//! world, socket) so a bad configuration stops the server at start;
//! [`GameListener::start`] starts the tasks and the thread;
//! [`RunningGame::shut_down`] is the graceful stop: no new connections,
//! every client told `SHUTTING_DOWN`, every position saved. What this
//! module leaves out: admin metrics (the counters are in [`stats`]), map
//! files, and several nodes.

pub mod config;
pub mod gateway;
pub mod peer;
pub mod persist;
pub mod session;
pub mod stats;
pub mod tick;
pub mod tls;
pub mod transport;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use self::gateway::Gateway;
use self::stats::GameStats;
use self::tick::{Control, TickLoop};
use crate::auth::TokenTable;
use crate::config::Config;
use crate::store::Store;

/// How long shutdown waits for clients to receive their goodbye before the
/// endpoint is closed under them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A bound game listener, not yet serving.
pub struct GameListener {
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
    fingerprint: String,
    sim: battlegrid_sim::Simulation,
    config: Config,
}

impl GameListener {
    /// Loads or makes the certificate, builds the world and binds the UDP
    /// socket. Must run inside a tokio runtime.
    pub fn bind(config: &Config) -> anyhow::Result<Self> {
        let identity = tls::load_or_generate(&config.tls, &config.data)
            .context("preparing the game listener's certificate")?;
        let crypto = tls::quic_server_crypto(&identity)?;
        let server_config = transport::server_config(crypto, &config.quic);
        let sim = world::build(&config.world)?;
        let endpoint = quinn::Endpoint::server(server_config, config.game)
            .with_context(|| format!("binding the game listener on {}", config.game))?;
        let addr = endpoint.local_addr()?;
        tracing::info!(
            cert = %identity.source.display(),
            sha256 = %identity.fingerprint,
            "game listener certificate"
        );
        Ok(Self {
            endpoint,
            addr,
            fingerprint: identity.fingerprint,
            sim,
            config: config.clone(),
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

    /// Starts the tick thread, the saver and the accept loop.
    pub fn start(
        self,
        tokens: Arc<TokenTable>,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<RunningGame> {
        let stats = Arc::new(GameStats::default());
        // Unbounded on purpose, yet bounded in practice: its only messages
        // are one Join and one Left per admitted connection and a single
        // Shutdown, and admission caps connections (`max_connections`,
        // `max_pending_handshakes`). A bounded channel here would make the
        // gateway block or drop a Left, which would leak a player.
        let (control_tx, control_rx) = std::sync::mpsc::channel();
        let (saves_tx, saves_rx) = mpsc::channel(1);
        let saver = tokio::spawn(persist::run_saver(
            saves_rx,
            Arc::clone(&store),
            self.sim.map().clone(),
            Arc::clone(&stats),
        ));
        let tick_loop = TickLoop {
            sim: self.sim,
            control: control_rx,
            saves: saves_tx,
            limits: self.config.quic.clone(),
            stats_every: self.config.world.stats_every_ticks,
            stats: Arc::clone(&stats),
        };
        let tick = std::thread::Builder::new()
            .name("battlegrid-tick".into())
            .spawn(move || tick_loop.run())
            .context("starting the tick thread")?;
        let gateway = Arc::new(Gateway::new(
            self.config.quic.clone(),
            tokens,
            store,
            control_tx.clone(),
            Arc::clone(&stats),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let accept = tokio::spawn(gateway.accept_loop(self.endpoint.clone(), stop_rx));
        tracing::info!(listener = "game", addr = %self.addr, "listening");
        Ok(RunningGame {
            endpoint: self.endpoint,
            control: control_tx,
            stop: stop_tx,
            accept,
            tick,
            saver,
            stats,
        })
    }
}

/// A serving game listener.
pub struct RunningGame {
    endpoint: quinn::Endpoint,
    /// To tell the tick thread to stop.
    control: std::sync::mpsc::Sender<Control>,
    /// Stops the accept loop.
    stop: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
    tick: std::thread::JoinHandle<()>,
    saver: tokio::task::JoinHandle<()>,
    stats: Arc<GameStats>,
}

impl RunningGame {
    /// The listener's counters.
    pub fn stats(&self) -> Arc<GameStats> {
        Arc::clone(&self.stats)
    }

    /// Graceful stop: refuse new connections, tell every client
    /// `SHUTTING_DOWN`, let every player leave and write every position to
    /// the store. The caller flushes the store afterwards.
    pub async fn shut_down(self) {
        self.endpoint.set_server_config(None);
        let _ = self.stop.send(true);
        let _ = self.accept.await;
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
