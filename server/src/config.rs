//! Server configuration: one struct, filled from defaults, then a TOML file,
//! then `BATTLEGRID_*` environment variables, then command-line flags (each
//! later source wins).
//!
//! Every key can come from the environment by one generic rule
//! ([`Config::apply_env`]): `BATTLEGRID_` and the key's path, sections
//! separated by `__`, in capitals (`BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IP`),
//! so keys added later need no code here. Only the listener addresses,
//! directories and the ready file also have flags. This module does no I/O
//! beyond reading that file and the environment it is handed.

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
    /// Directory of client assets served by the patch API. Default `./assets`
    /// (a missing directory serves only the maps).
    pub assets: PathBuf,
    /// UDP address of the QUIC game listener. Default `0.0.0.0:7777`.
    pub game: SocketAddr,
    /// Public HTTP listener (sign-up page, auth API). Default `0.0.0.0:8080`.
    pub http: SocketAddr,
    /// Admin HTTP listener. Default `127.0.0.1:9090` (loopback only).
    pub admin: SocketAddr,
    /// Who may use the admin listener: token, `/metrics`, TLS.
    pub admin_api: crate::admin::AdminApiConfig,
    /// Reverse proxies (addresses or CIDR ranges) whose `Forwarded` or
    /// `X-Forwarded-For` headers name the client. Default none.
    pub trusted_proxies: Vec<crate::http::config::ProxyRange>,
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
    /// HTTPS on the public listener.
    pub public_tls: crate::http::config::PublicTlsConfig,
    /// The game listener's certificate.
    pub tls: crate::game::config::TlsConfig,
    /// QUIC transport and per-connection limits of the game listener.
    pub quic: crate::game::config::QuicConfig,
    /// Simulation rules and the built-in map.
    pub world: crate::game::config::WorldConfig,
    /// The download and patch server: releases kept, deltas.
    pub patch: crate::patch::PatchConfig,
    /// Fail recovery: supervised worlds.
    pub recovery: crate::game::config::RecoveryConfig,
    /// Recordings and the flight recorder (docs/REPLAY.md).
    pub recording: crate::record::RecordingConfig,
    /// The analytics event files.
    pub analytics: crate::analytics::AnalyticsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: PathBuf::from("./data"),
            maps: PathBuf::from("./assets-maps"),
            assets: PathBuf::from("./assets"),
            game: SocketAddr::from(([0, 0, 0, 0], 7777)),
            http: SocketAddr::from(([0, 0, 0, 0], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 9090)),
            admin_api: Default::default(),
            trusted_proxies: Vec::new(),
            ready_file: None,
            store: StoreConfig::default(),
            http_limits: HttpLimits::default(),
            sessions: SessionConfig::default(),
            rate_limits: RateLimits::default(),
            passwords: PasswordConfig::default(),
            public_tls: Default::default(),
            tls: Default::default(),
            quic: Default::default(),
            world: Default::default(),
            patch: Default::default(),
            recovery: Default::default(),
            recording: Default::default(),
            analytics: Default::default(),
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
    /// A `BATTLEGRID_*` environment variable does not name a key or holds a
    /// value the key cannot take.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// What was wrong.
        message: String,
    },
}

/// Prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "BATTLEGRID_";
/// Separator of the sections in a variable's name.
pub const ENV_SECTION_SEPARATOR: &str = "__";

impl Config {
    /// Parses a TOML document; missing keys take their defaults.
    pub fn from_toml_str(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Sets the keys named by the `BATTLEGRID_*` variables among `vars`
    /// (other variables are skipped), in name order; see docs/API.md.
    ///
    /// The name after the prefix is the key's path in lower case with
    /// sections joined by `__`: `BATTLEGRID_HTTP_LIMITS__BODY_LIMIT_BYTES`
    /// is `[http_limits] body_limit_bytes`. The value is read as a TOML value
    /// (`42`, `true`, `[1, 2]`, `{ per_minute = 5, burst = 5 }`, `"text"`);
    /// text that is not TOML is taken as a string, and a key that holds a
    /// string takes the text as it is. A name with `__` must name a key; a
    /// name without one that is not a top-level key is ignored, since other
    /// tools share the prefix (`BATTLEGRID_CONFIG`, `BATTLEGRID_BIN`).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        let mut table = toml::Table::try_from(&*self).map_err(|err| ConfigError::Env {
            var: ENV_PREFIX.to_owned() + "*",
            message: format!("cannot represent the configuration: {err}"),
        })?;
        for (var, raw) in vars {
            let env_error = |message: String| ConfigError::Env {
                var: var.clone(),
                message,
            };
            let path: Vec<String> = var[ENV_PREFIX.len()..]
                .split(ENV_SECTION_SEPARATOR)
                .map(str::to_ascii_lowercase)
                .collect();
            let top_level = path.len() == 1;
            if path.iter().any(String::is_empty) {
                if top_level {
                    continue;
                }
                return Err(env_error("the name has an empty section or key".into()));
            }
            let mut candidate = table.clone();
            set_path(&mut candidate, &path, &raw).map_err(env_error)?;
            match toml::Value::Table(candidate.clone()).try_into::<Config>() {
                Ok(config) => {
                    *self = config;
                    table = candidate;
                }
                // serde's wording for a name `deny_unknown_fields` refuses.
                Err(err) if top_level && err.message().starts_with("unknown field") => {}
                Err(err) => return Err(env_error(err.message().to_owned())),
            }
        }
        Ok(())
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

/// Sets the key at `path` (sections, then the key) in `table` from the
/// environment text `raw`, by the rule of [`Config::apply_env`].
fn set_path(table: &mut toml::Table, path: &[String], raw: &str) -> Result<(), String> {
    let (key, sections) = path.split_last().expect("a name has at least one part");
    let mut here = table;
    for (depth, section) in sections.iter().enumerate() {
        let entry = here
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry
            .as_table_mut()
            .ok_or_else(|| format!("\"{}\" is a key, not a section", path[..=depth].join(".")))?;
    }
    let value = match here.get(key) {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_owned()),
        Some(toml::Value::Table(_)) if !raw.trim_start().starts_with('{') => {
            return Err(format!(
                "\"{}\" is a section; set its keys with {ENV_SECTION_SEPARATOR}, or give an inline table {{ ... }}",
                path.join(".")
            ));
        }
        _ => parse_value(raw).unwrap_or_else(|| toml::Value::String(raw.to_owned())),
    };
    here.insert(key.clone(), value);
    Ok(())
}

/// `raw` as one TOML value, if it is one.
fn parse_value(raw: &str) -> Option<toml::Value> {
    let mut doc: toml::Table = toml::from_str(&format!("v = {raw}")).ok()?;
    if doc.len() != 1 {
        return None;
    }
    doc.remove("v")
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
    /// Client assets directory served by the patch API [default: ./assets].
    #[arg(long, value_name = "DIR", env = "BATTLEGRID_ASSETS")]
    pub assets: Option<PathBuf>,
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
    /// the process's `BATTLEGRID_*` variables, then these flags.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
                continue;
            };
            let value = value.into_string().map_err(|_| ConfigError::Env {
                var: name.to_owned(),
                message: "the value is not valid UTF-8".into(),
            })?;
            vars.push((name.to_owned(), value));
        }
        self.into_config_with_env(vars)
    }

    /// [`Self::into_config`] with the environment `vars` given.
    pub fn into_config_with_env(
        self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(vars)?;
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
        if let Some(assets) = self.assets {
            config.assets = assets;
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

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Precedence, key by key: a flag beats the environment, the
    /// environment beats the file, the file beats the default; nested keys
    /// and top-level keys alike.
    #[test]
    fn flag_over_env_over_file_over_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "http = \"127.0.0.1:1\"\nadmin = \"127.0.0.1:2\"\n\
             [sessions]\nabsolute_ttl_secs = 5\nidle_ttl_secs = 6\n",
        )
        .unwrap();
        let cli = TestCli::try_parse_from([
            "x",
            "--config",
            path.to_str().unwrap(),
            "--http",
            "127.0.0.1:3",
        ])
        .unwrap();
        let config = cli
            .serve
            .into_config_with_env(env(&[
                ("BATTLEGRID_HTTP", "127.0.0.1:4"),
                ("BATTLEGRID_ADMIN", "127.0.0.1:5"),
                ("BATTLEGRID_SESSIONS__ABSOLUTE_TTL_SECS", "7"),
                (
                    "BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IP",
                    "{ per_minute = 100, burst = 50 }",
                ),
                ("BATTLEGRID_RATE_LIMITS__LOGIN_PER_IP__BURST", "9"),
                ("BATTLEGRID_PASSWORDS__MAX_CONCURRENT_HASHES", "3"),
                ("BATTLEGRID_WORLD__DEFAULT_MAP", "123"),
                ("OTHER_PROGRAM__SETTING", "x"),
            ]))
            .unwrap();
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(config.http, addr(3), "flag over env");
        assert_eq!(config.admin, addr(5), "env over file");
        assert_eq!(config.sessions.absolute_ttl_secs, 7, "env over file");
        assert_eq!(config.sessions.idle_ttl_secs, 6, "file over default");
        assert_eq!(config.sessions.sweep_interval_secs, 60, "default");
        assert_eq!(config.rate_limits.signup_per_ip, Rate::new(100, 50));
        assert_eq!(config.rate_limits.login_per_ip, Rate::new(60, 9));
        assert_eq!(config.passwords.max_concurrent_hashes, Some(3));
        assert_eq!(config.world.default_map, "123", "string keys take the text");
    }

    /// A nested name that is no key, a value the key cannot take, and a
    /// section given a plain value are errors naming the variable; names
    /// without `__` that are no key belong to other tools and are ignored.
    #[test]
    fn bad_environment_variables_are_named() {
        let apply = |vars: &[(&str, &str)]| Config::default().apply_env(env(vars));
        for (var, value, says) in [
            (
                "BATTLEGRID_RATE_LIMITS__SIGNUP_PER_IPP",
                "{ per_minute = 1, burst = 1 }",
                "unknown field",
            ),
            ("BATTLEGRID_SESSIONS__IDLE_TTL_SECS", "soon", "invalid type"),
            ("BATTLEGRID_SESSIONS", "5", "is a section"),
            (
                "BATTLEGRID_SESSIONS__IDLE_TTL_SECS__X",
                "5",
                "is a key, not a section",
            ),
            ("BATTLEGRID_SESSIONS____X", "5", "empty section"),
        ] {
            let err = apply(&[(var, value)]).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(says), "{var}: {err}");
        }
        apply(&[
            ("BATTLEGRID_CONFIG", "/x.toml"),
            ("BATTLEGRID_BIN", "/bin/x"),
        ])
        .unwrap();
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
