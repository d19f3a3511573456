//! The command line of `battlegrid bots` and the naming of bot accounts.
//!
//! Every knob is bounded (count, duration, rates, concurrency) so that a typo
//! cannot start an unbounded load; values are checked while parsing.

use std::time::Duration;

/// Longest run `--duration` accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most bots one run may start.
pub const MAX_COUNT: u32 = 10_000;
/// Longest prefix: the name `<prefix>-00001` must fit the server's 20
/// characters.
pub const MAX_PREFIX_LEN: usize = 14;

/// Flags of `battlegrid bots`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct BotsArgs {
    /// Number of bots to sign up, connect and play (1 to 10000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    pub count: u32,
    /// How long the bots play once all have connected: `60`, `60s`, `2m`,
    /// `500ms` (at most 1 h).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Base URL of the server's public HTTP API; the game address and
    /// certificate fingerprint come from its `/v1/server-info`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// How bots get sessions: `admin` asks the server's admin listener
    /// (`--admin`) for them, with no password hashing or rate limit;
    /// `public` signs up and logs in like a player (slow on purpose, and
    /// rate-limited per address).
    #[arg(long, value_enum, default_value_t = AccountSource::Admin)]
    pub accounts: AccountSource,
    /// Base URL of the server's admin listener, for `--accounts admin` and
    /// for reading the server's `/metrics` (tick times, memory, CPU) into the
    /// summary.
    #[arg(long, default_value = "http://127.0.0.1:9090")]
    pub admin: String,
    /// The admin token; by default read from `--admin-token-file`.
    #[arg(long, env = "BATTLEGRID_ADMIN_API__TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the admin token: the server writes `<data>/admin-token`
    /// on first start (a missing file is fine for `--accounts public`;
    /// `/metrics` is then read without a token).
    #[arg(long, value_name = "FILE", default_value = "data/admin-token")]
    pub admin_token_file: std::path::PathBuf,
    /// Print one JSON object with the results on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Shouts per bot per second (0 to 10; 0 disables shouting).
    #[arg(long, default_value_t = 0.2, value_parser = parse_rate)]
    pub shout_rate: f64,
    /// Password of every bot account, with `--accounts public` (at least 8
    /// characters).
    #[arg(long, default_value = "bots-load-test-password", value_parser = parse_password)]
    pub password: String,
    /// Account names are `<prefix>-00001`, `<prefix>-00002`, ...
    #[arg(long, default_value = "bot", value_parser = parse_prefix)]
    pub prefix: String,
    /// Sign-ups and logins in flight at once (each costs the server an
    /// Argon2 hash, slow on purpose).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub auth_concurrency: u32,
    /// QUIC handshakes in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connect_concurrency: u32,
    /// Seed of the bots' random walks (default: taken from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Where bot sessions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccountSource {
    /// `POST /v1/admin/sessions` on the admin listener.
    Admin,
    /// Public sign-up and login.
    Public,
}

impl BotsArgs {
    /// The admin token: `--admin-token` (or its variable), else the token
    /// file's content; `None` when neither is there.
    pub fn admin_token(&self) -> std::io::Result<Option<String>> {
        if let Some(token) = &self.admin_token {
            return Ok(Some(token.trim().to_owned()));
        }
        match std::fs::read_to_string(&self.admin_token_file) {
            Ok(text) => Ok(Some(text.trim().to_owned())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// The account name of bot number `index` (counting from 1).
pub fn bot_name(prefix: &str, index: u32) -> String {
    format!("{prefix}-{index:05}")
}

/// Parses `90`, `90s`, `1500ms`, `2m`, `1h` into a duration of 1 ms to 1 h.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 60s, 500ms, 2m"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        other => return Err(format!("unknown unit {other:?}: use ms, s, m or h")),
    };
    if duration.is_zero() || duration > MAX_DURATION {
        return Err(format!(
            "duration must be between 1 ms and {MAX_DURATION:?}"
        ));
    }
    Ok(duration)
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(0.0..=10.0).contains(&rate) {
        return Err("shout rate must be between 0 and 10 per second".to_owned());
    }
    Ok(rate)
}

fn parse_password(text: &str) -> Result<String, String> {
    if text.chars().count() < 8 || text.len() > 128 {
        return Err("password must be 8 characters to 128 bytes".to_owned());
    }
    Ok(text.to_owned())
}

fn parse_prefix(text: &str) -> Result<String, String> {
    let valid = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.len() <= MAX_PREFIX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(format!(
            "prefix must be 1 to {MAX_PREFIX_LEN} ASCII letters, digits, _ or -, starting with a letter"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bots: BotsArgs,
    }

    fn parse(args: &[&str]) -> Result<BotsArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bots").chain(args.iter().copied())).map(|c| c.bots)
    }

    /// Without flags the defaults apply: 10 bots for 30 s against localhost.
    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.count, 10);
        assert_eq!(args.duration, Duration::from_secs(30));
        assert_eq!(args.server, "http://127.0.0.1:8080");
        assert!(!args.json);
        assert_eq!(args.shout_rate, 0.2);
        assert_eq!(args.prefix, "bot");
    }

    /// Every documented flag is read.
    #[test]
    fn all_flags() {
        let args = parse(&[
            "--count",
            "500",
            "--duration",
            "2m",
            "--server",
            "http://10.0.0.1:9000",
            "--json",
            "--shout-rate",
            "1.5",
            "--password",
            "hunter2hunter2",
            "--prefix",
            "load",
            "--seed",
            "7",
        ])
        .unwrap();
        assert_eq!(args.count, 500);
        assert_eq!(args.duration, Duration::from_secs(120));
        assert_eq!(args.server, "http://10.0.0.1:9000");
        assert!(args.json);
        assert_eq!(args.shout_rate, 1.5);
        assert_eq!(args.password, "hunter2hunter2");
        assert_eq!(args.prefix, "load");
        assert_eq!(args.seed, Some(7));
    }

    /// Out-of-range values are refused at parse time, not clamped.
    #[test]
    fn bounds_are_enforced() {
        for bad in [
            &["--count", "0"][..],
            &["--count", "10001"],
            &["--duration", "0s"],
            &["--duration", "2h"],
            &["--duration", "10x"],
            &["--duration", "-5"],
            &["--shout-rate", "-1"],
            &["--shout-rate", "NaN"],
            &["--shout-rate", "11"],
            &["--password", "short"],
            &["--prefix", "9bot"],
            &["--prefix", "a-very-long-prefix"],
            &["--prefix", "bot!"],
            &["--connect-concurrency", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    /// Durations accept the documented units.
    #[test]
    fn duration_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(MAX_DURATION));
    }

    /// Names are zero-padded to five digits and fit the server's name rules
    /// (at most 20 characters, starting with a letter) for the longest prefix.
    #[test]
    fn account_naming() {
        assert_eq!(bot_name("bot", 1), "bot-00001");
        assert_eq!(bot_name("bot", 10_000), "bot-10000");
        let longest = bot_name(&"p".repeat(MAX_PREFIX_LEN), MAX_COUNT);
        assert_eq!(longest.len(), 20);
    }
}
