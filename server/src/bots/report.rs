//! Turning metrics into words: the once-a-second progress line, the summary
//! table and the JSON object of `--json`.
//!
//! Rates are computed over the measurement window (from the moment every bot
//! has connected or failed to, to the stop), so the ramp-up does not dilute
//! them. Formatting is pure: the functions take numbers and return strings.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::metrics::{Counters, Latency};

/// Everything a run measured, as printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Bots asked for.
    pub bots: u32,
    /// The server's HTTP base URL.
    pub server: String,
    /// Seconds spent signing up and logging in.
    pub accounts_s: f64,
    /// Seconds from the first connection attempt until every bot was
    /// connected or had failed.
    pub connect_phase_s: f64,
    /// Length of the measurement window, in seconds.
    pub window_s: f64,
    /// Connect time: QUIC handshake start to `Welcome`.
    pub connect: Latency,
    /// Shout delivery latency, sender's send to each hearer's receipt, of
    /// shouts heard in the measurement window.
    pub shout_latency: Latency,
    /// CPU used by the bots process in the window, in percent of one core
    /// (absent where it cannot be read): near the machine's core count
    /// means the load generator, not the server, set the pace.
    pub bots_cpu_percent: Option<f64>,
    /// The server's tick times, memory and CPU from its `/metrics`; absent
    /// when the admin listener was not reachable.
    pub server_side: Option<super::server_metrics::ServerSide>,
    /// Rates over the measurement window.
    pub rates: Rates,
    /// Totals over the whole run.
    pub totals: Counters,
    /// Connections that ended early.
    pub disconnects: u64,
    /// Everything that went wrong: failed accounts and connects, server
    /// `Error` messages, failed sends, disconnects.
    pub errors: u64,
    /// Examples of what went wrong.
    pub error_samples: Vec<String>,
}

/// Per-second rates over the measurement window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Server messages received by all bots.
    pub messages_in_per_s: f64,
    /// Messages sent by all bots.
    pub messages_out_per_s: f64,
    /// Area-of-interest updates received by all bots.
    pub aoi_updates_per_s: f64,
    /// Bot shouts heard by all bots.
    pub shouts_heard_per_s: f64,
}

impl Rates {
    /// Rates of the counts in `delta` over `window`.
    pub fn over(delta: &Counters, window: Duration) -> Self {
        let secs = window.as_secs_f64();
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        Self {
            messages_in_per_s: per_s(delta.messages_in),
            messages_out_per_s: per_s(delta.messages_out),
            aoi_updates_per_s: per_s(delta.aoi_updates),
            shouts_heard_per_s: per_s(delta.shouts_heard),
        }
    }
}

/// The error total of a run's counters.
pub fn error_count(totals: &Counters) -> u64 {
    totals.account_failures
        + totals.connect_failures
        + totals.server_errors
        + totals.send_failures
        + totals.disconnects
}

/// One progress line: phase, time, connected bots, last second's rates,
/// shout latency so far, trouble so far.
pub fn progress_line(
    phase: &str,
    elapsed: Duration,
    bots: u32,
    now: &Counters,
    last_second: &Rates,
    shout: &Latency,
) -> String {
    format!(
        "[{phase} {:>5.1}s] connected {}/{bots}  msgs/s in {:.0} out {:.0}  aoi/s {:.0}  \
         shouts heard/s {:.0}  shout p50 {:.1} ms p99 {:.1} ms  disconnects {}  errors {}",
        elapsed.as_secs_f64(),
        now.connected,
        last_second.messages_in_per_s,
        last_second.messages_out_per_s,
        last_second.aoi_updates_per_s,
        last_second.shouts_heard_per_s,
        shout.p50_ms,
        shout.p99_ms,
        now.disconnects,
        error_count(now),
    )
}

/// The human summary printed at the end.
pub fn table(summary: &Summary) -> String {
    let t = &summary.totals;
    let r = &summary.rates;
    let mut out = String::new();
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "  {name:<28} {value}");
    };
    row("server", summary.server.clone());
    row(
        "bots",
        format!(
            "{} asked, {} logged in ({} new accounts), {} connected",
            summary.bots, t.logged_in, t.signed_up, t.connects_ok
        ),
    );
    row(
        "phases",
        format!(
            "accounts {:.1} s, connecting {:.1} s, measured {:.1} s",
            summary.accounts_s, summary.connect_phase_s, summary.window_s
        ),
    );
    row("connect time", latency(&summary.connect));
    row("shout delivery", latency(&summary.shout_latency));
    row("messages in /s", format!("{:.0}", r.messages_in_per_s));
    row("messages out /s", format!("{:.0}", r.messages_out_per_s));
    row("AOI updates /s", format!("{:.0}", r.aoi_updates_per_s));
    row("shouts heard /s", format!("{:.0}", r.shouts_heard_per_s));
    row(
        "shouts sent / heard",
        format!("{} / {}", t.shouts_sent, t.shouts_heard),
    );
    row(
        "corrections / region changes",
        format!("{} / {}", t.corrections, t.region_changes),
    );
    row("datagrams dropped by bots", t.datagrams_dropped.to_string());
    match &summary.server_side {
        Some(s) => {
            row(
                "server tick",
                format!(
                    "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (per 10 s window: median p50, worst p99)",
                    s.tick_p50_ms, s.tick_p99_ms, s.tick_max_ms
                ),
            );
            row(
                "server memory (RSS)",
                format!(
                    "{:.1} MiB before connecting, {:.1} MiB playing, {}",
                    s.rss_before_mib,
                    s.rss_playing_mib,
                    s.rss_per_client_kib
                        .map_or("no client".to_owned(), |k| format!("{k:.1} KiB per client"))
                ),
            );
            row("server CPU", format!("{:.0}% of one core", s.cpu_percent));
            row(
                "server handshake failures",
                format!("{:.0}", s.handshake_failures),
            );
        }
        None => row(
            "server side",
            "unknown (admin listener /metrics not reachable)".to_owned(),
        ),
    }
    row(
        "bots process CPU",
        summary
            .bots_cpu_percent
            .map_or("unknown".to_owned(), |p| format!("{p:.0}% of one core")),
    );
    row(
        "rate-limited waits (HTTP)",
        t.rate_limited_waits.to_string(),
    );
    row("disconnects", summary.disconnects.to_string());
    row(
        "errors",
        format!(
            "{} (accounts {}, connects {}, server errors {}, sends {}, disconnects {})",
            summary.errors,
            t.account_failures,
            t.connect_failures,
            t.server_errors,
            t.send_failures,
            t.disconnects
        ),
    );
    for sample in &summary.error_samples {
        row("  e.g.", sample.clone());
    }
    format!("battlegrid bots summary\n{out}")
}

fn latency(l: &Latency) -> String {
    if l.count == 0 {
        return "no samples".to_owned();
    }
    format!(
        "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} samples)",
        l.p50_ms, l.p99_ms, l.max_ms, l.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        let totals = Counters {
            logged_in: 50,
            connects_ok: 49,
            connect_failures: 1,
            shouts_sent: 100,
            shouts_heard: 900,
            ..Counters::default()
        };
        Summary {
            bots: 50,
            server: "http://127.0.0.1:8080".into(),
            accounts_s: 3.0,
            connect_phase_s: 0.5,
            window_s: 10.0,
            connect: Latency {
                count: 49,
                p50_ms: 2.5,
                p99_ms: 9.0,
                max_ms: 9.5,
            },
            shout_latency: Latency::default(),
            bots_cpu_percent: Some(42.0),
            server_side: None,
            rates: Rates::over(&totals, Duration::from_secs(10)),
            disconnects: 0,
            errors: error_count(&totals),
            totals,
            error_samples: vec!["connect: refused".into()],
        }
    }

    /// Rates divide by the window; an empty window gives zeros, not NaN.
    #[test]
    fn rates_over_the_window() {
        let delta = Counters {
            messages_in: 1000,
            aoi_updates: 250,
            ..Counters::default()
        };
        let rates = Rates::over(&delta, Duration::from_millis(2500));
        assert_eq!(rates.messages_in_per_s, 400.0);
        assert_eq!(rates.aoi_updates_per_s, 100.0);
        assert_eq!(Rates::over(&delta, Duration::ZERO), Rates::default());
    }

    /// Errors add up every kind of failure.
    #[test]
    fn errors_add_up() {
        let totals = Counters {
            account_failures: 1,
            connect_failures: 2,
            server_errors: 3,
            send_failures: 4,
            disconnects: 5,
            messages_in: 100,
            ..Counters::default()
        };
        assert_eq!(error_count(&totals), 15);
    }

    /// The table names every figure the issue asks for, with its value.
    #[test]
    fn table_shows_the_figures() {
        let text = table(&summary());
        for needle in [
            "50 asked, 50 logged in",
            "49 connected",
            "p50 2.50 ms  p99 9.00 ms",
            "shout delivery               no samples",
            "shouts heard /s              90",
            "errors                       1 (accounts 0, connects 1",
            "e.g.",
            "42% of one core",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    /// `--json` output is one object with the documented keys.
    #[test]
    fn json_has_the_documented_keys() {
        let value = serde_json::to_value(summary()).unwrap();
        for key in [
            "bots",
            "window_s",
            "connect",
            "shout_latency",
            "rates",
            "totals",
            "disconnects",
            "errors",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["connect"]["p99_ms"], 9.0);
        assert_eq!(value["rates"]["shouts_heard_per_s"], 90.0);
    }

    /// The progress line carries connected count, rates and trouble.
    #[test]
    fn progress_line_content() {
        let now = Counters {
            connected: 48,
            disconnects: 2,
            ..Counters::default()
        };
        let rates = Rates {
            messages_in_per_s: 1234.4,
            ..Rates::default()
        };
        let line = progress_line(
            "play",
            Duration::from_secs(3),
            50,
            &now,
            &rates,
            &Latency::default(),
        );
        assert!(line.contains("connected 48/50"), "{line}");
        assert!(line.contains("msgs/s in 1234"), "{line}");
        assert!(line.contains("disconnects 2  errors 2"), "{line}");
    }
}
