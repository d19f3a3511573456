//! The server's side of a bots run, read from the admin listener's
//! `/metrics`: tick times, resident memory and CPU, so one command reports
//! both what the players felt and what it cost the server.
//!
//! Only the few unlabelled series the summary needs are read, by name, from
//! the OpenMetrics text. A server whose admin listener is not reachable
//! (another machine, a firewall) simply yields no server figures.

use std::time::Duration;

use serde::Serialize;

/// The value of the unlabelled series `name` in OpenMetrics `text`; a name
/// that is only a prefix of another (`x` of `x_total`) does not match it.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// One scrape of the series the summary uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// `process_resident_memory_bytes`.
    pub rss_bytes: f64,
    /// `process_cpu_seconds_total`.
    pub cpu_seconds: f64,
    /// `battlegrid_tick_p50_seconds` (last statistics window).
    pub tick_p50_s: f64,
    /// `battlegrid_tick_p99_seconds` (last statistics window).
    pub tick_p99_s: f64,
    /// `battlegrid_tick_max_seconds` (last statistics window).
    pub tick_max_s: f64,
    /// `battlegrid_game_players`.
    pub players: f64,
    /// `battlegrid_game_handshake_failures_total`.
    pub handshake_failures: f64,
}

impl Sample {
    /// Reads the series from OpenMetrics text; `None` if a process or tick
    /// series is missing (not a battlegrid server, or no `/proc`).
    pub fn parse(text: &str) -> Option<Self> {
        let value = |name: &str| metric_value(text, name);
        Some(Self {
            rss_bytes: value("process_resident_memory_bytes")?,
            cpu_seconds: value("process_cpu_seconds_total")?,
            tick_p50_s: value("battlegrid_tick_p50_seconds")?,
            tick_p99_s: value("battlegrid_tick_p99_seconds")?,
            tick_max_s: value("battlegrid_tick_max_seconds")?,
            players: value("battlegrid_game_players")?,
            handshake_failures: value("battlegrid_game_handshake_failures_total")?,
        })
    }
}

/// Scrapes `<admin>/metrics`.
#[derive(Debug, Clone)]
pub struct Scraper {
    http: reqwest::Client,
    url: reqwest::Url,
    /// The admin token, for servers whose `/metrics` needs it.
    token: Option<String>,
}

impl Scraper {
    /// A scraper of the admin listener at `admin`, sending `token` when
    /// given; `None` if the URL is bad.
    pub fn new(admin: &str, token: Option<&str>) -> Option<Self> {
        let url = reqwest::Url::parse(admin).ok()?.join("/metrics").ok()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        Some(Self {
            http,
            url,
            token: token.map(str::to_owned),
        })
    }

    /// One sample, or `None` when the server does not answer usefully.
    pub async fn sample(&self) -> Option<Sample> {
        let mut request = self.http.get(self.url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        Sample::parse(&response.text().await.ok()?)
    }
}

/// The server's figures in the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ServerSide {
    /// Median tick time, the median over the statistics windows seen
    /// during the measurement window, in milliseconds.
    pub tick_p50_ms: f64,
    /// 99th-percentile tick time, the worst statistics window seen, in
    /// milliseconds.
    pub tick_p99_ms: f64,
    /// Longest tick seen, in milliseconds.
    pub tick_max_ms: f64,
    /// Resident memory before the bots connected, MiB.
    pub rss_before_mib: f64,
    /// Resident memory at the window's end, every bot connected and
    /// playing, MiB.
    pub rss_playing_mib: f64,
    /// Resident memory growth from before connecting to the window's end,
    /// per connected bot, KiB.
    pub rss_per_client_kib: Option<f64>,
    /// CPU the server used over the window, percent of one core.
    pub cpu_percent: f64,
    /// Players the server counted at the end of the window.
    pub players: f64,
    /// Handshakes the server counted as failed during the run.
    pub handshake_failures: f64,
}

/// Samples taken during a run, turned into [`ServerSide`].
#[derive(Debug, Default)]
pub struct Series {
    /// Before the connect phase.
    pub before_connect: Option<Sample>,
    /// When every bot had connected or failed (the window's start).
    pub window_start: Option<Sample>,
    /// During the window, one per statistics window or so.
    pub during: Vec<Sample>,
    /// At the window's end.
    pub window_end: Option<Sample>,
}

impl Series {
    /// The summary figures; `None` without the samples at both ends.
    pub fn summarise(&self, window: Duration, connected: u64) -> Option<ServerSide> {
        let before = self.before_connect?;
        let start = self.window_start?;
        let end = self.window_end?;
        let seen: Vec<&Sample> = self.during.iter().chain([&end]).collect();
        let mut p50s: Vec<f64> = seen.iter().map(|s| s.tick_p50_s).collect();
        p50s.sort_by(f64::total_cmp);
        let worst = |f: fn(&Sample) -> f64| seen.iter().map(|s| f(s)).fold(0.0, f64::max);
        const MIB: f64 = 1024.0 * 1024.0;
        let secs = window.as_secs_f64();
        Some(ServerSide {
            tick_p50_ms: p50s[p50s.len() / 2] * 1e3,
            tick_p99_ms: worst(|s| s.tick_p99_s) * 1e3,
            tick_max_ms: worst(|s| s.tick_max_s) * 1e3,
            rss_before_mib: before.rss_bytes / MIB,
            rss_playing_mib: end.rss_bytes / MIB,
            rss_per_client_kib: (connected > 0)
                .then(|| (end.rss_bytes - before.rss_bytes) / connected as f64 / 1024.0),
            cpu_percent: if secs > 0.0 {
                (end.cpu_seconds - start.cpu_seconds) / secs * 100.0
            } else {
                0.0
            },
            players: end.players,
            handshake_failures: end.handshake_failures - before.handshake_failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP battlegrid_tick_p50_seconds Median tick duration.
# TYPE battlegrid_tick_p50_seconds gauge
battlegrid_tick_p50_seconds 0.002
battlegrid_tick_p99_seconds 0.004
battlegrid_tick_max_seconds 0.009
battlegrid_game_players 10
battlegrid_game_handshake_failures_total 1
process_cpu_seconds_total 12.5
process_resident_memory_bytes 104857600
# EOF
";

    /// The named series are read; a name that is a prefix of another
    /// (`..._seconds` vs `..._seconds_total`) does not match it.
    #[test]
    fn parses_the_series_it_needs() {
        let s = Sample::parse(TEXT).unwrap();
        assert_eq!(s.tick_p50_s, 0.002);
        assert_eq!(s.cpu_seconds, 12.5);
        assert_eq!(s.rss_bytes, 104_857_600.0);
        assert_eq!(s.players, 10.0);
        assert!(Sample::parse("process_cpu_seconds 1\n").is_none());
    }

    /// Memory per client is the growth over the connect phase divided by
    /// the connected bots; CPU is over the window; p99 is the worst window.
    #[test]
    fn summarises_a_run() {
        let base = Sample::parse(TEXT).unwrap();
        let series = Series {
            before_connect: Some(base),
            window_start: Some(base),
            during: vec![Sample {
                tick_p99_s: 0.020,
                ..base
            }],
            window_end: Some(Sample {
                cpu_seconds: base.cpu_seconds + 5.0,
                rss_bytes: base.rss_bytes + 100.0 * 1024.0 * 50.0,
                ..base
            }),
        };
        let side = series.summarise(Duration::from_secs(10), 50).unwrap();
        assert_eq!(side.rss_per_client_kib, Some(100.0));
        assert_eq!(side.cpu_percent, 50.0);
        assert_eq!(side.tick_p99_ms, 20.0);
        assert_eq!(side.tick_p50_ms, 2.0);
    }
}
