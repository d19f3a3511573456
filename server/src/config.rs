//! Server configuration: one struct, filled from defaults, then a TOML file,
//! then `BATTLEGRID_*` environment variables, then command-line flags (each
//! later source wins).
//!
//! Only the listener addresses, directories and the ready file have flags and
//! environment variables; the finer knobs (limits, expiry, rate limits) live
//! in the TOML file. This module does no I/O beyond reading that file.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::{Deserialize, Serialize};

/// Everything the server reads at start. `Default` is the documented default
/// configuration: one machine, embedded store in `./data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory holding the store. Default `./data`.
    pub data: PathBuf,
    /// Directory the maps are loaded from. Default `./assets-maps`.
    pub maps: PathBuf,
    /// UDP address of the QUIC game listener. Default `0.0.0.0:7777`.
    pub game: SocketAddr,
    /// Public HTTP listener (sign-up page, auth API). Default `0.0.0.0:8080`.
    pub http: SocketAddr,
    /// Admin HTTP listener. Default `127.0.0.1:9090` (loopback only).
    pub admin: SocketAddr,
    /// When set, a JSON file with the bound addresses is written here once
    /// every listener is bound (written to a temporary name, then renamed).
    pub ready_file: Option<PathBuf>,
    /// Embedded store settings.
    pub store: StoreConfig,
    /// Limits of the HTTP listeners.
    pub http_limits: HttpLimits,
    /// Session token lifetime.
    pub sessions: SessionConfig,
    /// Rate limits on sign-up and login.
    pub rate_limits: RateLimits,
    /// Password hashing.
    pub passwords: PasswordConfig,
    /// The game listener's certificate.
    pub tls: crate::game::config::TlsConfig,
    /// QUIC transport and per-connection limits of the game listener.
    pub quic: crate::game::config::QuicConfig,
    /// Simulation rules and the built-in map.
    pub world: crate::game::config::WorldConfig,
    /// Fail recovery: supervised worlds.
    pub recovery: crate::game::config::RecoveryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: PathBuf::from("./data"),
            maps: PathBuf::from("./assets-maps"),
            game: SocketAddr::from(([0, 0, 0, 0], 7777)),
            http: SocketAddr::from(([0, 0, 0, 0], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 9090)),
            ready_file: None,
            store: StoreConfig::default(),
            http_limits: HttpLimits::default(),
            sessions: SessionConfig::default(),
            rate_limits: RateLimits::default(),
            passwords: PasswordConfig::default(),
            tls: Default::default(),
            quic: Default::default(),
            world: Default::default(),
            recovery: Default::default(),
        }
    }
}

/// Embedded store (sled) settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// sled page cache size in bytes. sled treats it as a soft hint, so the
    /// process may use somewhat more. Default 64 MiB.
    pub cache_capacity_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            cache_capacity_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Limits applied to every HTTP connection and request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Largest accepted request body in bytes; larger gets 413. Default 16 KiB.
    pub body_limit_bytes: usize,
    /// Time a client has to send a complete request head (from connect, and
    /// between keep-alive requests) before the connection is closed.
    /// Default 10 000 ms.
    pub header_read_timeout_ms: u64,
    /// Time a request may take from its head being read to the response
    /// (including reading the body and hashing); then 408. Default 30 000 ms.
    pub request_timeout_ms: u64,
    /// Open connections per listener; further clients wait in the kernel's
    /// accept queue. Default 1024.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 16 * 1024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 1024,
        }
    }
}

/// Session token lifetime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A token is invalid this long after login, used or not. Default 24 h.
    pub absolute_ttl_secs: u64,
    /// A token is invalid after this long without use. Default 2 h.
    pub idle_ttl_secs: u64,
    /// How often expired sessions are removed from the table and the store.
    /// Expiry itself is checked on every use, not by this sweep. Default 60 s.
    pub sweep_interval_secs: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            absolute_ttl_secs: 24 * 3600,
            idle_ttl_secs: 2 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

/// One token-bucket rate: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Sustained requests per minute.
    pub per_minute: NonZeroU32,
    /// Requests allowed back to back before the sustained rate applies.
    pub burst: NonZeroU32,
}

impl Rate {
    /// A rate of `per_minute` with a burst of `burst`; zeros are raised to 1.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Rate limits on the two endpoints that cost an Argon2 hash. Over the limit
/// the server answers 429 with `Retry-After` before hashing anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Sign-ups per client IP. Default 10/min, burst 10.
    pub signup_per_ip: Rate,
    /// Sign-up attempts per requested name (case-insensitive). Default 5/min, burst 5.
    pub signup_per_name: Rate,
    /// Logins per client IP. Default 60/min, burst 30.
    pub login_per_ip: Rate,
    /// Logins per account name (case-insensitive), successful or not.
    /// Default 10/min, burst 10.
    pub login_per_account: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            signup_per_ip: Rate::new(10, 10),
            signup_per_name: Rate::new(5, 5),
            login_per_ip: Rate::new(60, 30),
            login_per_account: Rate::new(10, 10),
        }
    }
}

/// Password hashing settings. The Argon2id parameters themselves are fixed
/// at OWASP's minimum (19 MiB, 2 passes, 1 lane) and not configurable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Hashes computed at once; further requests wait. Default: the number
    /// of CPU cores (`None` in the file).
    pub max_concurrent_hashes: Option<usize>,
}

/// Errors loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file could not be read.
    #[error("reading config file {path}: {source}")]
    Read {
        /// The file named by `--config`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML for [`Config`].
    #[error("parsing config file {path}: {source}")]
    Parse {
        /// The file named by `--config`.
        path: PathBuf,
        /// What was wrong.
        source: Box<toml::de::Error>,
    },
}

impl Config {
    /// Parses a TOML document; missing keys take their defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads and parses the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}

/// Flags of `battlegrid serve`. Each flag can also be given as the
/// environment variable shown; the flag wins over the variable, and both win
/// over the `--config` file.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file (see docs/API.md for the keys).
    #[arg(long, value_name = "FILE", env = "BATTLEGRID_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory [default: ./data].
    #[arg(long, value_name = "DIR", env = "BATTLEGRID_DATA")]
    pub data: Option<PathBuf>,
    /// Maps directory [default: ./assets-maps].
    #[arg(long, value_name = "DIR", env = "BATTLEGRID_MAPS")]
    pub maps: Option<PathBuf>,
    /// Game listener, UDP [default: 0.0.0.0:7777].
    #[arg(long, value_name = "ADDR", env = "BATTLEGRID_GAME")]
    pub game: Option<SocketAddr>,
    /// Public HTTP listener [default: 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR", env = "BATTLEGRID_HTTP")]
    pub http: Option<SocketAddr>,
    /// Admin HTTP listener [default: 127.0.0.1:9090].
    #[arg(long, value_name = "ADDR", env = "BATTLEGRID_ADMIN")]
    pub admin: Option<SocketAddr>,
    /// Write the bound addresses as JSON to this file once ready.
    #[arg(long, value_name = "FILE", env = "BATTLEGRID_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

impl ServeArgs {
    /// Builds the configuration: defaults, then the `--config` file, then
    /// these flags (clap has already applied environment variables to them).
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.apply_to(&mut config);
        Ok(config)
    }

    fn apply_to(self, config: &mut Config) {
        if let Some(data) = self.data {
            config.data = data;
        }
        if let Some(maps) = self.maps {
            config.maps = maps;
        }
        if let Some(game) = self.game {
            config.game = game;
        }
        if let Some(http) = self.http {
            config.http = http;
        }
        if let Some(admin) = self.admin {
            config.admin = admin;
        }
        if let Some(ready_file) = self.ready_file {
            config.ready_file = Some(ready_file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    /// An empty file is the default configuration.
    #[test]
    fn empty_toml_is_default() {
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }

    /// Nested sections override single keys and keep the other defaults.
    #[test]
    fn toml_overrides_nested_keys() {
        let config = Config::from_toml_str(
            "http = \"127.0.0.1:0\"\n[sessions]\nabsolute_ttl_secs = 5\n\
             [rate_limits.login_per_ip]\nper_minute = 2\nburst = 1\n",
        )
        .unwrap();
        assert_eq!(config.http, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(config.sessions.absolute_ttl_secs, 5);
        assert_eq!(config.sessions.idle_ttl_secs, 7200);
        assert_eq!(config.rate_limits.login_per_ip, Rate::new(2, 1));
        assert_eq!(config.rate_limits.signup_per_ip, Rate::new(10, 10));
    }

    /// A misspelt key is an error, not silently ignored.
    #[test]
    fn unknown_key_is_rejected() {
        assert!(Config::from_toml_str("htp = \"127.0.0.1:0\"").is_err());
        assert!(Config::from_toml_str("[sessions]\nttl = 1").is_err());
    }

    /// Command-line flags win over the file; unset flags leave the file's values.
    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "http = \"127.0.0.1:1\"\nadmin = \"127.0.0.1:2\"\n").unwrap();
        let cli = TestCli::try_parse_from([
            "x",
            "--config",
            path.to_str().unwrap(),
            "--http",
            "127.0.0.1:3",
        ])
        .unwrap();
        let config = cli.serve.into_config().unwrap();
        assert_eq!(config.http, SocketAddr::from(([127, 0, 0, 1], 3)));
        assert_eq!(config.admin, SocketAddr::from(([127, 0, 0, 1], 2)));
    }

    /// A missing config file is reported with its path.
    #[test]
    fn missing_file_is_an_error() {
        let err = Config::from_file(Path::new("/nonexistent/battlegrid.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/battlegrid.toml"));
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// The "complete file with the defaults" in docs/API.md is exactly the
    /// default configuration, so the document cannot drift from the code.
    #[test]
    fn documented_defaults_match() {
        let doc = include_str!("../../docs/API.md");
        let start = doc.find("```toml\n").expect("a toml block in docs/API.md") + 8;
        let len = doc[start..].find("```").expect("end of the toml block");
        let config = Config::from_toml_str(&doc[start..start + len]).expect("documented TOML");
        assert_eq!(config, Config::default());
    }
}
