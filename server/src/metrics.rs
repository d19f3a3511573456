//! Prometheus metrics, served by the admin listener at `GET /metrics` in
//! the OpenMetrics text format.
//!
//! Everything is read at scrape time from state that exists anyway: the
//! game's [`GameStats`] atomics and the process's own `/proc` entries. No
//! metric is updated on a hot path just for the scraper, so scraping often
//! costs the tick nothing. Tick durations come as quantiles over the last
//! statistics window (`world.stats_every_ticks`) rather than as a histogram
//! since start, because what an operator watching a live server wants is
//! "how long are ticks now". docs/API.md lists every metric.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::analytics::AnalyticsStats;
use crate::game::stats::GameStats;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What `/metrics` shows: the game's series (prefixed `battlegrid_`) and
/// the process's (under their conventional unprefixed names, such as
/// `process_resident_memory_bytes`, so stock dashboards find them).
#[derive(Debug)]
pub struct Metrics {
    game: Registry,
    process: Registry,
}

impl Metrics {
    /// Metrics reading `stats` and this process.
    pub fn new(stats: Arc<GameStats>) -> Self {
        let mut game = Registry::with_prefix("battlegrid");
        game.register_collector(Box::new(GameCollector(stats)));
        let mut process = Registry::default();
        process.register_collector(Box::new(ProcessCollector));
        Self { game, process }
    }

    /// Adds the analytics pipeline's counters (`battlegrid_analytics_*`).
    pub fn add_analytics(&mut self, stats: Arc<AnalyticsStats>) {
        self.game
            .register_collector(Box::new(AnalyticsCollector(stats)));
    }

    /// The OpenMetrics text of every series, ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.game);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.process);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

/// Counters and gauges of the game listener.
#[derive(Debug)]
struct GameCollector(Arc<GameStats>);

/// One counter or gauge read from an atomic.
struct Series<'a> {
    name: &'a str,
    help: &'a str,
    cell: &'a AtomicU64,
}

impl Collector for GameCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = &*self.0;
        let counters = [
            Series {
                name: "game_joined",
                help: "Connections that completed Hello and joined",
                cell: &s.joined,
            },
            Series {
                name: "game_refused",
                help: "Connection attempts refused by admission limits",
                cell: &s.refused,
            },
            Series {
                name: "game_retries_sent",
                help: "QUIC Retry packets sent to unvalidated addresses",
                cell: &s.retries_sent,
            },
            Series {
                name: "game_handshake_failures",
                help: "Handshakes that ended without Welcome, all kinds",
                cell: &s.handshake_failures,
            },
            Series {
                name: "game_handshake_quic_failures",
                help: "QUIC/TLS handshakes that failed or timed out",
                cell: &s.handshake_quic_failures,
            },
            Series {
                name: "game_handshake_hello_timeouts",
                help: "Connections closed for sending no Hello in time",
                cell: &s.handshake_hello_timeouts,
            },
            Series {
                name: "game_handshake_bad_hello",
                help: "Control streams that carried something other than a Hello",
                cell: &s.handshake_bad_hello,
            },
            Series {
                name: "game_handshake_rejected",
                help: "Hellos rejected for their token or version",
                cell: &s.handshake_rejected,
            },
            Series {
                name: "game_commands_dropped",
                help: "Client commands dropped: queue full or over the per-tick budget",
                cell: &s.commands_dropped,
            },
            Series {
                name: "game_datagrams_dropped",
                help: "State datagrams replaced by newer ones or not sendable",
                cell: &s.datagrams_dropped,
            },
            Series {
                name: "game_rate_limited",
                help: "Connections closed for flooding",
                cell: &s.rate_limited,
            },
            Series {
                name: "game_too_slow",
                help: "Connections closed for not draining reliable traffic",
                cell: &s.too_slow,
            },
            Series {
                name: "game_bad_input",
                help: "Connections closed for malformed or oversized frames",
                cell: &s.bad_input,
            },
            Series {
                name: "game_save_failures",
                help: "Position saves the store refused",
                cell: &s.save_failures,
            },
            Series {
                name: "tick_overruns",
                help: "Ticks that ended after the next tick's deadline",
                cell: &s.tick_overruns,
            },
            Series {
                name: "ticks_skipped",
                help: "Tick deadlines skipped after overruns",
                cell: &s.ticks_skipped,
            },
            Series {
                name: "ticks",
                help: "Ticks run",
                cell: &s.ticks,
            },
            Series {
                name: "world_failures",
                help: "World steps that panicked",
                cell: &s.world_failures,
            },
            Series {
                name: "worlds_restored",
                help: "Worlds rebuilt from their players' saves after a panic",
                cell: &s.worlds_restored,
            },
            Series {
                name: "worlds_quarantined",
                help: "Worlds taken out of the game for failing too often",
                cell: &s.worlds_quarantined,
            },
            Series {
                name: "tick_restarts",
                help: "Panics on the tick thread outside any world, recovered from the saves",
                cell: &s.tick_restarts,
            },
            Series {
                name: "tick_stalls",
                help: "Ticks still running past the watchdog's warning deadline",
                cell: &s.tick_stalls,
            },
        ];
        for series in counters {
            let counter = ConstCounter::new(GameStats::get(series.cell));
            let metric =
                encoder.encode_descriptor(series.name, series.help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let players = ConstGauge::new(GameStats::get(&s.players) as i64);
        players.encode(encoder.encode_descriptor(
            "game_players",
            "Players in the world after the last tick",
            None,
            players.metric_type(),
        )?)?;
        let window = &s.tick_window;
        for (name, help, cell) in [
            (
                "tick_p50_seconds",
                "Median tick duration over the last statistics window",
                &window.p50_us,
            ),
            (
                "tick_p99_seconds",
                "99th percentile tick duration over the last statistics window",
                &window.p99_us,
            ),
            (
                "tick_max_seconds",
                "Longest tick over the last statistics window",
                &window.max_us,
            ),
        ] {
            let gauge = ConstGauge::new(GameStats::get(cell) as f64 / 1e6);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Counters of the analytics queue and writer.
#[derive(Debug)]
struct AnalyticsCollector(Arc<AnalyticsStats>);

impl Collector for AnalyticsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = &*self.0;
        for series in [
            Series {
                name: "analytics_events_queued",
                help: "Analytics events accepted into the queue",
                cell: &s.queued,
            },
            Series {
                name: "analytics_events_dropped",
                help: "Analytics events dropped because the queue was full",
                cell: &s.dropped,
            },
            Series {
                name: "analytics_events_written",
                help: "Analytics events written to the event files",
                cell: &s.written,
            },
            Series {
                name: "analytics_bytes_written",
                help: "Compressed bytes written to the event files",
                cell: &s.bytes_written,
            },
            Series {
                name: "analytics_write_errors",
                help: "Analytics events lost to a failed file write",
                cell: &s.write_errors,
            },
            Series {
                name: "analytics_files_deleted",
                help: "Complete event files deleted by the retention rules",
                cell: &s.files_deleted,
            },
        ] {
            let counter = ConstCounter::new(GameStats::get(series.cell));
            let metric =
                encoder.encode_descriptor(series.name, series.help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// Resident memory, CPU time, threads and open files of this process,
/// from `/proc/self`. Absent where `/proc` cannot be read.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Ok(me) = procfs::process::Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            let cpu = ConstCounter::new((stat.utime + stat.stime) as f64 / ticks);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent",
                None,
                cpu.metric_type(),
            )?)?;
            let rss = ConstGauge::new(stat.rss as i64 * procfs::page_size() as i64);
            rss.encode(encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size",
                None,
                rss.metric_type(),
            )?)?;
            let threads = ConstGauge::new(stat.num_threads);
            threads.encode(encoder.encode_descriptor(
                "process_threads",
                "OS threads",
                None,
                threads.metric_type(),
            )?)?;
        }
        if let Ok(fds) = me.fd_count() {
            let fds = ConstGauge::new(fds as i64);
            fds.encode(encoder.encode_descriptor(
                "process_open_fds",
                "Open file descriptors",
                None,
                fds.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
