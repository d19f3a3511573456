//! Spawning the real `battlegrid` binary for a test.
//!
//! The binary is not a target of this package, so cargo does not build it
//! for `cargo test`; scripts/test.sh runs
//! `cargo build -p battlegrid-server --bin battlegrid` first. It is found
//! next to the test executable's profile directory (`target/<profile>/`).
//! The server writes its bound addresses to a ready file, which
//! [`TestServer::start`] waits for; stdout and stderr go to a log file in the
//! temporary directory, shown when a start fails.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use battlegrid_server::Config;
use battlegrid_server::config::{Rate, RateLimits};
use tempfile::TempDir;

/// Safety net for a server start (never the thing a test asserts).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of the `battlegrid` binary of the profile these tests were built in.
pub fn battlegrid_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> (a test) or target/<profile>/<bin> (a
    // harness binary) -> target/<profile>/battlegrid
    let dir = exe.parent().expect("the executable's directory");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("target/<profile>")
    } else {
        dir
    };
    let binary = profile_dir.join("battlegrid");
    assert!(
        binary.exists(),
        "{} is not built: run scripts/test.sh, or `cargo build -p battlegrid-server --bin \
         battlegrid` (same profile and target dir) before `cargo test`",
        binary.display()
    );
    binary
}

/// A test configuration: loopback ports 0, data under `dir`, the maps
/// directory `dir/maps` holding [`TestMap::standard`] as the default map,
/// the (not yet existing) assets directory `dir/assets`, and
/// rate limits high enough not to interfere (tests of the limits lower
/// them).
pub fn test_config(dir: &Path) -> Config {
    let generous = Rate::new(100_000, 100_000);
    crate::maps::TestMap::standard().write(&dir.join("maps"));
    Config {
        data: dir.join("data"),
        maps: dir.join("maps"),
        assets: dir.join("assets"),
        game: "127.0.0.1:0".parse().expect("addr"),
        http: "127.0.0.1:0".parse().expect("addr"),
        admin: "127.0.0.1:0".parse().expect("addr"),
        ready_file: Some(dir.join("ready.json")),
        rate_limits: RateLimits {
            signup_per_ip: generous,
            signup_per_name: generous,
            login_per_ip: generous,
            login_per_account: generous,
        },
        ..Config::default()
    }
}

/// A running `battlegrid` process. Killed (SIGKILL) when dropped.
pub struct TestServer {
    /// The process; `None` once killed.
    child: Option<Child>,
    dir: TempDir,
    config: Config,
    /// Command-line flags and environment variables added to every launch.
    extra_args: Vec<String>,
    extra_env: Vec<(String, String)>,
    /// Public HTTP listener.
    pub http: SocketAddr,
    /// Admin HTTP listener.
    pub admin: SocketAddr,
    /// QUIC game listener.
    pub game: SocketAddr,
}

impl TestServer {
    /// Starts a server with the test configuration changed by `adjust`.
    pub fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        Self::spawn(dir, config, &[], &[])
    }

    /// Starts a server with the test configuration changed by `adjust`,
    /// plus command-line flags and `BATTLEGRID_*`-style environment variables.
    pub fn start_with_cli(
        adjust: impl FnOnce(&mut Config),
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        Self::spawn(dir, config, args, env)
    }

    fn spawn(dir: TempDir, config: Config, args: &[&str], env: &[(&str, &str)]) -> Self {
        let unbound: SocketAddr = ([0, 0, 0, 0], 0).into();
        let mut server = Self {
            child: None,
            dir,
            config,
            extra_args: args.iter().map(|a| a.to_string()).collect(),
            extra_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            http: unbound,
            admin: unbound,
            game: unbound,
        };
        server.launch();
        server
    }

    /// Spawns the process and waits for its ready file.
    fn launch(&mut self) {
        self.kill();
        let ready = self
            .config
            .ready_file
            .clone()
            .expect("test config has a ready file");
        let _ = std::fs::remove_file(&ready);
        let config_path = self.dir.path().join("battlegrid.toml");
        std::fs::write(
            &config_path,
            toml::to_string(&self.config).expect("config to TOML"),
        )
        .expect("write config");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let child = Command::new(battlegrid_binary())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .args(&self.extra_args)
            .env("RUST_LOG", "info")
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn battlegrid");
        let child = self.child.insert(child);
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let addrs: serde_json::Value =
                    serde_json::from_str(&text).expect("ready file JSON");
                let addr = |key: &str| -> SocketAddr {
                    addrs[key]
                        .as_str()
                        .and_then(|a| a.parse().ok())
                        .expect("listener address")
                };
                self.http = addr("http");
                self.admin = addr("admin");
                // Absent when the server runs without a game listener.
                self.game = addrs["game"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
                return;
            }
            if let Some(status) = child.try_wait().expect("child status") {
                panic!(
                    "battlegrid exited with {status} before ready:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "server not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://<public addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// The value of the unlabelled series `name` in the server's
    /// `/metrics` (admin listener), if present.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self
            .admin_client()
            .get(format!("http://{}/metrics", self.admin))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        battlegrid_server::bots::server_metrics::metric_value(&text, name)
    }

    /// The admin token: the configured one, else the one the server wrote
    /// into `<data>/admin-token` at its first start (read like an operator's
    /// tool reads it).
    pub fn admin_token(&self) -> String {
        if let Some(token) = &self.config.admin_api.token {
            return token.clone();
        }
        let path = self.config.data.join(battlegrid_server::admin::TOKEN_FILE);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
            .trim()
            .to_owned()
    }

    /// Path of the admin token file.
    pub fn admin_token_file(&self) -> PathBuf {
        self.config.data.join(battlegrid_server::admin::TOKEN_FILE)
    }

    /// An HTTP client whose every request carries the admin token.
    pub fn admin_client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = format!("Bearer {}", self.admin_token());
        headers.insert(
            reqwest::header::AUTHORIZATION,
            value.parse().expect("token is a header value"),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("HTTP client")
    }

    /// A client of the admin listener sending the admin token.
    pub fn admin_api(&self) -> crate::api::Api {
        crate::api::Api::with_client(format!("http://{}", self.admin), self.admin_client())
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no flush, no goodbye) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        child.wait().expect("wait for battlegrid")
    }

    /// Waits for the process to end by itself and returns its exit status;
    /// panics (with the log) if it has not within `safety_net`, which is a
    /// bound on a hang, never the thing a test asserts.
    pub fn wait_exit(&mut self, safety_net: Duration) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("server is running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("child status") {
                self.child = None;
                return status;
            }
            assert!(
                started.elapsed() < safety_net,
                "server still running:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL, so nothing unflushed survives) and
    /// starts a new one on the same data dir and configuration. Ports are
    /// new unless [`Self::pin_ports`] was called.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Makes later launches bind the ports this one got, as a production
    /// server's fixed ports: clients that reconnect find the new process
    /// where the old one was.
    pub fn pin_ports(&mut self) {
        self.config.http = self.http;
        self.config.admin = self.admin;
        self.config.game = self.game;
    }

    /// Starts the process again after [`Self::terminate`] or [`Self::kill`]
    /// (or after a crash), on the same data dir and configuration.
    pub fn start_again(&mut self) {
        self.launch();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
